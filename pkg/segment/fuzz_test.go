package segment

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The fuzz targets of the rule parser check properties, not only "no
// panic": an accepted condition prints (source below) to a text that
// parses to the same tree, and that text is a fixed point; a relaxed
// condition (hysteresis) never drops a customer the strict one keeps; an
// accepted rule set marshals to YAML that parses to the same rule set.
// Seed corpora are under testdata/fuzz/<FuzzName>; see scripts/fuzz.sh.

// fuzzHyst is the hysteresis the conditions are parsed with.
var fuzzHyst = map[string]float64{"churn_probability": 0.05, "net_revenue": 50, "recency_days": 7, "clv_percentile": 5}

// source prints a tree as condition text the parser reads back: like
// String, but with string values quoted and without the relaxed
// thresholds (which come from the hysteresis, not the text).
func source(n node) string {
	switch x := n.(type) {
	case constNode:
		return x.String()
	case *andNode:
		return "(" + source(x.l) + " and " + source(x.r) + ")"
	case *orNode:
		return "(" + source(x.l) + " or " + source(x.r) + ")"
	case *notNode:
		return "not " + source(x.x)
	case *numCmp:
		return x.f.name + " " + x.op + " " + strconv.FormatFloat(x.threshold, 'g', -1, 64)
	case *numIn:
		return x.String()
	case *strIn:
		q := make([]string, len(x.vals))
		for i, v := range x.vals {
			q[i] = quote(v)
		}
		if x.op == "in" {
			return x.f.name + " in [" + strings.Join(q, ", ") + "]"
		}
		return x.f.name + " " + x.op + " " + q[0]
	case *boolIs:
		return x.String()
	}
	panic("unknown node")
}

// quote quotes a string value with a quote character it does not contain
// (the language has no escapes, and a parsed value cannot contain both).
func quote(s string) string {
	if strings.Contains(s, `"`) {
		return "'" + s + "'"
	}
	return `"` + s + `"`
}

// fuzzCustomers returns customers around the thresholds a fuzzed
// condition may use, deterministically from seed.
func fuzzCustomers(seed uint64) []Customer {
	rnd := rand.New(rand.NewPCG(seed, 7))
	vals := []float64{0, 0.5, 1, 5, 7, 30, 80, 365, 500, -1, 0.45, 0.55, 1e3}
	pick := func() float64 {
		v := vals[rnd.IntN(len(vals))]
		if rnd.IntN(3) == 0 {
			v += rnd.NormFloat64() * 10
		}
		return v
	}
	levels := []string{"low", "medium", "high"}
	tiers := []string{"none", "bronze", "gold", "gold plus", ""}
	out := make([]Customer, 16)
	for i := range out {
		out[i] = Customer{
			CLV: pick(), CLVPercentile: pick(), HistoricCLV: pick(), NetRevenue: pick(), ChurnProbability: pick(),
			ChurnLevel: levels[rnd.IntN(3)], Tier: tiers[rnd.IntN(len(tiers))],
			RFM: rnd.IntN(16), R: rnd.IntN(6), F: rnd.IntN(6), M: rnd.IntN(6),
			RecencyDays: pick(), TenureDays: pick(), LastGapDays: pick(),
			Frequency: rnd.IntN(10), PurchaseDays: rnd.IntN(10), OpenTickets: rnd.IntN(3),
			ReplenishmentDue: rnd.IntN(2) == 0,
		}
	}
	return out
}

