package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/internal/testkit"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// Survey events on their own configured topic, against the real services:
// a later response replaces the earlier one whatever the order, a
// redelivered response counts once, free text and out-of-range scores are
// dead-lettered with their reason, and a survey on another input topic is
// misrouted.
func TestSurveysEndToEnd(t *testing.T) {
	e := newEnv(t, 2)
	e.topics.Surveys = strings.TrimSuffix(e.topics.Purchases, ".purchases") + ".surveys"
	testkit.CreateTopics(t, e.brokers, e.parts, e.topics.Surveys)
	at := time.Now().Add(-2 * time.Hour).UTC()
	sv := func(typ event.Type, cust, survey, kind string, when time.Time, score int, id string) event.Record {
		return rec(typ, cust, when, func(r *event.Record) {
			r.EventID, r.SurveyID, r.Kind = id, survey, kind
			if typ == event.SurveyResponded {
				r.Score = &score
			}
		})
	}
	later := sv(event.SurveyResponded, "c1", "S1", "nps", at.Add(time.Hour), 9, "c1-r2")
	e.produceRecords(
		rec(event.Purchase, "c1", at.Add(-time.Hour), func(r *event.Record) { r.OrderID, r.Amount, r.Currency = "o1", "10.00", "USD" }),
		rec(event.Purchase, "c2", at.Add(-time.Hour), func(r *event.Record) { r.OrderID, r.Amount, r.Currency = "o2", "10.00", "USD" }),
		later, // the later response first
		sv(event.SurveySent, "c1", "S1", "nps", at, 0, "c1-s"),
		sv(event.SurveyResponded, "c1", "S1", "nps", at.Add(time.Minute), 3, "c1-r1"),
		later, // redelivered
		sv(event.SurveyResponded, "c2", "E1", "ces", at, 2, "c2-r"),
		sv(event.SurveySent, "c2", "C1", "csat", at, 0, "c2-s"),
	)
	bad := func(v string) kafka.Message { return kafka.Message{Key: []byte("c2"), Value: []byte(v)} }
	e.produce(e.topics.Surveys,
		bad(`{"event_id":"b1","type":"survey_responded","customer_id":"c2","occurred_at":"2025-01-01T00:00:00Z","survey_id":"S9","kind":"nps","score":7,"comment":"late again"}`),
		bad(`{"event_id":"b2","type":"survey_responded","customer_id":"c2","occurred_at":"2025-01-01T00:00:00Z","survey_id":"S9","kind":"csat","score":6}`))
	misrouted, _ := json.Marshal(sv(event.SurveySent, "c2", "S8", "nps", at, 0, "b3"))
	e.produce(e.topics.Tickets, kafka.Message{Key: []byte("c2"), Value: misrouted})

	stop := e.start(e.config(), "svc")
	e.waitApplied(60 * time.Second)
	stop()

	sts := e.states()
	now := at.Add(2 * time.Hour)
	f1 := sts["c1"].DeriveSurveys(now, 0)
	if n, ok := f1.Score(customer.KindNPS); !ok || n != 9 || f1.Responses[customer.KindNPS-1] != 1 || f1.NPSClass() != customer.Promoter {
		t.Errorf("c1 NPS %d %v (%d responses, %s), want 9 from the later response, counted once", n, ok, f1.Responses[customer.KindNPS-1], f1.NPSClass())
	}
	if f1.Sent != 1 || f1.Answered != 1 {
		t.Errorf("c1 sent %d answered %d", f1.Sent, f1.Answered)
	}
	f2 := sts["c2"].DeriveSurveys(now, 0)
	if he, ok := f2.HighEffort(); !he || !ok || f2.Sent != 1 || f2.Answered != 0 {
		t.Errorf("c2 high effort %v %v, sent %d answered %d", he, ok, f2.Sent, f2.Answered)
	}
	reasons := map[string]string{}
	for _, m := range e.deadLetters() {
		var r struct {
			EventID string `json:"event_id"`
		}
		_ = json.Unmarshal(m.Value, &r)
		reasons[r.EventID] = header(m, stream.HeaderErrorClass) + " " + header(m, stream.HeaderErrorMessage)
	}
	for id, want := range map[string]string{"b1": "invalid_field: comment", "b2": "invalid_field: score", "b3": "misrouted"} {
		if !strings.Contains(reasons[id], want) {
			t.Errorf("dead letter of %s: %q, want %q", id, reasons[id], want)
		}
	}
	if len(reasons) != 3 {
		t.Errorf("dead letters %v, want 3", reasons)
	}
}
