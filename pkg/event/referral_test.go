package event_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/clvstream/clvstream/pkg/event"
)

func TestReferralCreditedDecode(t *testing.T) {
	d := testDecoder(t)
	base := map[string]any{"type": "referral_credited", "customer_id": "cust-42", "order_id": nil, "amount": nil, "currency": nil,
		"event_id": "referral/a6a954092d843ccd/a6a94e092d84329b", "referred_hash": "a6a954092d843ccd"}
	ev, err := d.Decode([]byte(rec(base)), nil)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if ev.Type != event.ReferralCredited || ev.Referred != 0xa6a954092d843ccd || ev.CustomerID != "cust-42" || !ev.Type.Internal() {
		t.Fatalf("decoded %+v", ev)
	}
	for _, c := range []struct {
		hash   any
		reason event.Reason
	}{
		{nil, event.ReasonMissingField},
		{"", event.ReasonMissingField},
		{"A6A954092D843CCD", event.ReasonInvalidField},
		{"a6a954092d843cc", event.ReasonInvalidField},
		{"a6a954092d843ccd0", event.ReasonInvalidField},
		{"+6a954092d843ccd", event.ReasonInvalidField},
		{"0000000000000000", event.ReasonInvalidField},
		{42, event.ReasonInvalidField},
	} {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		m["referred_hash"] = c.hash
		_, err := d.Decode([]byte(rec(m)), nil)
		var e *event.Error
		if !errors.As(err, &e) || e.Reason != c.reason || e.Field != "referred_hash" {
			t.Errorf("referred_hash %v: error %v, want %s on referred_hash", c.hash, err, c.reason)
		}
	}
	// Internal types are not offered to producers in error messages.
	_, err = d.Decode([]byte(rec(map[string]any{"type": "signup"})), nil)
	if err == nil || strings.Contains(err.Error(), "referral_credited") {
		t.Errorf("unknown-type message lists the internal type: %v", err)
	}
	if got := event.ReferralCreditID(0xa6a954092d843ccd, 0xa6a94e092d84329b); got != "referral/a6a954092d843ccd/a6a94e092d84329b" {
		t.Errorf("ReferralCreditID = %s", got)
	}
	for _, ty := range event.Types {
		if ty.Internal() {
			t.Errorf("input type %s is internal", ty)
		}
	}
}
