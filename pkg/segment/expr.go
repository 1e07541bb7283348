package segment

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// This file holds the expression language of rule conditions (the `when`
// of a RuleSpec): a hand-written lexer, a recursive-descent parser and the
// evaluator of the resulting tree. See doc_rules.go for the language.

// fieldKind is the type of a Customer field as rules see it.
type fieldKind uint8

const (
	numField fieldKind = iota
	strField
	boolField
)

func (k fieldKind) String() string {
	switch k {
	case numField:
		return "numeric"
	case strField:
		return "string"
	default:
		return "boolean"
	}
}

// fieldDef describes one field a rule can reference. Exactly one of num,
// str and boolean is set, matching kind.
type fieldDef struct {
	name    string
	kind    fieldKind
	num     func(*Customer) float64
	str     func(*Customer) string
	boolean func(*Customer) bool
	values  []string // allowed values of a string field; nil when open
}

// fieldList are the Customer fields rules can reference, in the order of
// Customer; fields indexes them by name.
var fieldList = []*fieldDef{
	{name: "clv", kind: numField, num: func(c *Customer) float64 { return c.CLV }},
	{name: "clv_percentile", kind: numField, num: func(c *Customer) float64 { return c.CLVPercentile }},
	{name: "historic_clv", kind: numField, num: func(c *Customer) float64 { return c.HistoricCLV }},
	{name: "net_revenue", kind: numField, num: func(c *Customer) float64 { return c.NetRevenue }},
	{name: "churn_probability", kind: numField, num: func(c *Customer) float64 { return c.ChurnProbability }},
	{name: "churn_level", kind: strField, str: func(c *Customer) string { return c.ChurnLevel }, values: []string{"low", "medium", "high"}},
	{name: "tier", kind: strField, str: func(c *Customer) string { return c.Tier }},
	{name: "rfm", kind: numField, num: func(c *Customer) float64 { return float64(c.RFM) }},
	{name: "r", kind: numField, num: func(c *Customer) float64 { return float64(c.R) }},
	{name: "f", kind: numField, num: func(c *Customer) float64 { return float64(c.F) }},
	{name: "m", kind: numField, num: func(c *Customer) float64 { return float64(c.M) }},
	{name: "recency_days", kind: numField, num: func(c *Customer) float64 { return c.RecencyDays }},
	{name: "tenure_days", kind: numField, num: func(c *Customer) float64 { return c.TenureDays }},
	{name: "last_gap_days", kind: numField, num: func(c *Customer) float64 { return c.LastGapDays }},
	{name: "frequency", kind: numField, num: func(c *Customer) float64 { return float64(c.Frequency) }},
	{name: "purchase_days", kind: numField, num: func(c *Customer) float64 { return float64(c.PurchaseDays) }},
	{name: "open_tickets", kind: numField, num: func(c *Customer) float64 { return float64(c.OpenTickets) }},
	{name: "replenishment_due", kind: boolField, boolean: func(c *Customer) bool { return c.ReplenishmentDue }},
	{name: "subscription", kind: strField, str: func(c *Customer) string { return subscriptionStatus(c.Subscription) }, values: []string{"none", "active", "cancelling", "cancelled"}},
	{name: "renewal_probability", kind: numField, num: func(c *Customer) float64 { return c.RenewalProbability }},
	{name: "subscription_renewals", kind: numField, num: func(c *Customer) float64 { return float64(c.SubscriptionRenewals) }},
	{name: "channel", kind: strField, str: func(c *Customer) string { return c.Channel }},
}

var fields = func() map[string]*fieldDef {
	m := make(map[string]*fieldDef, len(fieldList))
	for _, d := range fieldList {
		m[d.name] = d
	}
	return m
}()

// fieldNames lists the field names in the order of Customer.
func fieldNames() []string {
	names := make([]string, len(fieldList))
	for i, d := range fieldList {
		names[i] = d.name
	}
	return names
}

// ---- lexer ----

type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // field name, keyword or bare string value
	tNumber         // numeric literal
	tString         // quoted string literal
	tOp             // >= > <= < == !=
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
)

type token struct {
	kind tokKind
	text string // identifier, operator, literal text (without quotes)
	num  float64
	pos  int // byte offset in the source
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tString:
		return strconv.Quote(t.text)
	default:
		return "\"" + t.text + "\""
	}
}

