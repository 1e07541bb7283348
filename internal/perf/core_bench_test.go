package perf

import (
	"container/heap"
	"flag"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/core"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

var coreMixEvents = flag.Int("coremix.events", 100_000, "records of BenchmarkCoreMix")

// BenchmarkCoreMix runs the benchmark mix (scaled down to 100,000 records
// for about 10,700 customers) through the pure processing core alone, one
// partition, batches of 1000 records merged by event time, states and due
// times kept in memory between batches, under the benchmark's model: the
// cost of the core per record without Kafka or Redis. It reports the
// scorings (events and fired timers) and segment changes per record.
func BenchmarkCoreMix(b *testing.B) {
	m := DefaultMix()
	m.Events, m.Customers = *coreMixEvents, *coreMixEvents*107/1000
	wall := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	h, err := Generate(m, wall)
	if err != nil {
		b.Fatal(err)
	}
	recs := mergedRecords(h)
	dec, err := event.NewDecoder(event.Config{BaseCurrency: "USD"})
	if err != nil {
		b.Fatal(err)
	}
	sc, err := scoring.New(scoring.Config{}, segment.DefaultRuleSet())
	if err != nil {
		b.Fatal(err)
	}
	topicFor := func(t event.Type) string {
		switch t {
		case event.Purchase, event.Refund, event.CustomerErased:
			return "purchases"
		case event.EmailSent, event.EmailOpened, event.EmailClicked:
			return "emails"
		}
		return "tickets"
	}
	p, err := core.New(core.Config{Decoder: dec, Scorer: sc, TopicFor: topicFor, PartitionOf: func(string) int { return 0 },
		Partitioner: "murmur2", AllowedLateness: 5 * time.Minute, ReplayThreshold: 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	rec := benchModel()
	rec.Version, rec.Converged = 1, true
	decoded := make([]core.Decoded, len(recs))
	for i, r := range recs {
		decoded[i] = p.Decode(r)
	}

	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	var scorings, changes int
	for range b.N {
		s, c := replayCore(p, decoded, &rec, wall)
		scorings += s
		changes += c
	}
	n := float64(b.N * len(decoded))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/n, "cpu-ns/record")
	b.ReportMetric(float64(scorings)/n, "scorings/record")
	b.ReportMetric(float64(changes)/n, "changes/record")
}

// processCPU is the user and system CPU time of the process so far: on a
// shared machine it varies less than the wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// mergedRecords are h's records of the three topics merged by occurred_at,
// as a task's event-time merge delivers them.
func mergedRecords(h *History) []core.Record {
	type tagged struct {
		g     gen
		topic string
		off   int64
	}
	var all []tagged
	for _, t := range []struct {
		name string
		gs   []gen
	}{{"purchases", h.Purchases}, {"tickets", h.Tickets}, {"emails", h.Emails}} {
		for i, g := range t.gs {
			all = append(all, tagged{g, t.name, int64(i)})
		}
	}
	slices.SortStableFunc(all, func(a, b tagged) int { return int(a.g.at - b.g.at) })
	out := make([]core.Record, len(all))
	for i, t := range all {
		out[i] = core.Record{Topic: t.topic, Offset: t.off, Key: []byte(CustomerID(t.g.cust)), Value: t.g.Value()}
	}
	return out
}

// replayCore runs recs through p in batches of 1000 as the stream task
// does (timers up to the batch's target, then an idle step at the end),
// and returns the scorings and segment changes.
func replayCore(p *core.Processor, recs []core.Decoded, rec *model.Record, wall time.Time) (scorings, changes int) {
	states := map[string]*customer.State{}
	dues := map[string]int64{}
	var timers dueHeap
	var clock core.Clock
	applied := map[string]int64{}
	step := func(batch []core.Decoded, idle bool) int {
		target := p.Target(clock, batch, idle, wall)
		var fire []core.Timer
		for len(timers) > 0 && timers[0].Due <= target {
			t := heap.Pop(&timers).(core.Timer)
			if dues[t.ID] == t.Due {
				fire = append(fire, t)
			}
		}
		// As the stream task does: the states and known due times of the
		// step's customers only.
		stepStates := make(map[string]*customer.State, len(batch)+len(fire))
		stepDues := make(map[string]int64, len(batch)+len(fire))
		load := func(id string) {
			if _, ok := stepStates[id]; ok {
				return
			}
			st := states[id]
			if st == nil {
				st = &customer.State{ID: id}
				states[id] = st
			}
			stepStates[id] = st
			if d, ok := dues[id]; ok {
				stepDues[id] = d
			}
		}
		for i := range batch {
			if batch[i].Err == nil {
				load(batch[i].Event.CustomerID)
			}
		}
		for _, t := range fire {
			load(t.ID)
		}
		out := p.Process(core.Input{Records: batch, States: stepStates, Timers: fire, Horizon: target, Dues: stepDues,
			Applied: applied, Clock: clock, Wall: wall, Model: rec, Idle: idle})
		for topic, r := range out.Offsets {
			applied[topic] = r.To
		}
		clock = out.Clock
		for id, d := range out.Due {
			dues[id] = d
			if d > 0 {
				heap.Push(&timers, core.Timer{ID: id, Due: d})
			}
		}
		for _, c := range out.Rescored {
			scorings += c[0] + c[1]
		}
		for _, c := range out.Changes {
			if c.To != "" {
				changes++
			}
		}
		return out.Consumed
	}
	for i := 0; i < len(recs); {
		j := min(i+1000, len(recs))
		i += step(recs[i:j], false)
	}
	step(nil, true)
	scorings += len(recs)
	return scorings, changes
}

// dueHeap orders timers by due time.
type dueHeap []core.Timer

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].Due < h[j].Due }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(core.Timer)) }
func (h *dueHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
