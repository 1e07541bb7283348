package query

import (
	"context"
	"time"

	"github.com/clvstream/clvstream/internal/kpi"
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

// CampaignsView is the campaign attribution of the latest KPI snapshot:
// per campaign the orders attributed by last touch within the window,
// their revenue and the retention of their customers, largest revenue
// first (money in major units of Currency).
type CampaignsView struct {
	ComputedAt time.Time          `json:"computed_at"`
	AsOf       time.Time          `json:"as_of"`
	WindowDays float64            `json:"window_days"`
	Currency   string             `json:"currency"`
	Campaigns  []kpi.CampaignKPIs `json:"campaigns"`
}

// Campaigns returns the latest snapshot's campaigns (ErrNotReady before
// the first).
func (s *Service) Campaigns(context.Context) (*CampaignsView, error) {
	snap := s.d.KPIs.Latest()
	if snap == nil {
		return nil, errNoSnapshot
	}
	v := &CampaignsView{ComputedAt: snap.ComputedAt, AsOf: snap.AsOf, WindowDays: snap.AttributionWindowDays,
		Currency: s.d.BaseCurrency, Campaigns: make([]kpi.CampaignKPIs, 0, len(snap.Campaigns))}
	for _, c := range snap.Campaigns {
		for _, f := range []*float64{&c.Revenue, &c.GrossRevenue, &c.RetentionRate, &c.RepeatRate} {
			*f = finite(*f)
		}
		v.Campaigns = append(v.Campaigns, c)
	}
	return v, nil
}
