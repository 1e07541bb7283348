package customer

import (
	"slices"
	"time"
)

// DefaultAttributionWindow is the attribution window when none is given:
// 7 days, the usual click-through window of e-mail and app campaigns.
const DefaultAttributionWindow = 7 * 24 * time.Hour

// Attribution is one order attributed to a campaign.
type Attribution struct {
	// Campaign is the attributed campaign; At the order's time (Unix ms)
	// and TouchAt the time of the click or open it is attributed to.
	Campaign    string
	At, TouchAt int64
	// ByClick says whether a click (else an open) decided.
	ByClick bool
	// Amount is the order's amount and Net its amount after its counted
	// refunds (never below 0), base-currency minor units.
	Amount, Net int64
}

// touch is one click or open of a message with a campaign.
type touch struct {
	at       int64
	click    bool
	campaign string
}

// Attributions returns the kept orders at or before now that are
// attributed to a campaign, oldest first, by last touch: an order is
// attributed to the campaign of the latest click of a message with a
// campaign at most window before it (at or before the order); without
// such a click, to the latest open in the window; without either, to
// none. Equal touch times are decided by the smaller campaign name. It is
// a function of the kept sets, so order independent; orders evicted from
// Orders (beyond MaxOrders) and touches of evicted messages do not count.
func (s *State) Attributions(now time.Time, window time.Duration) []Attribution {
	if window <= 0 {
		window = DefaultAttributionWindow
	}
	var touches []touch
	for i := range s.Emails {
		m := &s.Emails[i]
		if m.Campaign == "" {
			continue
		}
		if m.Clicked != 0 {
			touches = append(touches, touch{m.Clicked, true, m.Campaign})
		}
		if m.Opened != 0 {
			touches = append(touches, touch{m.Opened, false, m.Campaign})
		}
	}
	if len(touches) == 0 {
		return nil
	}
	slices.SortFunc(touches, func(a, b touch) int { return cmpInt(a.at, b.at) })
	nowMs, w := now.UnixMilli(), window.Milliseconds()
	var out []Attribution
	for i := range s.Orders {
		o := &s.Orders[i]
		if o.At > nowMs {
			break
		}
		// touches[:j] are at or before the order.
		j, _ := slices.BinarySearchFunc(touches, o.At+1, func(t touch, at int64) int { return cmpInt(t.at, at) })
		var best *touch
		for k := j - 1; k >= 0 && touches[k].at >= o.At-w; k-- {
			t := &touches[k]
			switch {
			case best == nil:
				best = t
			case t.click && !best.click:
				best = t
			case t.click == best.click && t.at == best.at && t.campaign < best.campaign:
				best = t
			}
		}
		if best == nil {
			continue
		}
		net := o.Amount
		if r := o.Refunded.Min(TotalOf(o.Amount)).Int64(); r > 0 {
			net -= r
		}
		out = append(out, Attribution{Campaign: best.campaign, At: o.At, TouchAt: best.at, ByClick: best.click, Amount: o.Amount, Net: net})
	}
	return out
}
