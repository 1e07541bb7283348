package customer

import (
	"math"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

// Channel is a messaging channel, as stored (2 bits in the encoding).
type Channel uint8

// The channels; e-mail is 0, so the messages of states written before
// channels existed are e-mail.
const (
	ChanEmail Channel = iota
	ChanSMS
	ChanPush
	numChannels
)

// ChannelOf maps an event's channel ("" for the email_* events) to a
// Channel.
func ChannelOf(ch string) Channel {
	switch ch {
	case event.ChannelSMS:
		return ChanSMS
	case event.ChannelPush:
		return ChanPush
	}
	return ChanEmail
}

// String is the channel's name in events.
func (c Channel) String() string {
	switch c {
	case ChanSMS:
		return event.ChannelSMS
	case ChanPush:
		return event.ChannelPush
	}
	return event.ChannelEmail
}

// Consent is a channel's latest opt-out and latest opt-in (Unix ms, 0 when
// none). Keeping the latest of each is order independent, and the later of
// the two decides (OptedOut).
type Consent struct {
	OptedOut, OptedIn int64
}

// OptedOutAt reports whether the channel is opted out as of nowMs: the
// latest opt-out at or before nowMs is not followed by an opt-in at or
// before nowMs (an opt-out and opt-in at the same instant: opted out, the
// safe side for automation). Facts after nowMs do not count; as only the
// latest of each is kept, an instant before a kept fact sees the older
// history as none.
func (c Consent) OptedOutAt(nowMs int64) bool {
	if c.OptedOut == 0 || c.OptedOut > nowMs {
		return false
	}
	return c.OptedIn == 0 || c.OptedIn > nowMs || c.OptedIn < c.OptedOut
}

// addConsent applies an opt-out or opt-in; false when it is not later than
// the kept one of its kind.
func (s *State) addConsent(e event.Event, at int64) bool {
	c := &s.Consent[ChannelOf(e.Channel)]
	field := &c.OptedIn
	if e.Type == event.MessageOptedOut {
		field = &c.OptedOut
	}
	if *field >= at {
		return false
	}
	*field = at
	return true
}

// trimMessages keeps the MaxEmails most recent messages of each channel
// (Emails is sorted oldest first).
func (s *State) trimMessages() {
	var n [numChannels]int
	for i := range s.Emails {
		n[s.Emails[i].Channel]++
	}
	if n[ChanEmail] <= MaxEmails && n[ChanSMS] <= MaxEmails && n[ChanPush] <= MaxEmails {
		return
	}
	keep := s.Emails[:0]
	for _, m := range s.Emails {
		if n[m.Channel] > MaxEmails {
			n[m.Channel]--
			continue
		}
		keep = append(keep, m)
	}
	s.Emails = keep
}

// ChannelFeatures are one channel's engagement as of an instant:
// exponentially decayed counts of sends, deliveries, opens and clicks
// (half-life of the e-mail counters), and the opt-out.
type ChannelFeatures struct {
	Sends, Deliveries, Opens, Clicks float64
	OptedOut                         bool
}

// Engagement is (opens + clicks) ÷ sends of the decayed counts, at most 1;
// NaN below one decayed send (not defined). SMS has no opens and push no
// clicks, so it is the click rate of SMS and the open (tap) rate of push.
func (c ChannelFeatures) Engagement() float64 {
	if c.Sends < 1 {
		return math.NaN()
	}
	return math.Min(1, (c.Opens+c.Clicks)/c.Sends)
}

// deriveChannels fills f.Channels and f.OptedOut.
func (s *State) deriveChannels(f *Features, nowMs int64, halfLife time.Duration) {
	lambda := math.Ln2 / float64(halfLife.Milliseconds())
	w := func(t int64) float64 {
		if t == 0 || t > nowMs {
			return 0
		}
		return math.Exp(-lambda * float64(nowMs-t))
	}
	for _, m := range s.Emails {
		c := &f.Channels[m.Channel]
		c.Sends += w(m.Sent)
		c.Deliveries += w(m.Delivered)
		c.Opens += w(m.Opened)
		c.Clicks += w(m.Clicked)
	}
	for ch := range f.Channels {
		if s.Consent[ch].OptedOutAt(nowMs) {
			f.Channels[ch].OptedOut = true
			f.OptedOut = true
		}
	}
}

// hasConsent reports whether any channel has an opt-out or opt-in.
func (s *State) hasConsent() bool { return s.Consent != [numChannels]Consent{} }
