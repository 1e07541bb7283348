package obstest

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// An alert expression such as `sum(x) > 1000 and deriv(...) > 0` returns
// nothing while the alert is not firing, so "returns data" cannot be asked
// of it on a healthy system. What can be asked is that the signals it
// compares exist: signals splits an expression at its top-level set
// operators (or, and, unless) and comparisons, recursively, unwraps
// parentheses and absent(), and returns the operands that select a metric.
// Thresholds (operands without a metric) are dropped.
func signals(expr string) []string {
	expr = strings.TrimSpace(expr)
	for _, level := range [][]string{{"or"}, {"and", "unless"}, {"==", "!=", ">=", "<=", ">", "<"}} {
		parts := splitTop(expr, level)
		if len(parts) > 1 {
			var out []string
			for _, p := range parts {
				out = append(out, signals(stripModifiers(p))...)
			}
			return out
		}
	}
	if inner, ok := unwrap(expr, ""); ok {
		return signals(inner)
	}
	for _, fn := range []string{"absent", "absent_over_time"} {
		if inner, ok := unwrap(expr, fn); ok {
			return signals(inner)
		}
	}
	if !selectsMetric(expr) {
		return nil
	}
	return []string{expr}
}

var metricRef = regexp.MustCompile(`\b(clvstream_[a-z0-9_]+|up|process_[a-z0-9_]+|go_[a-z0-9_]+)\b`)

// selectsMetric reports whether expr names a metric outside string literals.
func selectsMetric(expr string) bool { return len(metricNames(expr)) > 0 }

// metricNames returns the metric names an expression selects (clvstream_*,
// up, process_*, go_*), ignoring label values and strings.
func metricNames(expr string) []string {
	var b strings.Builder
	depthBrace := 0
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j := skipString(expr, i)
			b.WriteString(strings.Repeat(" ", j-i))
			i = j - 1
			continue
		case c == '{':
			depthBrace++
		case c == '}':
			depthBrace--
		}
		if depthBrace > 0 {
			b.WriteByte(' ') // label names are not metrics
			continue
		}
		b.WriteByte(c)
	}
	var out []string
	for _, m := range metricRef.FindAllString(b.String(), -1) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// skipString returns the index just past the string literal starting at i.
func skipString(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		if s[j] == '\\' && q != '`' {
			j++
			continue
		}
		if s[j] == q {
			return j + 1
		}
	}
	return len(s)
}

// splitTop splits expr at every occurrence of one of ops outside brackets
// and strings. Word operators must stand alone.
func splitTop(expr string, ops []string) []string {
	var parts []string
	depth, last := 0, 0
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch c {
		case '"', '\'', '`':
			i = skipString(expr, i) - 1
			continue
		case '(', '{', '[':
			depth++
			continue
		case ')', '}', ']':
			depth--
			continue
		}
		if depth != 0 {
			continue
		}
		for _, op := range ops {
			if !strings.HasPrefix(expr[i:], op) {
				continue
			}
			if isWord(op) {
				if (i > 0 && isIdent(expr[i-1])) || (i+len(op) < len(expr) && isIdent(expr[i+len(op)])) {
					continue
				}
			} else if (op == ">" || op == "<") && i+1 < len(expr) && expr[i+1] == '=' {
				continue // >= and <= are matched as such
			} else if (op == "==" || op == "!=") && i+2 < len(expr) && expr[i+2] == '~' {
				continue
			}
			parts = append(parts, expr[last:i])
			last = i + len(op)
			i = last - 1
			break
		}
	}
	if parts == nil {
		return []string{expr}
	}
	return append(parts, expr[last:])
}

// stripModifiers drops the binary-operator modifiers a right-hand operand
// starts with: bool, on(...), ignoring(...), group_left(...), group_right(...).
func stripModifiers(s string) string {
	s = strings.TrimSpace(s)
	for {
		trimmed := false
		for _, kw := range []string{"bool", "on", "ignoring", "group_left", "group_right"} {
			if !strings.HasPrefix(s, kw) || (len(s) > len(kw) && isIdent(s[len(kw)])) {
				continue
			}
			rest := strings.TrimSpace(s[len(kw):])
			if kw != "bool" && strings.HasPrefix(rest, "(") {
				if end := matching(rest, 0); end > 0 {
					rest = strings.TrimSpace(rest[end+1:])
				}
			}
			s, trimmed = rest, true
		}
		if !trimmed {
			return s
		}
	}
}

// unwrap returns the argument of fn(...) (or of (...) when fn is empty)
// when the parentheses enclose the whole expression.
func unwrap(expr, fn string) (string, bool) {
	if !strings.HasPrefix(expr, fn) {
		return "", false
	}
	rest := strings.TrimSpace(expr[len(fn):])
	if !strings.HasPrefix(rest, "(") {
		return "", false
	}
	if end := matching(rest, 0); end == len(rest)-1 {
		return strings.TrimSpace(rest[1:end]), true
	}
	return "", false
}

// matching returns the index of the bracket closing the one at open.
func matching(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '"', '\'', '`':
			i = skipString(s, i) - 1
		case '(', '{', '[':
			depth++
		case ')', '}', ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func isWord(op string) bool { return op[0] >= 'a' && op[0] <= 'z' }

func isIdent(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func TestSignals(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up{job="clvstream"} == 0`, []string{`up{job="clvstream"}`}},
		{`absent(up{job="clvstream"} == 1)`, []string{`up{job="clvstream"}`}},
		{"sum by (topic) (clvstream_consumer_lag_records) > 1000\nand\nsum by (topic) (deriv(clvstream_consumer_lag_records[10m])) > 0",
			[]string{"sum by (topic) (clvstream_consumer_lag_records)", "sum by (topic) (deriv(clvstream_consumer_lag_records[10m]))"}},
		{`max by (instance) (clvstream_assigned_partitions) == 0 and on () sum(clvstream_assigned_partitions) > 0`,
			[]string{"max by (instance) (clvstream_assigned_partitions)", "sum(clvstream_assigned_partitions)"}},
		{`sum(rate(clvstream_dead_letter_total[10m])) / sum(rate(clvstream_records_total[10m])) > 0.01`,
			[]string{"sum(rate(clvstream_dead_letter_total[10m])) / sum(rate(clvstream_records_total[10m]))"}},
		{`time() - max(clvstream_model_fitted_timestamp_seconds) > 2 * 6 * 3600`,
			[]string{"time() - max(clvstream_model_fitted_timestamp_seconds)"}},
		{`sum(increase(clvstream_model_fits_total{outcome=~"a|b"}[1h])) > bool 0`,
			[]string{`sum(increase(clvstream_model_fits_total{outcome=~"a|b"}[1h]))`}},
		{`(clvstream_customers >= 1) or clvstream_active_customers`,
			[]string{"clvstream_customers", "clvstream_active_customers"}},
		{`label_replace(max(clvstream_customers), "le", "up", "", "")`,
			[]string{`label_replace(max(clvstream_customers), "le", "up", "", "")`}},
	} {
		got := signals(tc.expr)
		if !slices.Equal(got, tc.want) {
			t.Errorf("signals(%q)\n got %q\nwant %q", tc.expr, got, tc.want)
		}
	}
	if got := metricNames(`sum by (le) (rate(clvstream_batch_duration_seconds_bucket{instance=~"up"}[1m])) or up`); !slices.Equal(got, []string{"clvstream_batch_duration_seconds_bucket", "up"}) {
		t.Errorf("metricNames: %q", got)
	}
}
