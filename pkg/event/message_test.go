package event_test

import (
	"errors"
	"testing"

	"github.com/clvstream/clvstream/pkg/event"
)

func message(overrides map[string]any) []byte {
	m := map[string]any{"type": "message_sent", "order_id": nil, "amount": nil, "currency": nil,
		"channel": "sms", "message_id": "m-1"}
	for k, v := range overrides {
		m[k] = v
	}
	return []byte(rec(m))
}

func TestDecodeMessage(t *testing.T) {
	d := testDecoder(t)
	for _, tt := range []struct {
		overrides map[string]any
		channel   string
		msg       string
	}{
		{map[string]any{}, "sms", "m-1"},
		{map[string]any{"type": "message_delivered", "channel": "push", "campaign": "c-1"}, "push", "m-1"},
		{map[string]any{"type": "message_opened", "channel": "push"}, "push", "m-1"},
		{map[string]any{"type": "message_opened", "channel": "email"}, "email", "m-1"},
		{map[string]any{"type": "message_clicked", "channel": "sms"}, "sms", "m-1"},
		{map[string]any{"type": "message_opted_out", "channel": "email", "message_id": nil}, "email", ""},
		{map[string]any{"type": "message_opted_out", "channel": "sms"}, "sms", "m-1"},
		{map[string]any{"type": "message_opted_in", "channel": "push", "message_id": nil}, "push", ""},
	} {
		ev, err := d.Decode(message(tt.overrides), nil)
		if err != nil {
			t.Errorf("%v: %v", tt.overrides, err)
			continue
		}
		checkEvent(t, ev, testNow)
		if ev.Channel != tt.channel || ev.MessageID != tt.msg {
			t.Errorf("%v: got %+v", tt.overrides, ev)
		}
	}
	// email_* events are unchanged: no channel needed, a channel member is ignored.
	ev, err := d.Decode([]byte(rec(map[string]any{"type": "email_opened", "message_id": "m", "channel": "fax"})), nil)
	if err != nil || ev.Channel != "" || ev.MessageID != "m" {
		t.Errorf("email_opened: %+v, %v", ev, err)
	}
}

func TestDecodeMessageRejects(t *testing.T) {
	d := testDecoder(t)
	for _, tt := range []struct {
		name      string
		overrides map[string]any
		reason    event.Reason
		field     string
	}{
		{"no channel", map[string]any{"channel": nil}, event.ReasonMissingField, "channel"},
		{"unknown channel", map[string]any{"channel": "Email"}, event.ReasonInvalidField, "channel"},
		{"numeric channel", map[string]any{"channel": 1}, event.ReasonInvalidField, "channel"},
		{"SMS open", map[string]any{"type": "message_opened"}, event.ReasonInvalidField, "channel"},
		{"push click", map[string]any{"type": "message_clicked", "channel": "push"}, event.ReasonInvalidField, "channel"},
		{"no message_id", map[string]any{"message_id": nil}, event.ReasonMissingField, "message_id"},
		{"blank message_id on opt-out", map[string]any{"type": "message_opted_out", "message_id": " "}, event.ReasonInvalidField, "message_id"},
	} {
		_, err := d.Decode(message(tt.overrides), nil)
		var e *event.Error
		if !errors.As(err, &e) || e.Reason != tt.reason || e.Field != tt.field {
			t.Errorf("%s: error %v, want %s on %s", tt.name, err, tt.reason, tt.field)
		}
	}
	// CloudEvents binary mode maps like every other type.
	ev, err := d.Decode([]byte(`{"channel":"push","message_id":"p-1"}`), hdr("ce_specversion", "1.0", "ce_id", "ce-9", "ce_type", "com.acme.message_opened", "ce_time", "2025-03-01T10:00:00Z", "ce_subject", "c-9"))
	if err != nil || ev.Type != event.MessageOpened || ev.Channel != "push" || ev.CustomerID != "c-9" {
		t.Errorf("binary CloudEvent: %+v, %v", ev, err)
	}
}
