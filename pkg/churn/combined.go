package churn

import (
	"math"
	"sort"
)

// Signals are the inputs of the combined churn model for one customer.
type Signals struct {
	// PDead is the purchase model's probability that the customer is no
	// longer active: 1 − P(alive) of MBG/NBD, or the baseline recency risk
	// before a model is fitted.
	PDead float64
	// EmailSends, EmailOpens and EmailClicks are exponentially decayed
	// counts (recent emails weigh more).
	EmailSends, EmailOpens, EmailClicks float64
	// OpenTickets and Reopened count support tickets open now and reopen
	// transitions; MeanResolveHours is the mean time to resolution; CSAT
	// the mean satisfaction score 1..5 (0 when none was given).
	OpenTickets, Reopened  int
	MeanResolveHours, CSAT float64
}

// Weights parameterise the combined model. Each weight is in logit units:
// the change of log-odds of churn per unit of its signal. The zero value
// uses the documented defaults.
type Weights struct {
	// Engagement multiplies (BaselineOpenRate − engagement rate), where the
	// engagement rate is (opens + clicks) / sends of the decayed counters,
	// capped at 1 (default 2).
	Engagement float64 `yaml:"engagement"`
	// BaselineOpenRate is the engagement rate that is neither good nor bad
	// news (default 0.25).
	BaselineOpenRate float64 `yaml:"baseline_open_rate"`
	// MinSends is the decayed number of sends below which email is ignored
	// (default 1).
	MinSends float64 `yaml:"min_sends"`
	// OpenTicket is added per open ticket, at most 3 counted (default 0.3).
	OpenTicket float64 `yaml:"open_ticket"`
	// Reopened is added per reopened ticket, at most 3 counted (default 0.3).
	Reopened float64 `yaml:"reopened"`
	// SlowResolve is added per SlowResolveHours of mean resolution time
	// beyond SlowResolveHours, at most 2 units (defaults 0.3 and 48).
	SlowResolve      float64 `yaml:"slow_resolve"`
	SlowResolveHours float64 `yaml:"slow_resolve_hours"`
	// CSAT is added per point of mean satisfaction below 3 (and subtracted
	// per point above) (default 0.4).
	CSAT float64 `yaml:"csat"`
}

// WithDefaults returns w with zero weights replaced by the defaults.
func (w Weights) WithDefaults() Weights {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&w.Engagement, 2)
	def(&w.BaselineOpenRate, 0.25)
	def(&w.MinSends, 1)
	def(&w.OpenTicket, 0.3)
	def(&w.Reopened, 0.3)
	def(&w.SlowResolve, 0.3)
	def(&w.SlowResolveHours, 48)
	def(&w.CSAT, 0.4)
	return w
}

// Factor is one signal's contribution to a churn probability, in log-odds.
type Factor struct {
	Name         string  `json:"name"`
	Value        float64 `json:"value"`
	Contribution float64 `json:"contribution"`
}

// Combined is the churn model that adds engagement and support friction to
// the purchase model on the log-odds scale (see the package doc).
type Combined struct{ W Weights }

// Risk returns the churn probability and every factor, largest upward
// contribution first.
func (m Combined) Risk(s Signals) (float64, []Factor) {
	w := m.W.WithDefaults()
	p := math.Min(math.Max(s.PDead, 1e-4), 1-1e-4)
	base := math.Log(p / (1 - p))
	factors := []Factor{{Name: "purchase_inactivity", Value: s.PDead, Contribution: base}}
	add := func(name string, value, c float64) {
		if c != 0 {
			factors = append(factors, Factor{Name: name, Value: value, Contribution: c})
		}
	}
	if s.EmailSends >= w.MinSends {
		rate := math.Min(1, (s.EmailOpens+s.EmailClicks)/s.EmailSends)
		add("email_engagement", rate, w.Engagement*(w.BaselineOpenRate-rate))
	}
	add("open_tickets", float64(s.OpenTickets), w.OpenTicket*float64(min(s.OpenTickets, 3)))
	add("reopened_tickets", float64(s.Reopened), w.Reopened*float64(min(s.Reopened, 3)))
	if s.MeanResolveHours > w.SlowResolveHours {
		add("slow_resolution", s.MeanResolveHours, w.SlowResolve*math.Min(2, (s.MeanResolveHours-w.SlowResolveHours)/w.SlowResolveHours))
	}
	if s.CSAT > 0 {
		add("csat", s.CSAT, w.CSAT*(3-s.CSAT))
	}
	logit := 0.0
	for _, f := range factors {
		logit += f.Contribution
	}
	sort.SliceStable(factors, func(i, j int) bool { return factors[i].Contribution > factors[j].Contribution })
	return 1 / (1 + math.Exp(-logit)), factors
}
