package segment

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Customer is what segment rules see of one customer. Money is in major
// units of the base currency. Rules reference the fields by their
// snake_case names (clv, clv_percentile, ..., replenishment_due).
type Customer struct {
	// CLV is the predicted customer lifetime value.
	CLV float64
	// CLVPercentile is the percentile (0..100) of CLV in the population.
	CLVPercentile float64
	// HistoricCLV is the historic value (net margin to date).
	HistoricCLV float64
	// NetRevenue is revenue to date after refunds.
	NetRevenue float64

	// ChurnProbability is the churn risk, 0..1.
	ChurnProbability float64
	// ChurnLevel is low, medium or high.
	ChurnLevel string

	// Tier is the loyalty tier (see Tiers).
	Tier string

	// RFM is R+F+M (3..15); R, F and M are the quintile scores 1..5 (see
	// CutPoints). All four are 0 while there is no RFM model yet.
	RFM, R, F, M int

	// RecencyDays is the time since the last purchase, TenureDays the time
	// since the first one, in days.
	RecencyDays, TenureDays float64
	// LastGapDays is the number of days between the last two purchase
	// days (0 with fewer than two).
	LastGapDays float64

	// Frequency is the number of repeat purchase days (purchase days - 1,
	// as in the BTYD models); PurchaseDays the number of distinct purchase
	// days; OpenTickets the number of open support tickets.
	Frequency, PurchaseDays, OpenTickets int

	// ReplenishmentDue is set when the customer's usual reorder interval
	// has passed.
	ReplenishmentDue bool

	// Surveys are the survey figures (survey_fields.go).
	Surveys SurveyFields
	// Channels are the messaging figures (channel_fields.go).
	Channels ChannelFields

	// Subscription is the subscription status: none, active, cancelling
	// (cancelled, paid period not over) or cancelled. RenewalProbability is
	// the probability that the primary subscription renews at the end of
	// its period (NaN without a renewal model, 0 unless active);
	// SubscriptionRenewals its renewals so far.
	Subscription         string
	RenewalProbability   float64
	SubscriptionRenewals int

	// Channel is the acquisition channel ("" when unknown).
	Channel string
	// Referrals is the number of customers this one referred, as credited
	// through the referrals topic (at most customer.MaxReferrals, 100).
	Referrals int
}

// RuleSet is the YAML form of the segment rules.
type RuleSet struct {
	// Rules are tried in order and the first match names the segment. The
	// last rule must be a catch-all (when: "true").
	Rules []RuleSpec `yaml:"rules"`
	// Hysteresis maps a numeric field to the margin by which the
	// thresholds of the customer's current segment are relaxed, so that a
	// customer stays until the value is clearly back.
	Hysteresis map[string]float64 `yaml:"hysteresis,omitempty"`
	// MinDwell is the least time a customer stays in a segment before
	// moving to another (written like "24h" or "90m"). Zero disables it.
	MinDwell time.Duration `yaml:"min_dwell,omitempty"`
}

// RuleSpec is one rule: customers for which When holds belong to segment
// Name (unless an earlier rule matched).
type RuleSpec struct {
	// Name is the segment name; unique, not empty, not "erased".
	Name string `yaml:"name"`
	// When is the condition (see the package documentation for the
	// expression language).
	When string `yaml:"when"`
	// Description says what the segment means, for people.
	Description string `yaml:"description,omitempty"`
}

// ParseRuleSet decodes a rule set from YAML and validates it (it compiles
// the rules and discards the result). Unknown keys are errors.
func ParseRuleSet(yamlBytes []byte) (RuleSet, error) {
	var rs RuleSet
	dec := yaml.NewDecoder(bytes.NewReader(yamlBytes))
	dec.KnownFields(true)
	if err := dec.Decode(&rs); err != nil {
		if errors.Is(err, io.EOF) {
			return RuleSet{}, errors.New("segment rules: empty document")
		}
		return RuleSet{}, fmt.Errorf("segment rules: %w", err)
	}
	if _, err := Compile(rs); err != nil {
		return RuleSet{}, err
	}
	return rs, nil
}

//go:embed default_rules.yaml
var defaultRulesYAML []byte