// exprError is a syntax or type error at a position of the source.
type exprError struct {
	pos int
	msg string
}

func (e *exprError) Error() string { return fmt.Sprintf("column %d: %s", e.pos+1, e.msg) }

func errAt(pos int, format string, args ...any) error {
	return &exprError{pos: pos, msg: fmt.Sprintf(format, args...)}
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' }
func isDigit(b byte) bool  { return b >= '0' && b <= '9' }

func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{kind: tLParen, text: "(", pos: i})
			i++
		case c == ')':
			toks = append(toks, token{kind: tRParen, text: ")", pos: i})
			i++
		case c == '[':
			toks = append(toks, token{kind: tLBrack, text: "[", pos: i})
			i++
		case c == ']':
			toks = append(toks, token{kind: tRBrack, text: "]", pos: i})
			i++
		case c == ',':
			toks = append(toks, token{kind: tComma, text: ",", pos: i})
			i++
		case c == '>' || c == '<' || c == '=' || c == '!':
			if i+1 < len(src) && src[i+1] == '=' {
				toks = append(toks, token{kind: tOp, text: src[i : i+2], pos: i})
				i += 2
				continue
			}
			switch c {
			case '=':
				return nil, errAt(i, "bad operator \"=\": use == to compare")
			case '!':
				return nil, errAt(i, "bad operator \"!\": use not")
			}
			toks = append(toks, token{kind: tOp, text: string(c), pos: i})
			i++
		case c == '&' || c == '|':
			word := "and"
			if c == '|' {
				word = "or"
			}
			return nil, errAt(i, "bad operator %q: use %s", c, word)
		case c == '"' || c == '\'':
			end := strings.IndexByte(src[i+1:], c)
			if end < 0 {
				return nil, errAt(i, "unterminated string")
			}
			toks = append(toks, token{kind: tString, text: src[i+1 : i+1+end], pos: i})
			i += end + 2
		case isDigit(c) || c == '.' || (c == '-' || c == '+') && i+1 < len(src) && (isDigit(src[i+1]) || src[i+1] == '.'):
			j := i + 1
			for j < len(src) {
				d := src[j]
				if isDigit(d) || isLetter(d) || d == '.' || (d == '-' || d == '+') && (src[j-1] == 'e' || src[j-1] == 'E') {
					j++
					continue
				}
				break
			}
			text := src[i:j]
			v, err := strconv.ParseFloat(text, 64)
			if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || strings.ContainsAny(text, "_xXpP") {
				return nil, errAt(i, "bad number %q", text)
			}
			toks = append(toks, token{kind: tNumber, text: text, num: v, pos: i})
			i = j
		case isLetter(c):
			j := i + 1
			for j < len(src) && (isLetter(src[j]) || isDigit(src[j]) || src[j] == '-') {
				j++
			}
			toks = append(toks, token{kind: tIdent, text: src[i:j], pos: i})
			i = j
		default:
			return nil, errAt(i, "unexpected character %q", c)
		}
	}
	toks = append(toks, token{kind: tEOF, pos: len(src)})
	return toks, nil
}

// ---- tree ----

// node is a compiled condition. eval reports whether c matches; with relax
// set, comparisons are evaluated against their relaxed thresholds (the
// hysteresis of the customer's current segment).
type node interface {
	eval(c *Customer, relax bool) bool
	String() string
}

type constNode bool

func (n constNode) eval(*Customer, bool) bool { return bool(n) }
func (n constNode) String() string            { return strconv.FormatBool(bool(n)) }

type andNode struct{ l, r node }

func (n *andNode) eval(c *Customer, relax bool) bool { return n.l.eval(c, relax) && n.r.eval(c, relax) }
func (n *andNode) String() string                    { return "(" + n.l.String() + " and " + n.r.String() + ")" }

type orNode struct{ l, r node }

func (n *orNode) eval(c *Customer, relax bool) bool { return n.l.eval(c, relax) || n.r.eval(c, relax) }
func (n *orNode) String() string                    { return "(" + n.l.String() + " or " + n.r.String() + ")" }

type notNode struct{ x node }

func (n *notNode) eval(c *Customer, relax bool) bool { return !n.x.eval(c, relax) }
func (n *notNode) String() string                    { return "not " + n.x.String() }

