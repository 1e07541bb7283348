package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/refit"
	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/internal/testkit"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

func (e *env) partitionOf(id string) int { return stream.PartitionOf(e.part, id, e.parts) }

// pinModel publishes a fixed model record, fitted now, so the fitter does
// not refit during the test: both replays run under the same model.
func (e *env) pinModel(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	ms := refit.NewStore(e.rdb, e.prefix)
	if ok, err := ms.Lock(ctx, "test", time.Minute); err != nil || !ok {
		t.Fatalf("model lock: %v %v", ok, err)
	}
	rec := model.Record{Kind: model.KindBaseline, Reason: "pinned by the test", FittedAt: time.Now().UTC(), PopulationSpanDays: 600, PopulationRepeats: 10}
	if _, err := ms.Publish(ctx, rec, "test"); err != nil {
		t.Fatal(err)
	}
	if err := ms.Unlock(ctx, "test"); err != nil {
		t.Fatal(err)
	}
}

// fork returns an env on the same input topics with its own Redis prefix,
// consumer group and output topics: a second, independent replay of the
// same history.
func (e *env) fork(t *testing.T) *env {
	t.Helper()
	_, prefix := testkit.Redis(t)
	base := testkit.Unique("fork")
	f := *e
	f.prefix, f.group = prefix, base+"-group"
	f.topics.SegmentChanges, f.topics.DeadLetter = base+".segment-changes", base+".dead-letter"
	testkit.CreateTopics(t, e.brokers, e.parts, f.topics.SegmentChanges, f.topics.DeadLetter)
	return &f
}

// history is a multi-topic backfill of customers over a year: each topic
// in time order, produced topic by topic (all purchases first, then the
// same customers' tickets and emails).
func history(seed uint64, customers int) []event.Record {
	r := rand.New(rand.NewPCG(seed, 5))
	start := time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC)
	var out []event.Record
	for c := 0; c < customers; c++ {
		cust := fmt.Sprintf("h-%04d", c)
		at := start.Add(time.Duration(r.IntN(90*24)) * time.Hour)
		for i, n := 0, 1+r.IntN(6); i < n; i++ {
			out = append(out, rec(event.Purchase, cust, at, func(x *event.Record) {
				x.OrderID, x.Currency, x.Amount = fmt.Sprintf("%s-o%d", cust, i), "USD", fmt.Sprintf("%d.00", 10+r.IntN(300))
			}))
			if r.IntN(3) == 0 {
				out = append(out, rec(event.EmailSent, cust, at.Add(2*time.Hour), func(x *event.Record) { x.MessageID = fmt.Sprintf("m%d", i) }))
			}
			if r.IntN(5) == 0 {
				out = append(out, rec(event.TicketOpened, cust, at.Add(3*time.Hour), func(x *event.Record) { x.TicketID = fmt.Sprintf("t%d", i) }))
			}
			at = at.Add(time.Duration(24*(3+r.IntN(70))) * time.Hour)
		}
	}
	// Each topic holds its history in time order, as an export of an
	// order log or a CRM would.
	sort.SliceStable(out, func(i, j int) bool { return out[i].OccurredAt < out[j].OccurredAt })
	return out
}

// changeStreams reads the segment-changes topic as each customer's
// sequence of distinct records (a re-sent event_id is dropped), in topic
// order, as raw bytes.
func (e *env) changeStreams() map[string][]string {
	e.t.Helper()
	msgs := testkit.ReadAll(e.t, e.brokers, e.topics.SegmentChanges, e.parts)
	seen := map[string]bool{}
	out := map[string][]string{}
	for _, m := range msgs {
		var head struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal(m.Value, &head); err != nil {
			e.t.Fatal(err)
		}
		if seen[head.EventID] {
			continue
		}
		seen[head.EventID] = true
		out[string(m.Key)] = append(out[string(m.Key)], string(m.Value))
	}
	return out
}

// History is deterministic end to end: a multi-topic backfill gives the
// same segment-change stream, byte for byte and in the same order per
// customer, whether processed in-process with small batches or by a
// process with large batches that is killed with SIGKILL in the middle and
// restarted. The backfill ends settled: every customer's stored segment is
// what scoring their final state as of the end decides, and no customer's
// first segment comes later than their first event plus the allowed
// lateness.
func TestBackfillHistoryIsDeterministic(t *testing.T) {
	e := newEnv(t, 3)
	recs := history(11, 150)
	e.produceRecords(recs...)

	// Run 1: in-process, batches of 37.
	e.pinModel(t)
	cfg := e.config()
	cfg.Kafka.BatchSize = 37
	stop := e.start(cfg, "small-batches")
	e.waitSettled(2 * time.Minute)
	stop()
	ref := e.changeStreams()

	// Run 2: a process with batches of 500, killed mid-way.
	f := e.fork(t)
	f.pinModel(t)
	proc := f.startProcess(t, "--set", "kafka.batch_size=500", "--set", "kafka.flush_interval=5ms")
	total := int64(len(recs))
	testkit.Eventually(t, 2*time.Minute, "a third of the history applied", func() bool { return f.appliedRecords() > total/3 })
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = proc.Process.Wait()
	proc = f.startProcess(t, "--set", "kafka.batch_size=500")
	f.waitSettled(2 * time.Minute)
	_ = proc.Process.Signal(syscall.SIGTERM)
	_, _ = proc.Process.Wait()
	got := f.changeStreams()

	if len(ref) < 100 {
		t.Fatalf("only %d customers changed segment; the history should move most of them", len(ref))
	}
	for id, want := range ref {
		g := got[id]
		if len(g) != len(want) {
			t.Fatalf("customer %s: %d records in run 2, %d in run 1", id, len(g), len(want))
		}
		for i := range want {
			if g[i] != want[i] {
				t.Fatalf("customer %s, record %d differs:\n%s\n%s", id, i, g[i], want[i])
			}
		}
	}
	if len(got) != len(ref) {
		t.Fatalf("run 2 published for %d customers, run 1 for %d", len(got), len(ref))
	}

	// Settled at the end of the backfill.
	sc, err := scoring.New(cfg.Scoring, segment.DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := refit.NewStore(e.rdb, e.prefix).Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	first := map[string]time.Time{}
	for _, r := range recs {
		at, _ := time.Parse(time.RFC3339, r.OccurredAt)
		if f, ok := first[r.CustomerID]; !ok || at.Before(f) {
			first[r.CustomerID] = at
		}
	}
	ctx := context.Background()
	for id, st := range e.states() {
		p := e.partitionOf(id)
		clk, _ := e.rdb.HGet(ctx, e.store().Keys(p).Meta, "clk").Int64()
		end := time.UnixMilli(max(clk, st.LatestAt())).UTC()
		if res := sc.Score(st, end, pinned); res.Segment != st.Segment {
			t.Errorf("customer %s: stored segment %q, scoring the final state at the end gives %q", id, st.Segment, res.Segment)
		}
		var c event.SegmentChange
		for _, r := range ref[id] {
			if err := json.Unmarshal([]byte(r), &c); err != nil {
				t.Fatal(err)
			}
			if c.Type == event.SegmentChangeType {
				break
			}
		}
		if late := c.OccurredAt.Sub(first[id]); late > cfg.Kafka.AllowedLateness {

			t.Errorf("customer %s: first segment %s after the first event (allowed lateness %s)", id, late, cfg.Kafka.AllowedLateness)
		}
	}
}