var defaultRuleSet = sync.OnceValue(func() RuleSet {
	rs, err := ParseRuleSet(defaultRulesYAML)
	if err != nil {
		// The embedded file is covered by tests; this is a build defect.
		panic("segment: default_rules.yaml: " + err.Error())
	}
	return rs
})

// DefaultRuleSet returns the rule set of the embedded default_rules.yaml:
// cancelling, cancelled, subscriber, prospect, lapsed, at-risk-high-value, at-risk, won-back, high-value,
// loyal, new and active, with hysteresis on churn probability, CLV
// percentile, net revenue and recency, and a minimum dwell of 24 hours.
// Each call returns a fresh copy.
func DefaultRuleSet() RuleSet {
	rs := defaultRuleSet()
	rs.Rules = slices.Clone(rs.Rules)
	rs.Hysteresis = maps.Clone(rs.Hysteresis)
	return rs
}

// Engine is a compiled rule set. It is immutable and safe for concurrent
// use.
type Engine struct {
	rules    []compiledRule
	names    map[string]bool
	minDwell time.Duration
}

type compiledRule struct {
	name string
	expr node
}

// Compile checks a rule set and compiles it. Errors name the rule (index
// and name), what is wrong and, for conditions, the column: an empty rule
// list, a missing, reserved or duplicate name, an unknown field, an
// operator the field's type does not have, a bad number, a last rule that
// is not the catch-all "true", a catch-all before the end, an unknown or
// non-numeric hysteresis field, a negative margin or a negative min_dwell.
func Compile(rs RuleSet) (*Engine, error) {
	if len(rs.Rules) == 0 {
		return nil, errors.New("segment rules: rules: empty (need at least a catch-all rule with when: \"true\")")
	}
	if rs.MinDwell < 0 {
		return nil, fmt.Errorf("segment rules: min_dwell: must not be negative, got %s", rs.MinDwell)
	}
	for _, name := range slices.Sorted(maps.Keys(rs.Hysteresis)) {
		h := rs.Hysteresis[name]
		f, ok := fields[name]
		switch {
		case !ok:
			msg := fmt.Sprintf("segment rules: hysteresis.%s: unknown field", name)
			if s := suggest(name); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, errors.New(msg)
		case f.kind != numField:
			return nil, fmt.Errorf("segment rules: hysteresis.%s: %s is a %s field; hysteresis needs a numeric one", name, name, f.kind)
		case h < 0 || math.IsNaN(h) || math.IsInf(h, 0):
			return nil, fmt.Errorf("segment rules: hysteresis.%s: margin must be a finite number >= 0, got %v", name, h)
		}
	}
	e := &Engine{names: map[string]bool{}, minDwell: rs.MinDwell}
	for i, spec := range rs.Rules {
		where := fmt.Sprintf("segment rules: rules[%d]", i)
		if spec.Name != "" {
			where += fmt.Sprintf(" (%s)", spec.Name)
		}
		switch {
		case strings.TrimSpace(spec.Name) == "":
			return nil, fmt.Errorf("%s: name: must be set", where)
		case spec.Name != strings.TrimSpace(spec.Name):
			return nil, fmt.Errorf("%s: name: %q has leading or trailing spaces", where, spec.Name)
		case spec.Name == Erased:
			return nil, fmt.Errorf("%s: name: %q is reserved for erased customers", where, Erased)
		case e.names[spec.Name]:
			return nil, fmt.Errorf("%s: name: duplicate; %q is already rule %d", where, spec.Name, slices.IndexFunc(e.rules, func(r compiledRule) bool { return r.name == spec.Name }))
		}
		expr, err := parseExpr(spec.When, rs.Hysteresis)
		if err != nil {
			return nil, fmt.Errorf("%s: when %q: %w", where, spec.When, err)
		}
		last := i == len(rs.Rules)-1
		if expr == constNode(true) && !last {
			return nil, fmt.Errorf("%s: when: always true, so rules %d..%d can never match (only the last rule may be the catch-all)", where, i+1, len(rs.Rules)-1)
		}
		if last && expr != constNode(true) {
			return nil, fmt.Errorf("%s: when: the last rule must be the catch-all \"true\", got %q (add a final rule such as {name: active, when: \"true\"})", where, spec.When)
		}
		e.names[spec.Name] = true
		e.rules = append(e.rules, compiledRule{name: spec.Name, expr: expr})
	}
	return e, nil
}