// numCmp is `field op threshold` on a numeric field. relaxed is the
// threshold used when the rule is the customer's current segment: equal to
// threshold when the field has no hysteresis margin or op is == or !=.
type numCmp struct {
	f                  *fieldDef
	op                 string
	threshold, relaxed float64
	key                string // Reason.Values key of the threshold, e.g. "churn_probability>="
}

func (n *numCmp) eval(c *Customer, relax bool) bool {
	x, t := n.f.num(c), n.threshold
	if relax {
		t = n.relaxed
	}
	switch n.op {
	case ">=":
		return x >= t
	case ">":
		return x > t
	case "<=":
		return x <= t
	case "<":
		return x < t
	case "==":
		return x == t
	default: // "!="
		return x != t
	}
}

func (n *numCmp) String() string {
	s := n.f.name + " " + n.op + " " + strconv.FormatFloat(n.threshold, 'g', -1, 64)
	if n.relaxed != n.threshold {
		s += "~" + strconv.FormatFloat(n.relaxed, 'g', -1, 64)
	}
	return s
}

// numIn is `field in [v1, v2, ...]` on a numeric field.
type numIn struct {
	f    *fieldDef
	vals []float64
}

func (n *numIn) eval(c *Customer, _ bool) bool {
	x := n.f.num(c)
	for _, v := range n.vals {
		if x == v {
			return true
		}
	}
	return false
}

func (n *numIn) String() string {
	parts := make([]string, len(n.vals))
	for i, v := range n.vals {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return n.f.name + " in [" + strings.Join(parts, ", ") + "]"
}

// strIn is `field == v`, `field != v` (negate) or `field in [...]` on a
// string field.
type strIn struct {
	f      *fieldDef
	vals   []string
	negate bool
	op     string // "==", "!=" or "in", for String
}

func (n *strIn) eval(c *Customer, _ bool) bool {
	x := n.f.str(c)
	for _, v := range n.vals {
		if x == v {
			return !n.negate
		}
	}
	return n.negate
}

func (n *strIn) String() string {
	if n.op == "in" {
		return n.f.name + " in [" + strings.Join(n.vals, ", ") + "]"
	}
	return n.f.name + " " + n.op + " " + n.vals[0]
}

// boolIs is a boolean field, bare (want true) or compared with a literal.
type boolIs struct {
	f    *fieldDef
	want bool
}

func (n *boolIs) eval(c *Customer, _ bool) bool { return n.f.boolean(c) == n.want }
func (n *boolIs) String() string {
	if n.want {
		return n.f.name
	}
	return n.f.name + " == false"
}

// ---- parser ----

// parser turns tokens into a tree. hyst maps field names to hysteresis
// margins; comparisons get their relaxed thresholds at parse time, in the
// direction given by the number of enclosing nots.
type parser struct {
	toks []token
	i    int
	hyst map[string]float64
}

// parseExpr parses a condition. Relaxed thresholds are computed from hyst
// (nil for none).
func parseExpr(src string, hyst map[string]float64) (node, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errAt(0, "empty condition (use true for a catch-all)")
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, hyst: hyst}
	n, err := p.or(false)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen {
			return nil, errAt(t.pos, "unbalanced \")\"")
		}
		return nil, errAt(t.pos, "unexpected %s after a complete condition (missing and/or?)", t.describe())
	}
	assignKeys(n)
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}
func (p *parser) isKeyword(word string) bool {
	t := p.peek()
	return t.kind == tIdent && t.text == word
}

// or := and { "or" and }
func (p *parser) or(neg bool) (node, error) {
	l, err := p.and(neg)
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		p.next()
		r, err := p.and(neg)
		if err != nil {
			return nil, err
		}
		l = &orNode{l, r}
	}
	return l, nil
}

// and := unary { "and" unary }
func (p *parser) and(neg bool) (node, error) {
	l, err := p.unary(neg)
	if err != nil {
		return nil, err
	}
	for p.isKeyword("and") {
		p.next()
		r, err := p.unary(neg)
		if err != nil {
			return nil, err
		}
		l = &andNode{l, r}
	}
	return l, nil
}

// unary := "not" unary | primary
func (p *parser) unary(neg bool) (node, error) {
	if p.isKeyword("not") {
		p.next()
		x, err := p.unary(!neg)
		if err != nil {
			return nil, err
		}
		return &notNode{x}, nil
	}
	return p.primary(neg)
}

