package customer

import (
	"math"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

// Features are the figures derived from a State as of one instant. Purchase
// figures count only purchase days on or before that instant's day.
type Features struct {
	// Now is the instant the features describe.
	Now time.Time
	// PurchaseDays is the number of distinct purchase days; Frequency the
	// number of repeat days (PurchaseDays-1, 0 without purchases).
	PurchaseDays int
	Frequency    int
	// FirstPurchase and LastPurchase are the first and last purchase days
	// (zero when there is none).
	FirstPurchase, LastPurchase time.Time
	// RecencyDays is Now minus LastPurchase; TenureDays Now minus
	// FirstPurchase; SpanDays LastPurchase minus FirstPurchase (the
	// BTYD t_x in days).
	RecencyDays, TenureDays, SpanDays float64
	// Gross is the purchase total, Net the total after refunds, Margin the
	// margin after refunded margin, FirstDayValue the total of the first
	// purchase day, T12M the gross spend of the trailing 365 days, Refunded
	// the counted refunds (Gross - Net); all in base-currency minor units,
	// computed exactly and saturated at math.MaxInt64, never negative.
	Gross, Net, Margin, FirstDayValue, T12M, Refunded int64
	// OpenTickets counts tickets whose latest transition is not a
	// resolution; Reopened counts reopen transitions; Resolved counts
	// resolved tickets; MeanResolveHours is the mean time from opening to
	// first resolution; CSAT is the mean satisfaction score (0 when none);
	// OldestOpenHours is the age of the oldest open ticket.
	OpenTickets, Reopened, Resolved         int
	MeanResolveHours, CSAT, OldestOpenHours float64
	// EmailSends, EmailOpens and EmailClicks are exponentially decayed
	// counts (half-life given to Derive).
	EmailSends, EmailOpens, EmailClicks float64
	// Surveys are the survey scores and response counts (survey.go).
	Surveys SurveyFeatures
	// Channels is the engagement per channel, indexed by Channel (e-mail,
	// SMS, push; the e-mail entry's counts equal EmailSends, ...);
	// OptedOut is set when any channel is opted out (message.go).
	Channels [numChannels]ChannelFeatures
	OptedOut bool
}

// DeriveOptions are the parameters of DeriveWith; zero values mean the
// defaults (30 days for e-mail, DefaultSurveyHalfLife for surveys).
type DeriveOptions struct {
	// EmailHalfLife is the half-life of the decayed email counters.
	EmailHalfLife time.Duration
	// SurveyHalfLife is the half-life of the decayed mean survey scores.
	SurveyHalfLife time.Duration
}

// MeanGapDays is the customer's own mean time between purchase days, or 0
// with fewer than two purchase days.
func (f Features) MeanGapDays() float64 {
	if f.Frequency == 0 {
		return 0
	}
	return f.SpanDays / float64(f.Frequency)
}

// AOV is the mean gross value per purchase day in minor units.
func (f Features) AOV() float64 {
	if f.PurchaseDays == 0 {
		return 0
	}
	return float64(f.Gross) / float64(f.PurchaseDays)
}

// RepeatMean is the mean value of the repeat purchase days (first day
// excluded), the Gamma-Gamma monetary value, in minor units.
func (f Features) RepeatMean() float64 {
	if f.Frequency == 0 {
		return 0
	}
	return float64(f.Gross-f.FirstDayValue) / float64(f.Frequency)
}

// Derive computes the features of s as of now. emailHalfLife is the half-life
// of the decayed email counters.
func (s *State) Derive(now time.Time, emailHalfLife time.Duration) Features {
	return s.DeriveWith(now, DeriveOptions{EmailHalfLife: emailHalfLife})
}

// DeriveWith computes the features of s as of now with the half-lives of o.
func (s *State) DeriveWith(now time.Time, o DeriveOptions) Features {
	emailHalfLife := o.EmailHalfLife
	f := Features{Now: now}
	nowMs := now.UnixMilli()
	lastDay := floorDiv(nowMs, msPerDay)
	yearAgo := nowMs - 365*msPerDay
	var gross, grossMg, t12m Total
	for _, d := range s.Days {
		if d.D > lastDay {
			break
		}
		if f.PurchaseDays == 0 {
			f.FirstPurchase = time.UnixMilli(d.D * msPerDay).UTC()
			f.FirstDayValue = d.Amount.Int64()
		}
		f.PurchaseDays++
		f.LastPurchase = time.UnixMilli(d.D * msPerDay).UTC()
		gross, grossMg = gross.Plus(d.Amount), grossMg.Plus(d.Margin)
		if d.D*msPerDay > yearAgo {
			t12m = t12m.Plus(d.Amount)
		}
	}
	if f.PurchaseDays > 0 {
		f.Frequency = f.PurchaseDays - 1
		f.RecencyDays = days(elapsed(now, f.LastPurchase))
		f.TenureDays = days(elapsed(now, f.FirstPurchase))
		f.SpanDays = days(elapsed(f.LastPurchase, f.FirstPurchase))
	}
	// Refunds count against their orders, at most each order's own amount
	// and margin, for orders on or before now's day; carried refunds (of
	// evicted orders, migrated totals) always count. Net and margin are
	// never below 0.
	refunded, refundMg := s.Refunded, s.RefundMg
	for i := range s.Orders {
		o := &s.Orders[i]
		if (o.Refunded.IsZero() && o.RefundedMargin.IsZero()) || dayOf(o.At) > lastDay {
			continue
		}
		refunded = refunded.Plus(o.Refunded.Min(TotalOf(o.Amount)))
		refundMg = refundMg.Plus(o.RefundedMargin.Min(TotalOf(o.Margin)))
	}
	f.Gross, f.T12M = gross.Int64(), t12m.Int64()
	f.Refunded = refunded.Min(gross).Int64()
	f.Net = gross.Minus(refunded).Int64()
	f.Margin = grossMg.Minus(refundMg).Int64()
	s.deriveTickets(&f, nowMs)
	s.deriveEmails(&f, nowMs, emailHalfLife)
	s.deriveSurveys(&f.Surveys, nowMs, o.SurveyHalfLife)
	return f
}

func days(d time.Duration) float64 { return d.Hours() / 24 }

// elapsed is t.Sub(u). Between instants of 1970 to 2262 (every instant a
// state keeps) it is the difference of their Unix nanoseconds, which is
// what Sub returns after an overflow check (an Add and an Equal) that cost
// as much as the due-time probes' other arithmetic on features.
func elapsed(t, u time.Time) time.Duration {
	if a, b := t.Unix(), u.Unix(); min(a, b) >= 0 && max(a, b) < math.MaxInt64/int64(time.Second)-1 {
		return time.Duration(t.UnixNano() - u.UnixNano())
	}
	return t.Sub(u)
}

// Advance moves f, the features of s as of f.Now (from DeriveWith with o),
// to the later instant t for a customer silent in between: no fact of s
// is after f.Now (s.LatestAt() <= f.Now, checked by the caller). Only time
// moves such a customer's features: the days since the first and last
// purchase grow, purchases leave the trailing 365 days, the oldest open
// ticket ages and the decayed message counters decay; counts, totals,
// survey means and consent stay. The result equals DeriveWith(t, o) to
// rounding at a fraction of its cost: the scorer's due-time probes
// advance the features of one scoring instead of re-deriving them.
func (s *State) Advance(f *Features, t time.Time, o DeriveOptions) {
	dtMs := t.UnixMilli() - f.Now.UnixMilli() // DeriveWith counts whole milliseconds
	f.Now = t
	if f.PurchaseDays > 0 {
		f.RecencyDays = days(elapsed(t, f.LastPurchase))
		f.TenureDays = days(elapsed(t, f.FirstPurchase))
		yearAgo := t.UnixMilli() - 365*msPerDay
		var t12m Total
		for _, d := range s.Days {
			if d.D*msPerDay > yearAgo {
				t12m = t12m.Plus(d.Amount)
			}
		}
		f.T12M = t12m.Int64()
	}
	if f.OpenTickets > 0 {
		f.OldestOpenHours += float64(dtMs) / 3.6e6
	}
	halfLife := o.EmailHalfLife
	if halfLife <= 0 {
		halfLife = 30 * 24 * time.Hour
	}
	decay := math.Exp(-math.Ln2 / float64(halfLife.Milliseconds()) * float64(dtMs))
	for ch := range f.Channels {
		c := &f.Channels[ch]
		c.Sends, c.Deliveries, c.Opens, c.Clicks = c.Sends*decay, c.Deliveries*decay, c.Opens*decay, c.Clicks*decay
	}
	e := &f.Channels[ChanEmail]
	f.EmailSends, f.EmailOpens, f.EmailClicks = e.Sends, e.Opens, e.Clicks
}

func (s *State) deriveTickets(f *Features, nowMs int64) {
	var resolveHours, csatSum float64
	var csatN int
	for _, t := range s.Tickets {
		opened := t.Transitions[0].At
		var firstResolved int64
		var lastCSAT int
		open := true
		for _, tr := range t.Transitions {
			if tr.At > nowMs {
				break
			}
			switch tr.Type {
			case event.TicketResolved:
				open = false
				if firstResolved == 0 {
					firstResolved = tr.At
				}
				if tr.CSAT > 0 {
					lastCSAT = tr.CSAT
				}
			case event.TicketReopened:
				open = true
				f.Reopened++
			}
		}
		if opened > nowMs {
			continue
		}
		if open {
			f.OpenTickets++
			if h := float64(nowMs-opened) / 3.6e6; h > f.OldestOpenHours {
				f.OldestOpenHours = h
			}
		}
		if firstResolved != 0 {
			f.Resolved++
			resolveHours += float64(firstResolved-opened) / 3.6e6
		}
		if lastCSAT > 0 {
			csatSum += float64(lastCSAT)
			csatN++
		}
	}
	if f.Resolved > 0 {
		f.MeanResolveHours = resolveHours / float64(f.Resolved)
	}
	if csatN > 0 {
		f.CSAT = csatSum / float64(csatN)
	}
}

func (s *State) deriveEmails(f *Features, nowMs int64, halfLife time.Duration) {
	if halfLife <= 0 {
		halfLife = 30 * 24 * time.Hour
	}
	s.deriveChannels(f, nowMs, halfLife)
	e := &f.Channels[ChanEmail]
	f.EmailSends, f.EmailOpens, f.EmailClicks = e.Sends, e.Opens, e.Clicks
}
