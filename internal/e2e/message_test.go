package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// Message events of every channel on the emails topic, against the real
// services: the email_* events and message_* events on the e-mail channel
// are the same messages, SMS and push engagement are kept apart, an
// opt-out flags the customer (and an opt-in after it clears the channel),
// an SMS "open" is dead-lettered, and a purchase after a campaign click
// is attributed to the campaign.
func TestMessagesEndToEnd(t *testing.T) {
	e := newEnv(t, 2)
	at := time.Now().Add(-2 * time.Hour).UTC()
	m := func(typ event.Type, cust, ch, id string, when time.Time) event.Record {
		return rec(typ, cust, when, func(r *event.Record) { r.Channel, r.MessageID = ch, id })
	}
	e.produceRecords(
		rec(event.Purchase, "c1", at.Add(-time.Hour), func(r *event.Record) { r.OrderID, r.Amount, r.Currency = "o1", "10.00", "USD" }),
		rec(event.EmailSent, "c1", at, func(r *event.Record) { r.MessageID = "m1" }),
		m(event.MessageOpened, "c1", "email", "m1", at.Add(time.Minute)),
		m(event.MessageSent, "c1", "sms", "m1", at),
		m(event.MessageDelivered, "c1", "sms", "m1", at.Add(time.Second)),
		withCampaign(m(event.MessageClicked, "c1", "sms", "m1", at.Add(2*time.Minute)), "flash"),
		// A purchase 10 minutes after the campaign click: attributed to it.
		rec(event.Purchase, "c1", at.Add(12*time.Minute), func(r *event.Record) { r.OrderID, r.Amount, r.Currency = "o2", "25.00", "USD" }),
		m(event.MessageSent, "c1", "push", "p1", at),
		m(event.MessageOptedOut, "c1", "sms", "", at.Add(time.Hour)),
		m(event.MessageOptedOut, "c2", "push", "", at),
		m(event.MessageOptedIn, "c2", "push", "", at.Add(time.Hour)),
	)
	bad, _ := json.Marshal(m(event.MessageOpened, "c2", "sms", "x1", at))
	e.produce(e.topics.Emails, kafka.Message{Key: []byte("c2"), Value: bad})

	stop := e.start(e.config(), "svc")
	e.waitApplied(60 * time.Second)
	stop()

	sts := e.states()
	f := sts["c1"].Derive(at.Add(90*time.Minute), 0)
	if len(sts["c1"].Emails) != 3 {
		t.Errorf("c1 keeps %d messages, want 3 (email m1 once, sms m1, push p1)", len(sts["c1"].Emails))
	}
	if c := f.Channels[customer.ChanSMS]; c.Deliveries == 0 || c.Clicks == 0 || !c.OptedOut || !f.OptedOut {
		t.Errorf("c1 sms %+v, opted out %v", c, f.OptedOut)
	}
	if f.EmailSends == 0 || f.EmailOpens == 0 || f.Channels[customer.ChanEmail].OptedOut {
		t.Errorf("c1 email sends %v opens %v", f.EmailSends, f.EmailOpens)
	}
	if a := sts["c1"].Attributions(at.Add(90*time.Minute), 0); len(a) != 1 || a[0].Campaign != "flash" || !a[0].ByClick || a[0].Net != 2500 {
		t.Errorf("c1 attributions %+v, want the 25.00 order to flash by click", a)
	}
	if g := sts["c2"].Derive(at.Add(90*time.Minute), 0); g.OptedOut {
		t.Errorf("c2 opted in again after the opt-out: %+v", g.Channels)
	}
	dead := e.deadLetters()
	if len(dead) != 1 || header(dead[0], stream.HeaderErrorClass) != "invalid_field" || !strings.Contains(header(dead[0], stream.HeaderErrorMessage), "channel") {
		t.Errorf("dead letters %d, want the SMS open as invalid_field channel", len(dead))
	}
}

func withCampaign(r event.Record, c string) event.Record { r.Campaign = c; return r }
