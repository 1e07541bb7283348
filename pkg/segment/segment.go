package segment

import (
	"fmt"
	"sort"
)

// Input is what the rules see of one customer. Money is in major units of
// the base currency.
type Input struct {
	PurchaseDays    int
	TenureDays      float64
	RecencyDays     float64
	NetRevenue      float64
	PredictedCLV    float64
	ChurnRisk       float64
	Tier            string
	OpenTickets     int
	TrailingYearSum float64
}

// Reason records which rule decided a segment and the values it looked at.
type Reason struct {
	Rule   string             `json:"rule"`
	Values map[string]float64 `json:"values,omitempty"`
}

// Rule is one segment rule. Match reports whether the customer belongs to
// Segment and the values that decided it.
type Rule struct {
	Segment string
	Match   func(Input) (bool, map[string]float64)
}

// Thresholds parameterise DefaultRules. Money in major units of the base
// currency, durations in days.
type Thresholds struct {
	AtRiskRisk      float64 `yaml:"at_risk_risk"`
	LapsedRisk      float64 `yaml:"lapsed_risk"`
	HighValue       float64 `yaml:"high_value"`
	LoyalDays       int     `yaml:"loyal_days"`
	LoyalTenureDays float64 `yaml:"loyal_tenure_days"`
	NewDays         float64 `yaml:"new_days"`
}

// DefaultThresholds are the thresholds used when none are configured.
var DefaultThresholds = Thresholds{
	AtRiskRisk:      0.5,
	LapsedRisk:      0.8,
	HighValue:       500,
	LoyalDays:       4,
	LoyalTenureDays: 180,
	NewDays:         90,
}

// Segment names of the default rules.
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
	None            = ""
)

// DefaultRules returns the default rule list for the thresholds.
func DefaultRules(t Thresholds) []Rule {
	return []Rule{
		{Prospect, func(in Input) (bool, map[string]float64) {
			return in.PurchaseDays == 0, map[string]float64{"purchase_days": 0}
		}},
		{Lapsed, func(in Input) (bool, map[string]float64) {
			return in.ChurnRisk >= t.LapsedRisk, map[string]float64{"churn_risk": in.ChurnRisk, "threshold": t.LapsedRisk}
		}},
		{AtRiskHighValue, func(in Input) (bool, map[string]float64) {
			return in.ChurnRisk >= t.AtRiskRisk && in.NetRevenue >= t.HighValue,
				map[string]float64{"churn_risk": in.ChurnRisk, "net_revenue": in.NetRevenue}
		}},
		{AtRisk, func(in Input) (bool, map[string]float64) {
			return in.ChurnRisk >= t.AtRiskRisk, map[string]float64{"churn_risk": in.ChurnRisk, "threshold": t.AtRiskRisk}
		}},
		{HighValue, func(in Input) (bool, map[string]float64) {
			return in.NetRevenue >= t.HighValue, map[string]float64{"net_revenue": in.NetRevenue, "threshold": t.HighValue}
		}},
		{Loyal, func(in Input) (bool, map[string]float64) {
			return in.PurchaseDays >= t.LoyalDays && in.TenureDays >= t.LoyalTenureDays,
				map[string]float64{"purchase_days": float64(in.PurchaseDays), "tenure_days": in.TenureDays}
		}},
		{New, func(in Input) (bool, map[string]float64) {
			return in.PurchaseDays == 1 && in.TenureDays < t.NewDays, map[string]float64{"tenure_days": in.TenureDays}
		}},
		{Active, func(in Input) (bool, map[string]float64) {
			return true, map[string]float64{"recency_days": in.RecencyDays}
		}},
	}
}

// Evaluate returns the segment of the first matching rule and its reason.
// With no match it returns None.
func Evaluate(rules []Rule, in Input) (string, Reason) {
	for _, r := range rules {
		if ok, values := r.Match(in); ok {
			return r.Segment, Reason{Rule: r.Segment, Values: values}
		}
	}
	return None, Reason{}
}

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
	sorted := append(Tiers(nil), ts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].MinSpend < sorted[j].MinSpend })
	name := "none"
	for _, t := range sorted {
		if t12m >= t.MinSpend {
			name = t.Name
		}
	}
	return name
}
