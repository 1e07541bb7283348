package segment

import (
	"math"
	"testing"
)

// Settled under the default rules: lapsed by a recency that only grows
// and a prospect (no purchase, nothing that drifts) stay where they are;
// lapsed by the churn probability alone stays only when the churn is
// known to rise while silent; new (tenure below 90 days) and active (the
// at-risk rules read the churn probability, which may rise past 0.5) may
// move.
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
		rises   bool
		settled bool
	}{
		{"lapsed by recency", func(c *Customer) { c.PurchaseDays, c.RecencyDays, c.ChurnProbability = 2, 400, 0.7 }, "lapsed", false, true},
		{"lapsed by churn", func(c *Customer) { c.PurchaseDays, c.RecencyDays, c.ChurnProbability = 2, 200, 0.9 }, "lapsed", false, false},
		{"lapsed by a rising churn", func(c *Customer) { c.PurchaseDays, c.RecencyDays, c.ChurnProbability = 2, 200, 0.9 }, "lapsed", true, true},
		{"prospect", func(c *Customer) { c.PurchaseDays = 0 }, "prospect", false, true},
		{"new", func(c *Customer) { c.PurchaseDays, c.TenureDays, c.RecencyDays, c.ChurnProbability = 1, 10, 10, 0.1 }, "new", true, false},
		{"active", func(c *Customer) { c.PurchaseDays, c.TenureDays, c.RecencyDays, c.ChurnProbability = 2, 100, 10, 0.1 }, "active", true, false},
	} {
		cu := base
		c.edit(&cu)
		if got := e.Which(&cu, ""); got != c.segment {
			t.Fatalf("%s: segment %s, want %s", c.name, got, c.segment)
		}
		if got := e.Settled(&cu, c.segment, c.rises); got != c.settled {
			t.Errorf("%s: settled %v, want %v", c.name, got, c.settled)
		}
	}
}

// The default rules read only constant fields, recency, tenure and the
// churn probability; a rule on a decaying engagement, on the churn level
// or an equality on recency makes a rule set not monotone.
func TestMonotoneRules(t *testing.T) {
	e, err := Compile(DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	if !e.Monotone() {
		t.Error("the default rules are not monotone")
	}
	for _, when := range []string{"email_engagement < 0.1", "churn_level == high", "recency_days in [30, 60]"} {
		rs, err := ParseRuleSet([]byte("rules:\n  - name: x\n    when: " + when + "\n  - name: other\n    when: \"true\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		e, err := Compile(rs)
		if err != nil {
			t.Fatal(err)
		}
		if e.Monotone() {
			t.Errorf("rules on %q are monotone", when)
		}
	}
}
