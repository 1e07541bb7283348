package query

import (
	"github.com/clvstream/clvstream/pkg/customer"
)

// Channels is the customer's messaging per channel and whether any
// channel is opted out (automation must not message an opted-out
// channel).
type Channels struct {
	OptedOut bool           `json:"opted_out"`
	Email    ChannelMessage `json:"email"`
	SMS      ChannelMessage `json:"sms"`
	Push     ChannelMessage `json:"push"`
}

// ChannelMessage is one channel: decayed counts (the e-mail half-life),
// engagement ((opens + clicks) ÷ sends, null below one decayed send) and
// the opt-out.
type ChannelMessage struct {
	Sends      float64  `json:"sends"`
	Deliveries float64  `json:"deliveries"`
	Opens      float64  `json:"opens"`
	Clicks     float64  `json:"clicks"`
	Engagement *float64 `json:"engagement"`
	OptedOut   bool     `json:"opted_out"`
}

func channelsView(f *customer.Features) Channels {
	one := func(c customer.ChannelFeatures) ChannelMessage {
		v := ChannelMessage{Sends: round4(c.Sends), Deliveries: round4(c.Deliveries), Opens: round4(c.Opens), Clicks: round4(c.Clicks), OptedOut: c.OptedOut}
		if c.Sends >= 1 {
			v.Engagement = ptr(round4(c.Engagement()))
		}
		return v
	}
	return Channels{OptedOut: f.OptedOut, Email: one(f.Channels[customer.ChanEmail]), SMS: one(f.Channels[customer.ChanSMS]), Push: one(f.Channels[customer.ChanPush])}
}
