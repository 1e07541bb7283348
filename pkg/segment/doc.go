// Package segment assigns customers to segments and loyalty tiers, scores
// RFM and detects spend milestones. All of it is pure and deterministic;
// the scorer (internal/scoring) computes the figures and schedules the
// re-scorings at which a time-driven change can happen.
//
// # Segment rules
//
// The segment of a customer is decided by an ordered list of rules (RuleSet,
// usually YAML; DefaultRuleSet is the embedded default_rules.yaml). Each rule
// has a name (the segment), a condition (when) and a description. Rules are
// tried in order over the customer's computed figures (Customer) and the
// first whose condition holds names the segment; the last rule must be the
// catch-all "true". Compile checks a rule set and returns an Engine, which is
// immutable and safe for concurrent use; Engine.Decide returns the segment,
// the Reason (the deciding rule and the values it looked at) and, when the
// minimum dwell time delays a change, the time to decide again.
//
// # Conditions
//
// A condition combines comparisons with and, or, not and parentheses; and
// binds tighter than or, not tighter than both, so
//
//	a or b and not c or d   is   a or (b and (not c)) or d
//
// Comparisons have a field on the left and a literal on the right:
//
//	numeric fields   field OP number        OP is >= > <= < == !=
//	                 field in [n1, n2, ...]
//	string fields    field == word   field != word   field in [w1, w2, ...]
//	boolean fields   field   field == true   field != false ...
//
// Numbers are decimal (500, 0.5, .5, -1, 1e3). A string value is a bare word
// (letters, digits, _ and -, not a keyword) or a quoted string ('gold plus'
// or "gold plus"). The literals true and false are conditions of their own.
// Keywords (and, or, not, in, true, false) are lower case. Errors carry the
// column and say what was expected (unknown fields come with a suggestion).
//
// Fields (see Customer; money in major units of the base currency):
//
//	clv, clv_percentile (0..100), historic_clv, net_revenue,
//	churn_probability (0..1), churn_level (low | medium | high; other
//	values are rejected), tier (string), rfm (3..15), r, f, m (1..5; all
//	0 before the first RFM model), recency_days, tenure_days,
//	last_gap_days, frequency (repeat purchase days), purchase_days,
//	open_tickets, replenishment_due (boolean), subscription (none |
//	active | cancelling | cancelled), renewal_probability (0..1, NaN
//	without a renewal model), subscription_renewals, channel (the
//	acquisition channel, "" when unknown)
//
// A comparison with NaN is false.
//
// # Hysteresis
//
// RuleSet.Hysteresis maps numeric fields to margins. When the rule named
// after the customer's current segment is evaluated, each comparison on a
// field with margin h is relaxed so the customer stays until the value is
// clearly back: x >= t becomes x >= t-h, x > t becomes x > t-h, x <= t
// becomes x <= t+h, x < t becomes x < t+h. Under an odd number of nots the
// shift goes the other way (not (x > t) becomes not (x > t+h)), which again
// keeps the customer in. == , != and in-lists are never relaxed. Relaxed
// thresholds are rounded to 12 significant digits (0.5 - 0.05 is 0.45).
// All other rules are evaluated strictly, so an earlier rule still takes the
// customer away as soon as it matches. With the defaults, a customer enters
// at-risk when churn_probability reaches 0.5 and leaves it only below 0.45.
//
// # Dwell time
//
// RuleSet.MinDwell is the least time a customer stays in a segment. When the
// rules decide a different segment less than MinDwell after the customer
// entered the current one, Decide keeps the current segment and returns
// holdUntil = entered + MinDwell; the caller re-scores the customer then
// (through the due-set), and the change happens if it still holds. Segment
// changes of one customer are therefore at least MinDwell apart. Erasure is
// not a rule and is applied by the caller regardless of dwell. A current
// segment that the rule set does not know (renamed or removed by a rule
// change) is not held.
//
// # Reasons
//
// Reason.Rule is the deciding rule; Reason.Values holds the value of every
// numeric or boolean field (as 0 or 1) the rule references and its
// thresholds as applied, keyed by field and operator ("churn_probability":
// 0.52, "churn_probability>=": 0.5; a relaxed threshold shows relaxed; a
// repeated field+operator gets "#2", "#3"). String fields are not in Values.
// When the dwell time holds a customer, Rule is the current segment and
// Values holds "min_dwell_hours" and "dwell_hours".
//
// # Tiers, RFM, milestones
//
// Loyalty tiers are bands of trailing-12-month spend (Tiers). RFM scores
// are quintiles against population cut points (CutPoints, refitted with the
// model). CrossedMilestones reports the cumulative-spend thresholds crossed
// upward by a change of net revenue.
package segment
