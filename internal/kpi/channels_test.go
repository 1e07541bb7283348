package kpi

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

func TestChannelKPIs(t *testing.T) {
	a, b, c := buyer("a", 20), buyer("b", 40), buyer("c", 60)
	at := asOf.AddDate(0, 0, -1)
	send := func(id string, typ event.Type, ch, m string) event.Event {
		return event.Event{ID: fmt.Sprint(id, typ, ch, m), Type: typ, CustomerID: id, Channel: ch, MessageID: m, OccurredAt: at}
	}
	for _, e := range []event.Event{
		// Two sends each: engagement needs one decayed send (a single
		// send a day old weighs 0.98).
		send("a", event.MessageSent, "sms", "s1"), send("a", event.MessageClicked, "sms", "s1"),
		send("a", event.MessageSent, "sms", "s1b"), send("a", event.MessageClicked, "sms", "s1b"),
		send("b", event.MessageSent, "sms", "s2"), send("b", event.MessageSent, "sms", "s2b"),
		send("b", event.MessageSent, "push", "p1"), send("b", event.MessageOpened, "push", "p1"),
		send("b", event.MessageSent, "push", "p2"), send("b", event.MessageOpened, "push", "p2"),
		send("c", event.MessageOptedOut, "email", ""),
	} {
		switch e.CustomerID {
		case "a":
			a.Apply(e, 0)
		case "b":
			b.Apply(e, 0)
		default:
			c.Apply(e, 0)
		}
	}
	sc, err := scoring.New(scoring.Config{}, segment.DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compute(context.Background(), states{a, b, c}, sc, nil, asOf, Config{})
	if err != nil {
		t.Fatal(err)
	}
	sms, push, email := s.Channels["sms"], s.Channels["push"], s.Channels["email"]
	if sms.EngagedCustomers != 2 || math.Abs(sms.Engagement-0.5) > 0.01 {
		t.Errorf("sms %+v, want 2 customers, engagement 0.5", sms)
	}
	if push.EngagedCustomers != 1 || math.Abs(push.Engagement-1) > 0.01 {
		t.Errorf("push %+v", push)
	}
	if email.OptedOut != 1 || s.OptedOut != 1 || email.EngagedCustomers != 0 {
		t.Errorf("email %+v, opted out %d", email, s.OptedOut)
	}
}
