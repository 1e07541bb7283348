package customer

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/clvstream/clvstream/pkg/event"
	"time"
)

func TestWriteLegacyFixture(t *testing.T) {
	if os.Getenv("WRITE_FIXTURE") == "" {
		t.Skip()
	}
	sts := mixStates(400, 7)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f, _ := os.Create("testdata/state_v0.jsonl")
	defer f.Close()
	n := 0
	for i := range sts {
		s := &sts[i]
		if i%20 != 0 && len(s.Refunds) == 0 && len(s.Tickets) < 2 {
			continue
		}
		if n == 3 {
			s.Apply(erase(now), 0.3)
		}
		js, _ := json.Marshal(s)
		fe, _ := json.Marshal(s.Derive(now, 30*24*time.Hour))
		f.Write(js)
		f.Write([]byte("\n"))
		f.Write(fe)
		f.Write([]byte("\n"))
		n++
		if n == 30 {
			break
		}
	}
}

func erase(at time.Time) event.Event {
	return event.Event{ID: "erase", Type: event.CustomerErased, CustomerID: "x", OccurredAt: at}
}