// Uses reports whether any rule's condition references the field (a rule
// field name such as "replenishment_due").
func (e *Engine) Uses(field string) bool {
	used := false
	for _, r := range e.rules {
		walk(r.expr, func(x node) {
			var f *fieldDef
			switch x := x.(type) {
			case *numCmp:
				f = x.f
			case *numIn:
				f = x.f
			case *strIn:
				f = x.f
			case *boolIs:
				f = x.f
			}
			if f != nil && f.name == field {
				used = true
			}
		})
	}
	return used
}

// ThresholdsFor returns, sorted and without repeats, the thresholds on a
// numeric field at which the decision for a customer now in the segment
// current can flip: the relaxed thresholds of current's own rule (its
// hysteresis) and the plain thresholds of every other rule.
func (e *Engine) ThresholdsFor(field, current string) []float64 {
	var out []float64
	for _, r := range e.rules {
		walk(r.expr, func(x node) {
			if c, ok := x.(*numCmp); ok && c.f.name == field {
				if r.name == current {
					out = append(out, c.relaxed)
				} else {
					out = append(out, c.threshold)
				}
			}
		})
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Segments returns the rule (segment) names in order.
func (e *Engine) Segments() []string {
	out := make([]string, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.name
	}
	return out
}

// Match returns the segment of the first rule c matches and its reason,
// applying hysteresis to the rule named current but not the minimum dwell
// time. Decide is Match plus the dwell time.
func (e *Engine) Match(c Customer, current string) (string, Reason) {
	// The rules take the customer's address through an interface, which
	// would move every copy of c to the heap: evaluate a pooled copy.
	p := customers.Get().(*Customer)
	*p = c
	r := e.rules[e.which(p, current)]
	reason := Reason{Rule: r.name, Values: values(r.expr, p, r.name == current)}
	*p = Customer{}
	customers.Put(p)
	return r.name, reason
}

// customers are the scratch copies Match evaluates.
var customers = sync.Pool{New: func() any { return new(Customer) }}

// Which is Match without the reason: the segment only, with no allocation
// (what a due-time probe needs).
func (e *Engine) Which(c *Customer, current string) string {
	return e.rules[e.which(c, current)].name
}

// which is the index of the first rule c matches. Compile ensures the last
// rule is the catch-all, so there always is one.
func (e *Engine) which(c *Customer, current string) int {
	for i, r := range e.rules[:len(e.rules)-1] {
		if r.expr.eval(c, r.name == current) {
			return i
		}
	}
	return len(e.rules) - 1
}

// Decide returns the segment of c, given its current segment ("" if none)
// and when it entered it (zero if unknown), as of now.
//
// The rule named current is evaluated with the hysteresis margins; the
// others strictly; the first match decides. r names that rule, with the
// values of the fields it references and its thresholds as applied.
//
// When the decided segment differs from current but the customer has been
// in current for less than MinDwell (now - since < MinDwell), Decide keeps
// current and returns holdUntil = since + MinDwell, at which time the
// caller must decide again; r.Rule is then current and r.Values holds
// "min_dwell_hours" and "dwell_hours" (time in the segment so far). Otherwise
// holdUntil is zero. There is no hold when current is "" or not a segment
// of this rule set (an erased customer, a segment removed by a rule change),
// or when since is zero.
func (e *Engine) Decide(c Customer, current string, since, now time.Time) (segment string, r Reason, holdUntil time.Time) {
	segment, r = e.Match(c, current)
	if segment == current || current == "" || !e.names[current] || e.minDwell <= 0 || since.IsZero() {
		return segment, r, time.Time{}
	}
	if dwell := now.Sub(since); dwell < e.minDwell {
		return current, Reason{Rule: current, Values: map[string]float64{
			"min_dwell_hours": e.minDwell.Hours(),
			"dwell_hours":     dwell.Hours(),
		}}, since.Add(e.minDwell)
	}
	return segment, r, time.Time{}
}
