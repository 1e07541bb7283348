package event_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/clvstream/clvstream/pkg/event"
)

// fuzzHeaders picks a header set for FuzzDecode: none, structured mode, or
// binary mode with attr as the type (mode 2) or as every attribute (mode 3).
func fuzzHeaders(mode uint8, attr string) []event.Header {
	switch mode % 4 {
	case 1:
		return hdr("content-type", "application/cloudevents+json")
	case 2:
		return hdr("ce_specversion", "1.0", "ce_id", "ce-1", "ce_type", attr, "ce_time", "2025-03-01T12:00:00Z", "ce_subject", "c-1")
	case 3:
		return hdr("ce_specversion", "1.0", "ce_id", attr, "ce_type", attr, "ce_time", attr, "ce_subject", attr)
	}
	return nil
}

// FuzzDecode checks that Decode never panics and returns either an Event
// that satisfies every documented invariant or an *Error with a known
// reason and a readable message.
func FuzzDecode(f *testing.F) {
	for _, s := range loadSchemas(f) {
		for _, ex := range examples(f, s) {
			b := marshal(f, ex)
			f.Add(b, uint8(0), "")
			data := without(ex, "event_id", "type", "occurred_at")
			f.Add(b, uint8(1), "")
			f.Add(marshal(f, data), uint8(2), "com.acme."+s.name)
			ce := map[string]any{"specversion": "1.0", "id": "x", "type": s.name, "time": ex["occurred_at"], "data": data}
			f.Add(marshal(f, ce), uint8(0), "")
		}
	}
	f.Add([]byte(`{"amount":1e400,"amount_minor":-9223372036854775808,"margin":"-0"}`), uint8(0), "")
	f.Add([]byte(`{"type":"refund","amount":"0.001","currency":"KWD","order_id":"o","event_id":"e","customer_id":"c","occurred_at":"2025-01-01T00:00:00Z"}`), uint8(0), "")
	f.Add([]byte(``), uint8(3), "purchase")
	f.Add([]byte("\xff{"), uint8(0), "")

	d := testDecoder(f)
	f.Fuzz(func(t *testing.T, value []byte, mode uint8, attr string) {
		ev, err := d.Decode(value, fuzzHeaders(mode, attr))
		if err != nil {
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
			return
		}
		checkEvent(t, ev, testNow.Add(event.DefaultMaxClockSkew))
		// A successfully decoded plain record is a JSON object.
		if mode%4 == 0 && !json.Valid(value) {
			t.Fatalf("Decode accepted invalid JSON %q", value)
		}
	})
}
