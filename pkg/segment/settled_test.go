package segment

import (
	"math"
	"testing"
)

// Settled under the default rules: lapsed by a recency that only grows
// and a prospect (no purchase, nothing that drifts) stay where they are;
// lapsed by the churn probability alone, new (tenure below 90 days), and
// active (the at-risk rules read the churn probability) may move.
func TestSettledUnderTheDefaultRules(t *testing.T) {
	e, err := Compile(DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	base := Customer{Subscription: "none", Tier: "none", ChurnLevel: "low", Surveys: SurveyFields{NPS: math.NaN(), CSAT: math.NaN(), CES: math.NaN()}}
	for _, c := range []struct {
		name    string
		edit    func(*Customer)
		segment string
		settled bool
	}{
		{"lapsed by recency", func(c *Customer) { c.PurchaseDays, c.RecencyDays, c.ChurnProbability = 2, 400, 0.7 }, "lapsed", true},
		{"lapsed by churn", func(c *Customer) { c.PurchaseDays, c.RecencyDays, c.ChurnProbability = 2, 200, 0.9 }, "lapsed", false},
		{"prospect", func(c *Customer) { c.PurchaseDays = 0 }, "prospect", true},
		{"new", func(c *Customer) { c.PurchaseDays, c.TenureDays, c.RecencyDays, c.ChurnProbability = 1, 10, 10, 0.1 }, "new", false},
		{"active", func(c *Customer) { c.PurchaseDays, c.TenureDays, c.RecencyDays, c.ChurnProbability = 2, 100, 10, 0.1 }, "active", false},
	} {
		cu := base
		c.edit(&cu)
		if got := e.Which(&cu, ""); got != c.segment {
			t.Fatalf("%s: segment %s, want %s", c.name, got, c.segment)
		}
		if got := e.Settled(&cu, c.segment); got != c.settled {
			t.Errorf("%s: settled %v, want %v", c.name, got, c.settled)
		}
	}
}
