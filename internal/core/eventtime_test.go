package core

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/clvstream/clvstream/pkg/event"
)

// purchaseRecord is a purchase of customer id at at, routed as producers
// must, at offset off of the purchases topic.
func purchaseRecord(p *Processor, id string, at time.Time, off int64) Decoded {
	v := fmt.Sprintf(`{"event_id":"e-%s-%d","type":"purchase","customer_id":%q,"occurred_at":%q,"order_id":"o-%d","amount":"59.90","currency":"USD"}`,
		id, off, id, at.Format(time.RFC3339), off)
	return p.Decode(Record{Topic: tPurchases, Partition: partitionOf(id), Offset: off, Key: []byte(id), Value: []byte(v)})
}

// outboxTimes returns the occurred_at of every outbox record.
func outboxTimes(t *testing.T, out Output) []time.Time {
	t.Helper()
	var ts []time.Time
	for _, r := range out.Outbox {
		var v struct {
			OccurredAt time.Time `json:"occurred_at"`
		}
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatal(err)
		}
		ts = append(ts, v.OccurredAt)
	}
	return ts
}

// A task whose input is idle before its first record (the demo and a
// fresh deployment start on empty topics; the consumer group is often
// assigned before the producers write) must not move its clock to the wall
// clock: the clock never goes back, so every later scoring of a backfill
// or a replay would be stamped with the wall time of the start, the
// customers' dwell times would be negative and the minimum dwell would hold
// them in the segment of their first scoring. Seen in `clvstream demo`:
// 3 of 4 partitions published first purchases of 2024 as "lapsed" changes
// at the demo's start time in 2026, and /v1/customers showed
// "dwell_hours": -25.85.
func TestIdleBeforeFirstRecordKeepsEventTime(t *testing.T) {
	p := newProcessor(t)
	wall := time.Date(2026, 12, 1, 11, 50, 0, 0, time.UTC)
	horizon := int64(math.MaxInt64)
	// The task starts on empty topics: a tick with an idle input.
	out := p.Process(Input{Idle: true, Wall: wall, Horizon: horizon})
	clock := out.Clock
	if clock.Now > 0 {
		t.Errorf("an idle input with no record ever moved the clock to %s (the wall clock); it must stay unset until the first event time", time.UnixMilli(clock.Now).UTC())
	}
	// Then the backfill's first record: a purchase two years ago.
	at := time.Date(2024, 12, 2, 10, 0, 0, 0, time.UTC)
	out = p.Process(Input{Records: []Decoded{purchaseRecord(p, "c-1", at, 0)}, Clock: clock, Wall: wall, Horizon: horizon})
	if len(out.Outbox) == 0 {
		t.Fatal("a first purchase published no segment change")
	}
	for i, ts := range outboxTimes(t, out) {
		if ts.After(at) {
			t.Errorf("record %d (%s) is stamped %s, after the latest event time %s (the wall clock leaked into a replay)", i, out.Outbox[i].Value, ts, at)
		}
	}
	var sc event.SegmentChange
	if err := json.Unmarshal(out.Outbox[0].Value, &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Segment != "new" {
		t.Errorf("a first purchase made the customer %q, want new (scored as of %s)", sc.Segment, sc.OccurredAt)
	}
}

// A change caused by an event is never stamped before that event: the
// replay clock trails the latest event time by kafka.allowed_lateness, but
// the customer it applies to is scored as of the event itself at the
// earliest. Today a purchase at 10:00 is scored as of 09:00 (the clock,
// one hour of lateness behind), because the state keeps purchase days,
// not instants, so the customer's latest fact is midnight.
func TestEventChangeNotBeforeItsEvent(t *testing.T) {
	p := newProcessor(t)
	wall := time.Date(2026, 12, 1, 11, 50, 0, 0, time.UTC)
	at := time.Date(2024, 12, 2, 10, 0, 0, 0, time.UTC)
	out := p.Process(Input{Records: []Decoded{purchaseRecord(p, "c-1", at, 0)}, Wall: wall, Horizon: math.MaxInt64})
	if len(out.Outbox) == 0 {
		t.Fatal("a first purchase published no segment change")
	}
	for i, ts := range outboxTimes(t, out) {
		if ts.Before(at) {
			t.Errorf("record %d is stamped %s, before the purchase (%s) that caused it", i, ts, at)
		}
	}
}
