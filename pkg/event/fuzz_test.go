package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/clvstream/clvstream/pkg/event"
)

// The fuzz targets of the decoder check properties, not only "no panic":
//
//   - every rejection is an *Error with a known reason and a readable
//     message;
//   - every accepted Event satisfies the documented invariants (checkEvent),
//     including the per-event maximum amount;
//   - an accepted Event re-validates: written back as a plain Record (in
//     base-currency minor units) it decodes to the same Event;
//   - the decoder agrees with the reflection-based one it replaced
//     (LegacyDecode) on every input the old one handled unambiguously:
//     same Event, or same reason and field (and message, but for malformed
//     JSON). The only allowed differences are the strictness this decoder
//     added: duplicate member names, lone UTF-16 surrogate escapes,
//     amounts above the maximum, and member names that match a field only
//     case-insensitively (encoding/json matched them, this decoder ignores
//     them).
//
// Seed corpora are under testdata/fuzz/<FuzzName>; run one target with
// `go test -run '^$' -fuzz '^FuzzDecodeJSON$' -fuzztime 1m ./pkg/event/`, or
// all targets of the repository with scripts/fuzz.sh.

// fuzzDecoder is the decoder under fuzzing; its maximum amount is low
// enough that the fuzzer reaches it.
func fuzzDecoder(t testing.TB) *event.Decoder {
	t.Helper()
	return mustDecoder(t, event.Config{
		Rates:     map[string]string{"EUR": "1.08", "JPY": "0.0067", "KWD": "3.25", "GBP": "1.27"},
		Now:       func() time.Time { return testNow },
		MaxAmount: 1_000_000_00, // 1,000,000.00 USD
	})
}

// seedDecode adds the schema examples in the shape each target takes.
func seedDecode(f *testing.F, shape func(ex map[string]any, typ string)) {
	for _, s := range loadSchemas(f) {
		for _, ex := range examples(f, s) {
			shape(ex, s.name)
		}
	}
}

// FuzzDecodeJSON decodes plain JSON records (no headers; a body with
// "specversion" is a structured CloudEvent).
func FuzzDecodeJSON(f *testing.F) {
	seedDecode(f, func(ex map[string]any, _ string) { f.Add(marshal(f, ex)) })
	for _, s := range []string{
		`{"amount":1e400,"amount_minor":-9223372036854775808,"margin":"-0"}`,
		`{"type":"refund","amount":"0.001","currency":"KWD","order_id":"o","event_id":"e","customer_id":"c","occurred_at":"2025-01-01T00:00:00Z"}`,
		`{"event_id":"e-1","type":"purchase","customer_id":"c-1","occurred_at":"2025-03-01T12:00:00Z","order_id":"o","amount":"12.34","currency":"USD","customer_id":"c-2"}`,
		`{"event_id":"e\ud800","type":"email_sent","customer_id":"c\ud83d\ude00","occurred_at":"2025-03-01T12:00:00+01:00","message_id":"m"}`,
		`{"Event_ID":"e","TYPE":"email_sent","customer_id":"c","occurred_at":"2025-03-01T12:00:00.5Z","message_id":"m","x":{"a":[1,2,{"b":null}],"a":true}}`,
		`{"event_id":"e","type":"purchase","customer_id":"c","occurred_at":"2025-03-01T12:00:00Z","order_id":"o","amount_minor":100000001,"currency":"USD"}`,
		`{"event_id":"e","type":"ticket_resolved","customer_id":"c","occurred_at":"2025-02-29T12:00:00Z","ticket_id":"t","csat":5,"priority":"urgent"}`,
		"\xff{", `[]`, ` {"a":"\u0000"} `, `{"a":1}x`,
	} {
		f.Add([]byte(s))
	}
	d := fuzzDecoder(f)
	f.Fuzz(func(t *testing.T, value []byte) {
		checkDecode(t, d, value, nil)
	})
}

// FuzzDecodeStructured decodes CloudEvents in structured mode (the
// content-type header is application/cloudevents+json).
func FuzzDecodeStructured(f *testing.F) {
	seedDecode(f, func(ex map[string]any, typ string) {
		data := without(ex, "event_id", "type", "occurred_at")
		ce := map[string]any{"specversion": "1.0", "id": ex["event_id"], "type": "com.acme." + typ, "source": "/x",
			"time": ex["occurred_at"], "subject": ex["customer_id"], "datacontenttype": "application/json", "data": without(data, "customer_id")}
		f.Add(marshal(f, ce))
	})
	f.Add([]byte(`{"specversion":"1.0","id":"i","type":"purchase","time":"2025-03-01T12:00:00Z","subject":"s","data":{"order_id":"o","amount":"1","currency":"EUR","order_id":"p"}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"i","id":"j","type":"customer_erased","time":"2025-03-01T12:00:00Z","subject":"s"}`))
	f.Add([]byte(`{"specversion":"1.0","data_base64":"e30=","data":"x"}`))
	d := fuzzDecoder(f)
	ct := hdr("content-type", "application/cloudevents+json")
	f.Fuzz(func(t *testing.T, value []byte) {
		checkDecode(t, d, value, ct)
	})
}

