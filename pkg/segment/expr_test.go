package segment

import (
	"strings"
	"testing"
)

func TestParseExpr(t *testing.T) {
	cases := []struct{ src, want string }{
		{"true", "true"},
		{"  false ", "false"},
		{"clv > 1", "clv > 1"},
		{"net_revenue>=1e3", "net_revenue >= 1000"},
		{"clv > -5.5", "clv > -5.5"},
		{"clv >= .5", "clv >= 0.5"},
		{"clv <= 2 and clv < 3 and clv == 4 and clv != 5", "(((clv <= 2 and clv < 3) and clv == 4) and clv != 5)"},
		// and binds tighter than or, on either side.
		{"r == 1 or f == 2 and m == 3", "(r == 1 or (f == 2 and m == 3))"},
		{"r == 1 and f == 2 or m == 3", "((r == 1 and f == 2) or m == 3)"},
		{"r == 1 or f == 2 or m == 3", "((r == 1 or f == 2) or m == 3)"},
		// not binds tighter than and.
		{"not r == 1 and f == 2", "(not r == 1 and f == 2)"},
		{"not not replenishment_due", "not not replenishment_due"},
		// Parentheses override.
		{"(r == 1 or f == 2) and m == 3", "((r == 1 or f == 2) and m == 3)"},
		{"not (r == 1 or f == 2)", "not (r == 1 or f == 2)"},
		{"((((true))))", "true"},
		// In-lists.
		{"tier in [gold, platinum]", "tier in [gold, platinum]"},
		{"tier in ['gold plus', \"silver-2\"]", "tier in [gold plus, silver-2]"},
		{"churn_level in [medium,high]", "churn_level in [medium, high]"},
		{"r in [4, 5]", "r in [4, 5]"},
		{"tier == gold", "tier == gold"},
		{"tier != 'none'", "tier != none"},
		// Booleans.
		{"replenishment_due", "replenishment_due"},
		{"replenishment_due == true", "replenishment_due"},
		{"replenishment_due != false", "replenishment_due"},
		{"replenishment_due == false", "replenishment_due == false"},
		{"replenishment_due and open_tickets > 0", "(replenishment_due and open_tickets > 0)"},
		// Layout is free.
		{"churn_probability >= 0.5\n  and (clv_percentile >= 80\n       or net_revenue >= 500)", "(churn_probability >= 0.5 and (clv_percentile >= 80 or net_revenue >= 500))"},
	}
	for _, c := range cases {
		n, err := parseExpr(c.src, nil)
		if err != nil {
			t.Errorf("%q: %v", c.src, err)
			continue
		}
		if got := n.String(); got != c.want {
			t.Errorf("%q parsed as %s, want %s", c.src, got, c.want)
		}
	}
}

func TestParseExprErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"", "column 1: empty condition"},
		{"   ", "empty condition"},
		{"churn_prob >= 0.5", `column 1: unknown field "churn_prob" (did you mean "churn_probability"?)`},
		{"clv > 1 and churn_prob > 0", `column 13: unknown field "churn_prob"`},
		{"revenue >= 5", `unknown field "revenue" (did you mean "net_revenue"?)`},
		{"xyzzy > 1", `unknown field "xyzzy" (fields: clv, clv_percentile,`},
		{"ChurnProbability > 1", `unknown field "ChurnProbability" (did you mean "churn_probability"?)`},
		{"tier >= gold", `column 6: bad operator ">=" for string field tier (use ==, != or in)`},
		{"tier", "string field tier needs ==, != or in, got end of expression"},
		{"churn_level == hihg", `churn_level has no value "hihg" (values: low, medium, high)`},
		{"churn_level in [low, severe]", `churn_level has no value "severe"`},
		{"tier == and", `string field tier compares with a word or a quoted string, got "and"`},
		{"tier == 5", `string field tier compares with a word or a quoted string, got "5"`},
		{"churn_probability >= high", `column 22: numeric field churn_probability compares with a number, got "high"`},
		{"churn_probability >= ", "compares with a number, got end of expression"},
		{"frequency", "numeric field frequency needs a comparison (>=, >, <=, <, ==, != or in), got end of expression"},
		{"frequency and clv > 1", `numeric field frequency needs a comparison (>=, >, <=, <, ==, != or in), got "and"`},
		{"churn_probability = 0.5", `column 19: bad operator "=": use == to compare`},
		{"!replenishment_due", `bad operator "!": use not`},
		{"clv > 1 && r == 2", `column 9: bad operator '&': use and`},
		{"clv > 1 || r == 2", `bad operator '|': use or`},
		{"net_revenue >= 1.2.3", `column 16: bad number "1.2.3"`},
		{"net_revenue >= 5x", `bad number "5x"`},
		{"net_revenue >= 1e999", `bad number "1e999"`},
		{"net_revenue >= 1_000", `bad number "1_000"`},
		{"net_revenue >= 0x10", `bad number "0x10"`},
		{"(clv > 1", `column 9: expected ")" to close "(" at column 1, got end of expression`},
		{"(clv > 1 or (r == 2)", `to close "(" at column 1`},
		{"clv > 1)", `column 8: unbalanced ")"`},
		{"clv > 1 r == 2", `column 9: unexpected "r" after a complete condition (missing and/or?)`},
		{"tier in []", "column 10: empty in-list"},
		{"tier in [a b]", `column 12: expected "," or "]" in the in-list opened at column 9, got "b"`},
		{"tier in [a,", "got end of expression"},
		{"tier in gold", `expected "[" after in, got "gold"`},
		{"r in [4, five]", `numeric field r compares with a number, got "five"`},
		{"replenishment_due >= 1", `bad operator ">=" for boolean field replenishment_due`},
		{"replenishment_due == 1", "boolean field replenishment_due compares with true or false, got \"1\""},
		{"replenishment_due in [true]", `bad operator "in" for boolean field`},
		{"and clv > 1", `column 1: expected a condition before "and"`},
		{"clv > 1 and", "column 12: expected a condition, got end of expression"},
		{"clv > 1 or or r == 1", `expected a condition before "or"`},
		{"not", "expected a condition, got end of expression"},
		{"()", `expected a field, "(", not or true, got ")"`},
		{"> 1", `expected a field, "(", not or true, got ">"`},
		{"tier == 'gold", "column 9: unterminated string"},
		{"clv > 1 # comment", "column 9: unexpected character '#'"},
	}
	for _, c := range cases {
		_, err := parseExpr(c.src, nil)
		if err == nil {
			t.Errorf("%q: no error, want %q", c.src, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %q, want it to contain %q", c.src, err, c.want)
		}
	}
}