// primary := "(" or ")" | "true" | "false" | comparison
func (p *parser) primary(neg bool) (node, error) {
	t := p.next()
	switch t.kind {
	case tLParen:
		n, err := p.or(neg)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, errAt(c.pos, "expected \")\" to close \"(\" at column %d, got %s", t.pos+1, c.describe())
		}
		return n, nil
	case tIdent:
		switch t.text {
		case "true":
			return constNode(true), nil
		case "false":
			return constNode(false), nil
		case "and", "or", "in":
			return nil, errAt(t.pos, "expected a condition before %q", t.text)
		}
		return p.comparison(t, neg)
	case tEOF:
		return nil, errAt(t.pos, "expected a condition, got end of expression")
	default:
		return nil, errAt(t.pos, "expected a field, \"(\", not or true, got %s", t.describe())
	}
}

// comparison parses what follows the field name ft.
func (p *parser) comparison(ft token, neg bool) (node, error) {
	f, ok := fields[ft.text]
	if !ok {
		msg := fmt.Sprintf("unknown field %q", ft.text)
		if s := suggest(ft.text); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else {
			msg += " (fields: " + strings.Join(fieldNames(), ", ") + ")"
		}
		return nil, errAt(ft.pos, "%s", msg)
	}
	op := p.peek()
	isIn := op.kind == tIdent && op.text == "in"
	switch f.kind {
	case boolField:
		if op.kind != tOp {
			if isIn {
				return nil, errAt(op.pos, "bad operator \"in\" for boolean field %s", f.name)
			}
			return &boolIs{f: f, want: true}, nil // bare
		}
		p.next()
		if op.text != "==" && op.text != "!=" {
			return nil, errAt(op.pos, "bad operator %q for boolean field %s (use it bare, or == true / == false)", op.text, f.name)
		}
		v := p.next()
		if v.kind != tIdent || v.text != "true" && v.text != "false" {
			return nil, errAt(v.pos, "boolean field %s compares with true or false, got %s", f.name, v.describe())
		}
		return &boolIs{f: f, want: (v.text == "true") == (op.text == "==")}, nil

	case strField:
		if op.kind != tOp && !isIn {
			return nil, errAt(op.pos, "string field %s needs ==, != or in, got %s", f.name, op.describe())
		}
		p.next()
		if isIn {
			vals, err := parseList(p, func() (string, error) { return p.strValue(f) })
			if err != nil {
				return nil, err
			}
			return &strIn{f: f, vals: vals, op: "in"}, nil
		}
		if op.text != "==" && op.text != "!=" {
			return nil, errAt(op.pos, "bad operator %q for string field %s (use ==, != or in)", op.text, f.name)
		}
		v, err := p.strValue(f)
		if err != nil {
			return nil, err
		}
		return &strIn{f: f, vals: []string{v}, negate: op.text == "!=", op: op.text}, nil

	default: // numeric
		if op.kind != tOp && !isIn {
			return nil, errAt(op.pos, "numeric field %s needs a comparison (>=, >, <=, <, ==, != or in), got %s", f.name, op.describe())
		}
		p.next()
		if isIn {
			vals, err := parseList(p, func() (float64, error) { return p.number(f) })
			if err != nil {
				return nil, err
			}
			return &numIn{f: f, vals: vals}, nil
		}
		t, err := p.number(f)
		if err != nil {
			return nil, err
		}
		return &numCmp{f: f, op: op.text, threshold: t, relaxed: relax(t, op.text, p.hyst[f.name], neg)}, nil
	}
}

func (p *parser) number(f *fieldDef) (float64, error) {
	v := p.next()
	if v.kind != tNumber {
		return 0, errAt(v.pos, "numeric field %s compares with a number, got %s", f.name, v.describe())
	}
	return v.num, nil
}

func (p *parser) strValue(f *fieldDef) (string, error) {
	v := p.next()
	if v.kind != tString && (v.kind != tIdent || isReserved(v.text)) {
		return "", errAt(v.pos, "string field %s compares with a word or a quoted string, got %s", f.name, v.describe())
	}
	if f.values != nil && !slices.Contains(f.values, v.text) {
		return "", errAt(v.pos, "%s has no value %q (values: %s)", f.name, v.text, strings.Join(f.values, ", "))
	}
	return v.text, nil
}

