package event

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends c's JSON encoding to b: the same bytes json.Marshal
// writes for it (field order, HTML-safe string escaping, float format,
// sorted reason keys), without reflection. The service encodes one record
// per segment change with it.
func (c *SegmentChange) AppendJSON(b []byte) []byte {
	b = appendHead(b, c.EventID, c.Type, c.CustomerID, c.Version)
	b = append(b, `,"previous_segment":`...)
	if c.PreviousSegment == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, *c.PreviousSegment)
	}
	b = append(b, `,"segment":`...)
	b = appendJSONString(b, c.Segment)
	b = append(b, `,"cause":`...)
	b = appendJSONString(b, string(c.Cause))
	b = append(b, `,"occurred_at":"`...)
	b = c.OccurredAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","clv":{"historic":`...)
	b = appendJSONString(b, c.CLV.Historic)
	b = append(b, `,"historic_margin":`...)
	b = appendJSONString(b, c.CLV.HistoricMargin)
	b = append(b, `,"predicted":`...)
	b = appendJSONString(b, c.CLV.Predicted)
	b = append(b, `,"currency":`...)
	b = appendJSONString(b, c.CLV.Currency)
	b = append(b, `},"churn_risk":{"probability":`...)
	b = appendJSONFloat(b, c.ChurnRisk.Probability)
	b = append(b, `,"level":`...)
	b = appendJSONString(b, c.ChurnRisk.Level)
	b = append(b, `,"factors":`...)
	if c.ChurnRisk.Factors == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, f := range c.ChurnRisk.Factors {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendJSONString(b, f.Name)
			b = append(b, `,"contribution":`...)
			b = appendJSONFloat(b, f.Contribution)
			b = append(b, `,"value":`...)
			b = appendJSONFloat(b, f.Value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `},"loyalty_tier":`...)
	b = appendJSONString(b, c.LoyaltyTier)
	b = append(b, `,"model_version":`...)
	b = appendJSONString(b, c.ModelVersion)
	b = append(b, `,"reason":{"rule":`...)
	b = appendJSONString(b, c.Reason.Rule)
	b = append(b, `,"values":`...)
	if c.Reason.Values == nil {
		b = append(b, "null"...)
	} else {
		var buf [16]string
		keys := buf[:0]
		for k := range c.Reason.Values {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONFloat(b, c.Reason.Values[k])
		}
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

// appendJSONFloat writes f as encoding/json does: the shortest decimal
// that reads back as f, in exponent form only below 1e-6 or from 1e21 on,
// with a one-digit negative exponent written as e-7, not e-07. The
// published figures are finite (rounded, NaN and ±Inf mapped to 0); a
// non-finite value is written as 0 rather than as invalid JSON.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if m := len(b) - n; m >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
			b[len(b)-2] = b[len(b)-1]
			b = b[:len(b)-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// plainJSON reports the ASCII bytes a JSON string holds as they are: not a
// control character, a quote, a backslash or an HTML-sensitive <, > or &.
var plainJSON = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString writes s as a JSON string the way encoding/json does:
// quotes and backslashes escaped, \b \f \n \r \t short, other control
// characters and the HTML-sensitive <, > and & as \u00XX, U+2028 and
// U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if plainJSON[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendJSON appends c's JSON encoding to b: the same bytes json.Marshal
// writes for it, without reflection.
func (c *TierChange) AppendJSON(b []byte) []byte {
	b = appendHead(b, c.EventID, c.Type, c.CustomerID, c.Version)
	b = append(b, `,"previous_tier":`...)
	b = appendJSONString(b, c.PreviousTier)
	b = append(b, `,"tier":`...)
	b = appendJSONString(b, c.Tier)
	b = append(b, `,"cause":`...)
	b = appendJSONString(b, string(c.Cause))
	b = append(b, `,"occurred_at":"`...)
	b = c.OccurredAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","trailing_year_spend":`...)
	b = appendJSONString(b, c.TrailingYearSpend)
	b = append(b, `,"currency":`...)
	b = appendJSONString(b, c.Currency)
	return append(b, '}')
}

// AppendJSON appends m's JSON encoding to b: the same bytes json.Marshal
// writes for it, without reflection.
func (m *Milestone) AppendJSON(b []byte) []byte {
	b = appendHead(b, m.EventID, m.Type, m.CustomerID, m.Version)
	b = append(b, `,"threshold":`...)
	b = appendJSONString(b, m.Threshold)
	b = append(b, `,"cumulative_spend":`...)
	b = appendJSONString(b, m.CumulativeSpend)
	b = append(b, `,"currency":`...)
	b = appendJSONString(b, m.Currency)
	b = append(b, `,"occurred_at":"`...)
	b = m.OccurredAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

// appendHead opens the JSON object of an output record with the fields
// every one of them starts with.
func appendHead(b []byte, eventID, typ, customerID string, version uint64) []byte {
	b = append(b, `{"event_id":`...)
	b = appendJSONString(b, eventID)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, typ)
	b = append(b, `,"customer_id":`...)
	b = appendJSONString(b, customerID)
	b = append(b, `,"version":`...)
	return strconv.AppendUint(b, version, 10)
}