func TestExprEval(t *testing.T) {
	c := Customer{
		CLV: 120, CLVPercentile: 85, NetRevenue: 600, ChurnProbability: 0.5, ChurnLevel: "medium",
		Tier: "gold", RFM: 12, R: 5, F: 4, M: 3, RecencyDays: 10, Frequency: 3, PurchaseDays: 4,
		ReplenishmentDue: true,
	}
	cases := []struct {
		src  string
		want bool
	}{
		{"true", true},
		{"false", false},
		{"churn_probability >= 0.5", true},
		{"churn_probability > 0.5", false},
		{"churn_probability <= 0.5", true},
		{"churn_probability < 0.5", false},
		{"churn_probability == 0.5", true},
		{"churn_probability != 0.5", false},
		{"rfm == 12 and r == 5 and f == 4 and m == 3", true},
		{"r in [1, 2]", false},
		{"r in [4, 5]", true},
		{"tier == gold", true},
		{"tier != gold", false},
		{"tier in [silver, gold]", true},
		{"tier in [silver, platinum]", false},
		{"churn_level in [medium, high]", true},
		{"replenishment_due", true},
		{"not replenishment_due", false},
		{"replenishment_due == false", false},
		{"replenishment_due != true", false},
		{"false or true and false", false},  // false or (true and false)
		{"true or true and false", true},    // true or (true and false)
		{"(true or true) and false", false}, // parenthesised
		{"not false and false", false},      // (not false) and false
		{"not (false and false)", true},     // not binds to the group
		{"purchase_days == 4 and not (open_tickets > 0)", true},
	}
	for _, tc := range cases {
		n, err := parseExpr(tc.src, nil)
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		if got := n.eval(&c, false); got != tc.want {
			t.Errorf("%q = %v, want %v", tc.src, got, tc.want)
		}
	}
}

func TestRelaxedThresholds(t *testing.T) {
	h := map[string]float64{"churn_probability": 0.05, "net_revenue": 50}
	cases := []struct{ src, want string }{
		{"churn_probability >= 0.5", "churn_probability >= 0.5~0.45"},
		{"churn_probability > 0.5", "churn_probability > 0.5~0.45"},
		{"churn_probability <= 0.5", "churn_probability <= 0.5~0.55"},
		{"churn_probability < 0.5", "churn_probability < 0.5~0.55"},
		{"churn_probability == 0.5", "churn_probability == 0.5"},
		{"churn_probability != 0.5", "churn_probability != 0.5"},
		{"clv >= 10", "clv >= 10"}, // no margin for clv
		// Under not the shift goes the other way; two nots cancel.
		{"not churn_probability >= 0.5", "not churn_probability >= 0.5~0.55"},
		{"not (net_revenue < 500 or churn_probability > 0.3)", "not (net_revenue < 500~450 or churn_probability > 0.3~0.35)"},
		{"not not net_revenue >= 500", "not not net_revenue >= 500~450"},
		{"not (not net_revenue >= 500) and net_revenue <= 900", "(not not net_revenue >= 500~450 and net_revenue <= 900~950)"},
	}
	for _, c := range cases {
		n, err := parseExpr(c.src, h)
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		if got := n.String(); got != c.want {
			t.Errorf("%q: %s, want %s", c.src, got, c.want)
		}
	}
	// Relaxed thresholds are clean decimals.
	if r := relax(0.5, ">=", 0.05, false); r != 0.45 {
		t.Errorf("relax(0.5 - 0.05) = %v", r)
	}
	if r := relax(0.7, "<", 0.1, false); r != 0.8 {
		t.Errorf("relax(0.7 + 0.1) = %v", r)
	}
}

func TestReasonKeys(t *testing.T) {
	n, err := parseExpr("tenure_days >= 30 and tenure_days < 90 or tenure_days >= 400 and replenishment_due and tier == gold", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := values(n, &Customer{TenureDays: 45, Tier: "gold", ReplenishmentDue: true}, false)
	want := map[string]float64{"tenure_days": 45, "tenure_days>=": 30, "tenure_days<": 90, "tenure_days>=#2": 400, "replenishment_due": 1}
	if len(got) != len(want) {
		t.Errorf("values %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("values[%q] = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if v := values(constNode(true), &Customer{}, false); v != nil {
		t.Errorf("catch-all values %v, want nil", v)
	}
}

func TestSuggest(t *testing.T) {
	for in, want := range map[string]string{
		"churn_prob": "churn_probability", "recency": "recency_days", "clv_pct": "clv_percentile", "tenure": "tenure_days", "revenue": "net_revenue",
		"ChurnProbability": "churn_probability", "CLVPercentile": "clv_percentile", "x": "", "tierr": "tier",
		"frequncy": "frequency", "purchase_day": "purchase_days", "zzzzzzzzzz": "",
	} {
		if got := suggest(in); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