// FuzzDecodeBinary decodes CloudEvents in binary mode: the attributes are
// ce_* headers and the value is the data object.
func FuzzDecodeBinary(f *testing.F) {
	seedDecode(f, func(ex map[string]any, typ string) {
		data := without(ex, "event_id", "type", "occurred_at")
		f.Add(marshal(f, data), ex["event_id"].(string), "com.acme."+typ, ex["occurred_at"].(string), "subject-1")
	})
	f.Add([]byte(``), "e", "io.clvstream.customer_erased", "2025-03-01T12:00:00Z", "c")
	f.Add([]byte(`{"ticket_id":"t","ticket_id":"u"}`), "e", "ticket_opened", "2025-03-01T12:00:00Z", "c")
	f.Add([]byte(`{"message_id":"\udc00"}`), "e\xff", "email_opened", "2025-03-01T12:00:00-01:30", "c")
	d := fuzzDecoder(f)
	f.Fuzz(func(t *testing.T, value []byte, id, typ, tm, subject string) {
		h := hdr("ce_specversion", "1.0", "ce_id", id, "ce_type", typ, "ce_time", tm, "ce_subject", subject)
		checkDecode(t, d, value, h)
	})
}

// checkDecode asserts the decoder's properties for one input.
func checkDecode(t *testing.T, d *event.Decoder, value []byte, headers []event.Header) {
	t.Helper()
	ev, err := d.Decode(value, headers)
	if err != nil {
		checkError(t, err)
	} else {
		checkEvent(t, ev, testNow.Add(event.DefaultMaxClockSkew))
		if ev.Amount > d.MaxAmount() || ev.Margin > d.MaxAmount() {
			t.Fatalf("accepted amount %d / margin %d above the maximum %d", ev.Amount, ev.Margin, d.MaxAmount())
		}
		revalidate(t, d, ev)
	}
	compareLegacy(t, d, value, headers, ev, err)
}

// checkError asserts what every rejection looks like.
func checkError(t *testing.T, err error) {
	t.Helper()
	var e *event.Error
	if !errors.As(err, &e) {
		t.Fatalf("Decode error %v has type %T, want *event.Error", err, err)
	}
	if !slices.Contains(event.Reasons, e.Reason) || e.Reason == event.ReasonMisrouted {
		t.Fatalf("Decode error has reason %q", e.Reason)
	}
	if e.Msg == "" || !utf8.ValidString(e.Error()) {
		t.Fatalf("Decode error message %q is empty or not UTF-8", e.Error())
	}
}

