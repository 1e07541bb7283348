package kpi

import (
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clvstream/clvstream/pkg/customer"
)

// RepeatMax is the largest n of the repeat-purchase curve.
const RepeatMax = 10

// RepeatStep is one point of the repeat-purchase curve: of the Customers
// whose n-th purchase is at least the window old (so the whole window
// after it is observed), Repeated made an (n+1)-th within the window;
// Share = Repeated / Customers (0 when Customers is 0).
type RepeatStep struct {
	N         int     `json:"n"`
	Customers int     `json:"customers"`
	Repeated  int     `json:"repeated"`
	Share     float64 `json:"share"`
}

// RepeatCurve is the repeat-purchase curve, n = 1..RepeatMax, of the
// population, per first-purchase-month cohort (the reported cohorts) and
// per acquisition channel (customer_acquired; at most MaxGroups, the
// channels with the fewest customers summed into OtherGroup).
// A purchase is a purchase day, as everywhere in clvstream (same-day
// orders merge). Customers whose n-th purchase is younger than the window
// are right-censored: they do not count at n (their (n+1)-th may still
// come), so the share is not biased down by recent buyers.
type RepeatCurve struct {
	WindowDays float64                 `json:"window_days"`
	Population []RepeatStep            `json:"population"`
	ByCohort   map[string][]RepeatStep `json:"by_cohort"`
	ByChannel  map[string][]RepeatStep `json:"by_channel"`
}

// repeatAcc accumulates a RepeatCurve.
type repeatAcc struct {
	window   int64 // days
	asOfDay  int64
	pop      [RepeatMax]RepeatStep
	byCohort map[string]*[RepeatMax]RepeatStep
	// byChannel holds every channel seen; finish keeps MaxGroups.
	byChannel map[string]*[RepeatMax]RepeatStep
}

func newRepeatAcc(window time.Duration, asOf time.Time) *repeatAcc {
	return &repeatAcc{window: int64(window / (24 * time.Hour)), asOfDay: asOf.UnixMilli() / (24 * 3600 * 1000),
		byCohort: map[string]*[RepeatMax]RepeatStep{}, byChannel: map[string]*[RepeatMax]RepeatStep{}}
}

// add counts one customer's purchase days (on or before asOf); cohort is
// "" when they are in no reported cohort, channel "" when their
// acquisition is unknown.
func (a *repeatAcc) add(days []customer.Day, cohort, channel string) {
	group := func(m map[string]*[RepeatMax]RepeatStep, k string) *[RepeatMax]RepeatStep {
		if k == "" {
			return nil
		}
		g := m[k]
		if g == nil {
			g = new([RepeatMax]RepeatStep)
			m[k] = g
		}
		return g
	}
	c, ch := group(a.byCohort, cohort), group(a.byChannel, channel)
	for i := 0; i < len(days) && i < RepeatMax; i++ {
		d := days[i].D
		if d > a.asOfDay || d+a.window > a.asOfDay {
			break // not yet observed for the whole window (later ones neither)
		}
		repeated := i+1 < len(days) && days[i+1].D-d <= a.window && days[i+1].D <= a.asOfDay
		for _, s := range [3]*[RepeatMax]RepeatStep{&a.pop, c, ch} {
			if s == nil {
				continue
			}
			s[i].Customers++
			if repeated {
				s[i].Repeated++
			}
		}
	}
}

func finishSteps(s *[RepeatMax]RepeatStep) []RepeatStep {
	out := make([]RepeatStep, RepeatMax)
	for i := range s {
		out[i] = s[i]
		out[i].N = i + 1
		if out[i].Customers > 0 {
			out[i].Share = float64(out[i].Repeated) / float64(out[i].Customers)
		}
	}
	return out
}

func (a *repeatAcc) finish() RepeatCurve {
	r := RepeatCurve{WindowDays: float64(a.window), Population: finishSteps(&a.pop), ByCohort: map[string][]RepeatStep{},
		ByChannel: map[string][]RepeatStep{}}
	for k, c := range a.byCohort {
		r.ByCohort[k] = finishSteps(c)
	}
	names := make([]string, 0, len(a.byChannel))
	for k := range a.byChannel {
		names = append(names, k)
	}
	// Most customers at n = 1 first, then by name.
	sort.Slice(names, func(i, j int) bool {
		ci, cj := a.byChannel[names[i]][0].Customers, a.byChannel[names[j]][0].Customers
		if ci != cj {
			return ci > cj
		}
		return names[i] < names[j]
	})
	if len(names) > MaxGroups {
		other := new([RepeatMax]RepeatStep)
		for _, k := range names[MaxGroups-1:] {
			for i, st := range a.byChannel[k] {
				other[i].Customers += st.Customers
				other[i].Repeated += st.Repeated
			}
		}
		names = names[:MaxGroups-1]
		r.ByChannel[OtherGroup] = finishSteps(other)
	}
	for _, k := range names {
		r.ByChannel[k] = finishSteps(a.byChannel[k])
	}
	return r
}

// scale applies n to the counts (a sampled snapshot).
func (r *RepeatCurve) scale(n func(*int)) {
	all := [][]RepeatStep{r.Population}
	keys := make([]string, 0, len(r.ByCohort))
	for k := range r.ByCohort {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		all = append(all, r.ByCohort[k])
	}
	for _, steps := range r.ByChannel {
		all = append(all, steps)
	}
	for _, steps := range all {
		for i := range steps {
			n(&steps[i].Customers)
			n(&steps[i].Repeated)
		}
	}
}

// repeatGauges export the population curve.
type repeatGauges struct{ share, customers *prometheus.GaugeVec }

func newRepeatGauges(reg prometheus.Registerer) *repeatGauges {
	v := func(name, help string) *prometheus.GaugeVec { return gaugeVec(reg, name, help, "n") }
	return &repeatGauges{
		share:     v("clvstream_repeat_purchase_curve_ratio", "Share of customers with n purchases (the n-th at least kpi.repeat_window ago) who made an (n+1)-th within kpi.repeat_window, n = 1..10."),
		customers: v("clvstream_repeat_purchase_curve_customers", "Customers with n purchases whose n-th is at least kpi.repeat_window old: the base of clvstream_repeat_purchase_curve_ratio."),
	}
}

func (g *repeatGauges) set(r *RepeatCurve) {
	for _, s := range r.Population {
		n := strconv.Itoa(s.N)
		g.share.WithLabelValues(n).Set(s.Share)
		g.customers.WithLabelValues(n).Set(float64(s.Customers))
	}
}
