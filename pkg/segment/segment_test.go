package segment

import "testing"

func TestDefaultRulesFirstMatchWins(t *testing.T) {
	rules := DefaultRules(DefaultThresholds)
	cases := []struct {
		name string
		in   Input
		want string
	}{
		{"no purchase", Input{}, Prospect},
		{"lapsed beats high value", Input{PurchaseDays: 3, ChurnRisk: 0.85, NetRevenue: 5000}, Lapsed},
		{"at-risk high value", Input{PurchaseDays: 3, ChurnRisk: 0.6, NetRevenue: 500}, AtRiskHighValue},
		{"at-risk", Input{PurchaseDays: 3, ChurnRisk: 0.5, NetRevenue: 499.99}, AtRisk},
		{"high value", Input{PurchaseDays: 2, ChurnRisk: 0.1, NetRevenue: 800}, HighValue},
		{"loyal", Input{PurchaseDays: 4, TenureDays: 180, NetRevenue: 100}, Loyal},
		{"loyal needs tenure", Input{PurchaseDays: 6, TenureDays: 179, NetRevenue: 100}, Active},
		{"new", Input{PurchaseDays: 1, TenureDays: 89.9}, New},
		{"new ends", Input{PurchaseDays: 1, TenureDays: 90}, Active},
	}
	for _, c := range cases {
		got, reason := Evaluate(rules, c.in)
		if got != c.want || reason.Rule != c.want {
			t.Errorf("%s: segment %s (rule %s), want %s", c.name, got, reason.Rule, c.want)
		}
	}
	_, reason := Evaluate(rules, Input{PurchaseDays: 3, ChurnRisk: 0.55})
	if reason.Values["churn_risk"] != 0.55 || reason.Values["threshold"] != 0.5 {
		t.Errorf("reason values %v", reason.Values)
	}
}

func TestTiers(t *testing.T) {
	for spend, want := range map[float64]string{0.01: "bronze", 499.99: "bronze", 500: "silver", 2500: "gold", 1e6: "platinum"} {
		if got := DefaultTiers.Of(spend, true); got != want {
			t.Errorf("Of(%v) = %s, want %s", spend, got, want)
		}
	}
	if got := DefaultTiers.Of(0, false); got != "none" {
		t.Errorf("no purchase in the window: %s", got)
	}
	if err := (Tiers{{"a", 0}, {"a", 5}}).Validate(); err == nil {
		t.Error("duplicate tier names accepted")
	}
}
