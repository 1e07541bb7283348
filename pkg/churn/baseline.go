package churn

import "math"

// Baseline is the recency-based churn model described in the package doc.
// The zero value uses the defaults.
type Baseline struct {
	// PriorWeight is k, the number of population gaps the customer's own
	// gap is blended with (default 2).
	PriorWeight float64
	// Shape is s, the steepness of the curve (default 2).
	Shape float64
	// HalfRatio is h, the recency in expected gaps at which risk is 0.5
	// (default 2).
	HalfRatio float64
}

func (b Baseline) params() (k, s, h float64) {
	k, s, h = b.PriorWeight, b.Shape, b.HalfRatio
	if k <= 0 {
		k = 2
	}
	if s <= 0 {
		s = 2
	}
	if h <= 0 {
		h = 2
	}
	return k, s, h
}

// ExpectedGap returns the blended expected gap in days between purchases.
func (b Baseline) ExpectedGap(ownGapDays float64, repeats int, populationGapDays float64) float64 {
	k, _, _ := b.params()
	x := float64(repeats)
	return (x*ownGapDays + k*populationGapDays) / (x + k)
}

// Risk returns the churn risk in [0, 1) of a customer whose last purchase was
// recencyDays ago.
func (b Baseline) Risk(recencyDays, ownGapDays float64, repeats int, populationGapDays float64) float64 {
	_, s, h := b.params()
	g := b.ExpectedGap(ownGapDays, repeats, populationGapDays)
	if recencyDays <= 0 || g <= 0 {
		return 0
	}
	rs := math.Pow(recencyDays/g, s)
	return rs / (rs + math.Pow(h, s))
}

// RecencyAt returns the recency in days at which the risk reaches p (0 < p <
// 1): the inverse of Risk in recency.
func (b Baseline) RecencyAt(p, ownGapDays float64, repeats int, populationGapDays float64) float64 {
	_, s, h := b.params()
	g := b.ExpectedGap(ownGapDays, repeats, populationGapDays)
	return g * h * math.Pow(p/(1-p), 1/s)
}

// ProbNoPurchase is the baseline's churn probability over horizonDays,
// with the same meaning as the fitted models' (no purchase in the next
// horizonDays): the customer has lapsed with probability Risk, and an
// active customer buys at the rate 1/g of the blended expected gap g, so
// makes no purchase in the horizon with probability e^(−H/g):
//
//	P(no purchase in H) = risk + (1 − risk)·e^(−H/g).
func (b Baseline) ProbNoPurchase(recencyDays, ownGapDays float64, repeats int, populationGapDays, horizonDays float64) float64 {
	risk := b.Risk(recencyDays, ownGapDays, repeats, populationGapDays)
	g := b.ExpectedGap(ownGapDays, repeats, populationGapDays)
	if !(g > 0) || !(horizonDays > 0) {
		return risk
	}
	return risk + (1-risk)*math.Exp(-horizonDays/g)
}

// Levels maps a churn probability to low, medium or high. Medium and High
// are the lower bounds of those levels; zero means the default, 0.5 and
// 0.8. Because the churn probability is calibrated (it is fitted to the
// observed rate of customers without a purchase in the horizon), the
// levels say what they mean: medium is "more likely than not to make no
// purchase in the horizon", high "at least four in five".
type Levels struct {
	Medium float64 `yaml:"medium"`
	High   float64 `yaml:"high"`
}

// Default level bounds.
const (
	DefaultMedium = 0.5
	DefaultHigh   = 0.8
)

// Bounds returns the medium and high bounds in force (defaults for 0).
func (l Levels) Bounds() (medium, high float64) {
	med, high := l.Medium, l.High
	if med <= 0 {
		med = DefaultMedium
	}
	if high <= 0 {
		high = DefaultHigh
	}
	return med, high
}

// Level names the level of risk p.
func (l Levels) Level(p float64) string {
	med, high := l.Bounds()
	switch {
	case p >= high:
		return "high"
	case p >= med:
		return "medium"
	default:
		return "low"
	}
}