// revalidate writes ev back as a plain Record in base-currency minor units
// and checks that it decodes to the same Event.
func revalidate(t *testing.T, d *event.Decoder, ev event.Event) {
	t.Helper()
	r := event.Record{EventID: ev.ID, Type: ev.Type, CustomerID: ev.CustomerID, OccurredAt: ev.OccurredAt.Format(time.RFC3339Nano),
		OrderID: ev.OrderID, RefundID: ev.RefundID, TicketID: ev.TicketID, Priority: ev.Priority, CSAT: ev.CSAT,
		MessageID: ev.MessageID, Campaign: ev.Campaign, SurveyID: ev.SurveyID, Kind: ev.SurveyKind, Channel: ev.Channel}
	if ev.Type == event.SurveyResponded {
		score := ev.Score
		r.Score = &score
		if ev.CommentLength > 0 {
			n := ev.CommentLength
			r.CommentLength = &n
		}
	}
	want := ev
	if ev.Type == event.Purchase || ev.Type == event.Refund {
		amount := ev.Amount
		r.AmountMinor, r.Currency = &amount, d.BaseCurrency()
		want.Currency = d.BaseCurrency()
		if ev.HasMargin {
			margin := ev.Margin
			r.MarginMinor = &margin
		}
	}
	if sub := ev.Subscription; sub.ID != "" {
		r.SubscriptionID, r.Plan, r.Period = sub.ID, sub.Plan, sub.Period
		if sub.HasPrice {
			price := sub.Price
			r.PriceMinor, r.Currency = &price, d.BaseCurrency()
			want.Currency = d.BaseCurrency()
		}
	}
	if a := ev.Acquisition; a.Channel != "" {
		r.Channel, r.ReferrerID = a.Channel, a.ReferrerID
		if a.HasCost {
			cost := a.Cost
			r.AcquisitionCostMinor, r.Currency = &cost, d.BaseCurrency()
			want.Currency = d.BaseCurrency()
		}
	}
	if ev.Type == event.ReferralCredited {
		r.ReferredHash = event.HashHex(ev.Referred)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Decode(b, nil)
	if err != nil {
		t.Fatalf("decoded event %+v does not re-validate: Decode(%s): %v", ev, b, err)
	}
	if got != want {
		t.Fatalf("decoded event re-decodes differently:\n%+v\nwant\n%+v\nfrom %s", got, want, b)
	}
}

// compareLegacy checks the decoder against the one it replaced.
func compareLegacy(t *testing.T, d *event.Decoder, value []byte, headers []event.Header, ev event.Event, err error) {
	t.Helper()
	if foldedKeys(value) {
		return // encoding/json matched such names; see the comment at the top
	}
	lev, lerr := event.LegacyDecode(d, value, headers)
	if (err == nil && addedType(ev.Type)) || (lerr == nil && addedType(lev.Type)) {
		return // the legacy decoder knows no fields of the types added after it
	}
	var e, le *event.Error
	errors.As(err, &e)
	errors.As(lerr, &le)
	if e != nil && addedStrictness(e, value) {
		return
	}
	switch {
	case e == nil && le == nil:
		if ev != lev {
			t.Fatalf("decoders disagree on %q:\nnew    %+v\nlegacy %+v", value, ev, lev)
		}
	case e == nil || le == nil:
		t.Fatalf("decoders disagree on %q %v:\nnew    %+v, %v\nlegacy %+v, %v", value, headers, ev, err, lev, lerr)
	default:
		lmsg := strings.ReplaceAll(le.Msg, "something that is not JSON", "an object")
		if e.Reason != le.Reason || e.Field != le.Field || (e.Reason != event.ReasonMalformed && e.Msg != lmsg) {
			t.Fatalf("decoders reject %q differently:\nnew    %v\nlegacy %v", value, e, le)
		}
	}
}

// addedType reports whether t was added after the legacy decoder, which
// checks none of its fields.
func addedType(t event.Type) bool {
	switch t {
	case event.SubscriptionStarted, event.SubscriptionRenewed, event.SubscriptionCancelled, event.CustomerAcquired,
		event.ReferralCredited:
		return true
	}
	return false
}

// loneSurrogate matches a \u escape of a surrogate code unit.
var loneSurrogate = regexp.MustCompile(`\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}`)

// addedStrictness reports whether e is one of the rejections this decoder
// added over the legacy one, and the input has what it names.
func addedStrictness(e *event.Error, value []byte) bool {
	switch {
	case strings.Contains(e.Msg, "more than once") || strings.Contains(e.Msg, "duplicate member name"):
		return true
	case strings.Contains(e.Msg, "lone UTF-16 surrogate"):
		return loneSurrogate.Match(value)
	case strings.Contains(e.Msg, "above the maximum"):
		return true
	}
	return false
}

// foldedKeys reports whether a JSON value has a string (key or value) that
// equals a Record field or CloudEvents attribute name only when case is
// ignored, such as "Customer_ID". Unparseable values report false.
func foldedKeys(value []byte) bool {
	names := []string{"event_id", "type", "customer_id", "occurred_at", "order_id", "refund_id", "amount", "amount_minor",
		"currency", "margin", "margin_minor", "ticket_id", "priority", "csat", "message_id", "campaign",
		"survey_id", "kind", "score", "comment_length", "comment", "channel",
		"subscription_id", "plan", "period", "price", "price_minor", "referrer_id", "acquisition_cost", "acquisition_cost_minor",
		"specversion", "id", "time", "subject", "data", "data_base64", "datacontenttype"}
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber() // a number out of float64 range is still JSON
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return false
		}
		s, ok := tok.(string)
		if !ok {
			continue
		}
		for _, n := range names {
			if s != n && strings.EqualFold(s, n) {
				return true
			}
		}
	}
}