// parseList parses "[" item { "," item } "]" (a function, as methods
// cannot have type parameters).
func parseList[T any](p *parser, item func() (T, error)) ([]T, error) {
	open := p.next()
	if open.kind != tLBrack {
		return nil, errAt(open.pos, "expected \"[\" after in, got %s", open.describe())
	}
	if p.peek().kind == tRBrack {
		return nil, errAt(p.peek().pos, "empty in-list")
	}
	var out []T
	for {
		v, err := item()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		switch t := p.next(); t.kind {
		case tComma:
		case tRBrack:
			return out, nil
		default:
			return nil, errAt(t.pos, "expected \",\" or \"]\" in the in-list opened at column %d, got %s", open.pos+1, t.describe())
		}
	}
}

func isReserved(s string) bool {
	switch s {
	case "and", "or", "not", "in", "true", "false":
		return true
	}
	return false
}

// relax returns the threshold of `x op t` when the rule is the current
// segment and the field has margin h: moved by h in the direction that
// keeps the comparison's effect (true, or false under an odd number of
// nots) longer. == and != are never relaxed. The result is rounded to 12
// significant digits so that 0.5 - 0.05 is 0.45, not 0.44999999999999996.
func relax(t float64, op string, h float64, neg bool) float64 {
	if h == 0 {
		return t
	}
	var d float64
	switch op {
	case ">=", ">":
		d = -h
	case "<=", "<":
		d = h
	default:
		return t
	}
	if neg {
		d = -d
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(t+d, 'g', 12, 64), 64)
	return r
}

// assignKeys names the thresholds of a tree for Reason.Values: field+op
// ("churn_probability>="), with "#2", "#3"... for repeats.
func assignKeys(n node) {
	seen := map[string]int{}
	walk(n, func(x node) {
		if c, ok := x.(*numCmp); ok {
			k := c.f.name + c.op
			seen[k]++
			if seen[k] > 1 {
				k += "#" + strconv.Itoa(seen[k])
			}
			c.key = k
		}
	})
}

func walk(n node, fn func(node)) {
	fn(n)
	switch x := n.(type) {
	case *andNode:
		walk(x.l, fn)
		walk(x.r, fn)
	case *orNode:
		walk(x.l, fn)
		walk(x.r, fn)
	case *notNode:
		walk(x.x, fn)
	}
}

// values returns the Reason.Values of a tree for c: every numeric or
// boolean field it references (booleans as 0 or 1) and the thresholds of
// its comparisons as used (relaxed when relax is set). nil when the tree
// references no field.
func values(n node, c *Customer, relax bool) map[string]float64 {
	var m map[string]float64
	set := func(k string, v float64) {
		if m == nil {
			m = map[string]float64{}
		}
		m[k] = v
	}
	walk(n, func(x node) {
		switch x := x.(type) {
		case *numCmp:
			set(x.f.name, x.f.num(c))
			if relax {
				set(x.key, x.relaxed)
			} else {
				set(x.key, x.threshold)
			}
		case *numIn:
			set(x.f.name, x.f.num(c))
		case *boolIs:
			v := 0.0
			if x.f.boolean(c) {
				v = 1
			}
			set(x.f.name, v)
		}
	})
	return m
}

// suggest returns the field name an unknown one most likely meant, or "":
// the same name in another case or without underscores (ChurnProbability),
// a name containing it (revenue), an abbreviation of it (clv_pct) or one
// within a small edit distance (frequncy).
func suggest(name string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "_", "") }
	best, bestScore := "", 4
	for _, f := range fieldNames() {
		score := 4
		if d := EditDistance(name, f); d <= min(3, len(name)/3) {
			score = d
		}
		switch {
		case norm(name) == norm(f):
			score = 0
		case len(name) >= 3 && strings.Contains(f, strings.ToLower(name)):
			score = min(score, 1)
		case len(name) >= 3 && name[0] == f[0] && isSubsequence(strings.ToLower(name), f):
			score = min(score, 2)
		}
		if score < bestScore {
			best, bestScore = f, score
		}
	}
	return best
}

// isSubsequence reports whether the bytes of a occur in b in order.
func isSubsequence(a, b string) bool {
	i := 0
	for j := 0; i < len(a) && j < len(b); j++ {
		if a[i] == b[j] {
			i++
		}
	}
	return i == len(a)
}

// EditDistance is the Levenshtein distance between a and b (bytes), for
// "did you mean" suggestions.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// subscriptionStatus reads an empty status (a Customer built without
// subscription figures) as none.
func subscriptionStatus(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
