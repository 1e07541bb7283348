package segment

import (
	"fmt"
	"math"
)

// Reason records which rule decided a segment and the values it looked at.
type Reason struct {
	Rule   string             `json:"rule"`
	Values map[string]float64 `json:"values,omitempty"`
}

// Segment names of the default rule set (default_rules.yaml), and Erased,
// which the service itself assigns on erasure.
const (
	Prospect        = "prospect"
	Lapsed          = "lapsed"
	AtRiskHighValue = "at-risk-high-value"
	AtRisk          = "at-risk"
	HighValue       = "high-value"
	Loyal           = "loyal"
	New             = "new"
	Active          = "active"
	Erased          = "erased"
)

// Tier is one loyalty tier: customers whose trailing-12-month spend is at
// least MinSpend (major units) belong to it.
type Tier struct {
	Name     string  `yaml:"name"`
	MinSpend float64 `yaml:"min_spend"`
}

// Tiers is a set of loyalty tiers.
type Tiers []Tier

// DefaultTiers are bronze (any spend), silver (500), gold (2,000) and
// platinum (10,000).
var DefaultTiers = Tiers{{"bronze", 0}, {"silver", 500}, {"gold", 2000}, {"platinum", 10000}}

// Validate checks that names are set and unique.
func (ts Tiers) Validate() error {
	seen := map[string]bool{}
	for i, t := range ts {
		if t.Name == "" {
			return fmt.Errorf("tiers[%d].name: must be set", i)
		}
		if seen[t.Name] {
			return fmt.Errorf("tiers[%d].name: %q appears twice", i, t.Name)
		}
		seen[t.Name] = true
	}
	return nil
}

// Of returns the tier of a customer with trailing-12-month spend t12m and
// any purchase in that window; "none" when the customer spent nothing in it.
func (ts Tiers) Of(t12m float64, purchased bool) string {
	if !purchased {
		return "none"
	}
	// The reached tier with the highest minimum; of equal minimums the
	// later one (as a stable sort by minimum would pick).
	name, best := "none", math.Inf(-1)
	for _, t := range ts {
		if t12m >= t.MinSpend && t.MinSpend >= best {
			name, best = t.Name, t.MinSpend
		}
	}
	return name
}
