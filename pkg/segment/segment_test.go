package segment

import "testing"

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