// FuzzParseExpr parses a rule condition.
func FuzzParseExpr(f *testing.F) {
	for _, r := range DefaultRuleSet().Rules {
		f.Add(r.When)
	}
	for _, s := range []string{
		"true", "clv > -5.5", "net_revenue>=1e3", "clv >= .5", "r == 1 or f == 2 and m == 3", "not (r == 1 or f == 2)",
		"tier in ['gold plus', \"silver-2\"]", "churn_level in [medium,high]", "r in [4, 5]", "replenishment_due != false",
		"not (not net_revenue >= 500) and net_revenue <= 900", "tier == 'say \"hi\"'", "clv >= 1e308", "clv > -0",
		"churn_probability >= 0.1234567890123", "((((true))))", "tier == and", "clv = 1", "clv >= 0x10",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := parseExpr(src, fuzzHyst)
		if err != nil {
			if _, ok := err.(*exprError); !ok {
				t.Fatalf("parseExpr(%q) error %v has type %T, want *exprError", src, err, err)
			}
			return
		}
		text := source(n)
		n2, err := parseExpr(text, fuzzHyst)
		if err != nil {
			t.Fatalf("parseExpr(%q) printed as %q, which does not parse: %v", src, text, err)
		}
		if n2.String() != n.String() {
			t.Fatalf("parseExpr(%q) = %s; its text %q parses to %s", src, n, text, n2)
		}
		if again := source(n2); again != text {
			t.Fatalf("source is not a fixed point: %q -> %q", text, again)
		}
		for _, c := range fuzzCustomers(uint64(len(src))) {
			strict, relaxed := n.eval(&c, false), n.eval(&c, true)
			if strict != n2.eval(&c, false) {
				t.Fatalf("%q and its text %q evaluate differently for %+v", src, text, c)
			}
			if strict && !relaxed && !hasLongThreshold(n) {
				t.Fatalf("%q holds for %+v but not with hysteresis (%s): relaxing must only keep customers in", src, c, n)
			}
		}
	})
}

// hasLongThreshold reports whether a tree has a relaxed threshold whose
// exact value has more than 12 significant digits: relax rounds the
// relaxed threshold to 12 digits, which can move it past the strict one
// by less than the rounding step (a known limit of relax, not a property
// this test asserts).
func hasLongThreshold(n node) bool {
	long := false
	walk(n, func(x node) {
		if c, ok := x.(*numCmp); ok && c.relaxed != c.threshold {
			if s := strconv.FormatFloat(c.threshold, 'e', -1, 64); len(strings.TrimLeft(strings.Split(s, "e")[0], "-")) > 13 {
				long = true // 12 digits plus the point
			}
			if math.Abs(c.threshold) > 1e12 {
				long = true
			}
		}
	})
	return long
}

// FuzzParseRuleSet parses a YAML rule set; an accepted one marshals back
// to YAML that parses to the same rule set and compiles.
func FuzzParseRuleSet(f *testing.F) {
	f.Add(defaultRulesYAML)
	for _, s := range []string{
		"rules:\n  - {name: a, when: \"clv > 1\"}\n  - {name: b, when: \"true\"}\n",
		"rules:\n  - name: x\n    when: 'true'\nhysteresis: {clv: 1}\nmin_dwell: 90m\n",
		"rules: []\n", "rules:\n  - {name: erased, when: \"true\"}\n", "hysteresis: {tier: 1}\nrules:\n  - {name: a, when: \"true\"}\n",
		"rules:\n  - {name: a, when: \"true\", extra: 1}\n", "{}", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rs, err := ParseRuleSet(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "segment rules: ") {
				t.Fatalf("ParseRuleSet error %q does not start with \"segment rules: \"", err)
			}
			return
		}
		e, err := Compile(rs)
		if err != nil {
			t.Fatalf("ParseRuleSet accepted a rule set that does not compile: %v", err)
		}
		if got := e.Segments(); len(got) != len(rs.Rules) || got[len(got)-1] != rs.Rules[len(rs.Rules)-1].Name {
			t.Fatalf("Segments() = %v for rules %+v", got, rs.Rules)
		}
		out, err := yaml.Marshal(rs)
		if err != nil {
			t.Fatalf("yaml.Marshal(%+v): %v", rs, err)
		}
		rs2, err := ParseRuleSet(out)
		if err != nil {
			t.Fatalf("rule set %+v marshals to YAML that does not parse: %v\n%s", rs, err, out)
		}
		out2, _ := yaml.Marshal(rs2)
		if string(out2) != string(out) {
			t.Fatalf("rule set changes across a YAML round trip:\n%s\n---\n%s", out, out2)
		}
	})
}