// FuzzParseDecimalMinor checks ParseDecimalMinor against exact big-number
// arithmetic and FormatMinor: an accepted string is exactly value/10^exp;
// formatting the result and parsing it again gives the same value; a
// rejection is for a reason the string has (syntax, too many fraction
// digits, out of range).
func FuzzParseDecimalMinor(f *testing.F) {
	for _, s := range []string{"12.34", "0", "-0.05", "007.5", "92233720368547758.07", "-92233720368547758.08",
		"92233720368547758.08", "1e3", "1.", ".5", "-", "+1", "1.234", "١٢", "9223372036854775807"} {
		for _, exp := range []uint8{0, 2, 3} {
			f.Add(s, exp)
		}
	}
	grammar := regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
	f.Fuzz(func(t *testing.T, s string, e uint8) {
		exp := int(e % 20) // 19 is out of range
		v, err := event.ParseDecimalMinor(s, exp)
		if exp > 18 {
			if err == nil {
				t.Fatalf("ParseDecimalMinor(%q, %d) accepted an exponent out of range", s, exp)
			}
			return
		}
		if !grammar.MatchString(s) {
			if err == nil {
				t.Fatalf("ParseDecimalMinor(%q, %d) = %d, accepted a string outside the grammar", s, exp, v)
			}
			return
		}
		_, frac, _ := strings.Cut(s, ".")
		exact, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("big.Rat rejects %q", s)
		}
		exact.Mul(exact, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
		fits := exact.IsInt() && exact.Num().IsInt64()
		switch {
		case len(frac) > exp:
			if err == nil {
				t.Fatalf("ParseDecimalMinor(%q, %d) = %d, accepted %d fraction digits", s, exp, v, len(frac))
			}
			return
		case !fits:
			if err == nil || !strings.Contains(err.Error(), "out of range") {
				t.Fatalf("ParseDecimalMinor(%q, %d) = %d, %v; want out of range", s, exp, v, err)
			}
			return
		case err != nil:
			t.Fatalf("ParseDecimalMinor(%q, %d): %v", s, exp, err)
		}
		if v != exact.Num().Int64() {
			t.Fatalf("ParseDecimalMinor(%q, %d) = %d, want %s", s, exp, v, exact.Num())
		}
		out := event.FormatMinor(v, exp)
		if back, err := event.ParseDecimalMinor(out, exp); err != nil || back != v {
			t.Fatalf("FormatMinor(%d, %d) = %q parses as %d, %v", v, exp, out, back, err)
		}
		if strings.Count(out, ".") != min(exp, 1) || (exp > 0 && len(out)-strings.IndexByte(out, '.')-1 != exp) {
			t.Fatalf("FormatMinor(%d, %d) = %q does not have %d fraction digits", v, exp, out, exp)
		}
	})
}

// FuzzConvertMinor checks the conversion by a rate table against exact
// rational arithmetic: the result is the exact product rounded half to
// even, and an overflow is reported exactly when that does not fit in an
// int64 (no wrap, no float).
func FuzzConvertMinor(f *testing.F) {
	for _, s := range []struct {
		minor int64
		rate  string
		cur   string
	}{
		{1000, "1.08", "EUR"}, {150, "0.0067", "JPY"}, {math.MaxInt64, "1.08", "EUR"}, {math.MinInt64, "3.25", "KWD"},
		{-5, "1.5", "CHF"}, {1, "0.000000000000000000000001", "EUR"}, {math.MaxInt64, "0.99999999999999999999", "GBP"},
		{7, "123456789012345678901234567890", "JPY"},
	} {
		f.Add(s.minor, s.rate, s.cur, "USD")
	}
	f.Add(int64(12345), "149.5", "USD", "JPY")
	f.Add(int64(-77777), "0.3065", "EUR", "KWD")
	f.Fuzz(func(t *testing.T, minor int64, rate, cur, base string) {
		if base == "" {
			base = event.DefaultBaseCurrency
		}
		if cur == base {
			return
		}
		d, err := event.NewDecoder(event.Config{BaseCurrency: base, Rates: map[string]string{cur: rate}})
		if err != nil {
			return // not a valid rate table
		}
		got, err := d.ConvertMinor(minor, cur)
		curExp, _ := event.CurrencyExponent(cur)
		baseExp, _ := event.CurrencyExponent(base)
		r, ok := new(big.Rat).SetString(rate)
		if !ok {
			t.Fatalf("NewDecoder accepted rate %q that big.Rat rejects", rate)
		}
		x := new(big.Rat).Mul(new(big.Rat).SetInt64(minor), r)
		shift := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(baseExp-curExp))), nil))
		if baseExp >= curExp {
			x.Mul(x, shift)
		} else {
			x.Quo(x, shift)
		}
		want := roundHalfEven(x)
		if !want.IsInt64() {
			var e *event.Error
			if !errors.As(err, &e) || e.Reason != event.ReasonInvalidField || !strings.Contains(e.Msg, "overflow") {
				t.Fatalf("ConvertMinor(%d, %s) at %s = %d, %v; want an overflow error (exact %s)", minor, cur, rate, got, err, want)
			}
			return
		}
		if err != nil || got != want.Int64() {
			t.Fatalf("ConvertMinor(%d, %s) at %s %s->%s = %d, %v; want %s", minor, cur, rate, cur, base, got, err, want)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// roundHalfEven rounds x to the nearest integer, ties to even.
func roundHalfEven(x *big.Rat) *big.Int {
	q, r := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int)) // truncated toward zero
	twice := new(big.Int).Mul(new(big.Int).Abs(r), big.NewInt(2))
	if c := twice.Cmp(x.Denom()); c > 0 || (c == 0 && q.Bit(0) == 1) {
		if x.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}
