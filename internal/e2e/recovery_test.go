package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// workload is a synthetic history: customers buying, refunding, opening
// tickets and reading emails over a year, with redelivered duplicates and
// some erasures.
func workload(seed uint64, customers, perCustomer int) []event.Record {
	r := rand.New(rand.NewPCG(seed, 99))
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []event.Record
	for c := 0; c < customers; c++ {
		cust := fmt.Sprintf("cust-%04d", c)
		for i := 0; i < perCustomer; i++ {
			at := start.Add(time.Duration(r.IntN(365*24)) * time.Hour)
			id := fmt.Sprintf("%s-%d", cust, i)
			rec := event.Record{EventID: id, CustomerID: cust, OccurredAt: at.Format(time.RFC3339)}
			switch k := r.IntN(10); {
			case k < 4:
				rec.Type, rec.OrderID, rec.Currency = event.Purchase, "o-"+id, "USD"
				rec.Amount = fmt.Sprintf("%d.%02d", 5+r.IntN(200), r.IntN(100))
				if r.IntN(4) == 0 {
					rec.Currency = "EUR"
				}
			case k < 5:
				rec.Type, rec.OrderID, rec.RefundID, rec.Currency, rec.Amount = event.Refund, "o-x", "rf-"+id, "USD", "3.50"
			case k < 7:
				types := []event.Type{event.TicketOpened, event.TicketUpdated, event.TicketResolved, event.TicketReopened}
				rec.Type, rec.TicketID = types[r.IntN(4)], fmt.Sprintf("t%d", r.IntN(3))
				if rec.Type == event.TicketResolved {
					rec.CSAT = 1 + r.IntN(5)
				}
			default:
				types := []event.Type{event.EmailSent, event.EmailOpened, event.EmailClicked}
				rec.Type, rec.MessageID = types[r.IntN(3)], fmt.Sprintf("m%d", r.IntN(perCustomer/3+1))
			}
			out = append(out, rec)
			if r.IntN(10) == 0 { // a producer retry: the same event again
				out = append(out, rec)
			}
		}
		if r.IntN(50) == 0 {
			out = append(out, event.Record{EventID: cust + "-erase", Type: event.CustomerErased, CustomerID: cust, OccurredAt: start.AddDate(1, 0, 0).Format(time.RFC3339)})
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// reference applies the valid records to fresh states in memory: the
// state a single, uninterrupted, exactly-once delivery would give.
func (e *env) reference(recs []event.Record) map[string]*customer.State {
	e.t.Helper()
	cfg := e.config()
	dec, err := event.NewDecoder(cfg.DecoderConfig())
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]*customer.State{}
	for _, r := range recs {
		b, _ := json.Marshal(r)
		ev, err := dec.Decode(b, nil)
		if err != nil {
			continue
		}
		st := out[ev.CustomerID]
		if st == nil {
			st = &customer.State{ID: ev.CustomerID}
			out[ev.CustomerID] = st
		}
		st.Apply(ev, cfg.Scoring.DefaultMargin)
	}
	return out
}

// assertMatchesReference compares the stored statistics with the reference.
func (e *env) assertMatchesReference(want map[string]*customer.State) map[string]*customer.State {
	e.t.Helper()
	got := e.states()
	if len(got) != len(want) {
		e.t.Fatalf("stored %d customers, reference has %d", len(got), len(want))
	}
	for id, w := range want {
		g := got[id]
		if g == nil {
			e.t.Fatalf("customer %s missing", id)
		}
		if statsView(g) != statsView(w) {
			e.t.Fatalf("customer %s differs from the reference:\nstored    %s\nreference %s", id, statsView(g), statsView(w))
		}
	}
	return got
}

// startProcess runs `clvstream run` as a child process.
func (e *env) startProcess(t *testing.T, extra ...string) *exec.Cmd {
	t.Helper()
	args := append([]string{"run", "--set", "http.addr=127.0.0.1:0", "--set", "http.auth=none", "--set", "kafka.batch_size=50",
		"--set", "kafka.flush_interval=20ms", "--set", "kafka.session_timeout=6s", "--set", "input.rates=EUR=1.10"}, e.sets()...)
	args = append(args, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "CLVSTREAM_LOG_LEVEL=warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd
}

// appliedRecords sums the offsets stored in Redis over all input partitions.
func (e *env) appliedRecords() int64 {
	var n int64
	ctx := context.Background()
	for p := 0; p < e.parts; p++ {
		vals, _ := e.rdb.HGetAll(ctx, e.store().Keys(p).Meta).Result()
		for k, v := range vals {
			if len(k) > 4 && k[:4] == "off:" {
				x, _ := strconv.ParseInt(v, 10, 64)
				n += x
			}
		}
	}
	return n
}

// The service process is killed with SIGKILL in the middle of the stream
// and restarted: the state equals the exactly-once reference, no segment
// change is lost and none is spurious. Then the same topics are replayed
// from the earliest offset, first by a new consumer group and then with the
// offsets in Redis wiped (so every record is applied a second time): the
// state stays identical and no segment change is published.
func TestKillMidStreamRecoversExactly(t *testing.T) {
	e := newEnv(t, 3)
	recs := workload(1, 300, 40)
	var bad []kafka.Message
	for i := 0; i < 20; i++ {
		bad = append(bad, kafka.Message{Key: []byte(fmt.Sprintf("cust-%04d", i)), Value: []byte(`{"event_id":"broken`)})
	}
	e.produceRecords(recs...)
	e.produce(e.topics.Purchases, bad...)
	total := int64(len(recs) + len(bad))

	proc := e.startProcess(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		n := e.appliedRecords()
		if n > total/10 {
			t.Logf("killing the service with SIGKILL after %d of %d records were applied", n, total)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d records applied after 60s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = proc.Process.Wait()
	if n := e.appliedRecords(); n >= total {
		t.Fatalf("the kill came too late (%d of %d applied): nothing was interrupted", n, total)
	}

	// The restarted process must wait for the dead member's session to
	// expire before it gets the partitions back.
	proc = e.startProcess(t)
	e.waitSettled(120 * time.Second)
	// SIGTERM: finish, commit, drain, leave the group, exit 0, within the
	// shutdown bound (kafka.shutdown_timeout, 15s by default).
	_ = proc.Process.Signal(syscall.SIGTERM)
	termAt := time.Now()
	if err := proc.Wait(); err != nil {
		t.Fatalf("clvstream run after SIGTERM: %v", err)
	}
	if d := time.Since(termAt); d > 20*time.Second {
		t.Fatalf("shutdown took %s", d)
	} else {
		t.Logf("SIGTERM to exit: %s", d.Round(time.Millisecond))
	}

	want := e.reference(recs)
	states := e.assertMatchesReference(want)
	e.checkChangeLog(states)
	changes, _ := e.changes()
	if dl := e.deadLetters(); len(dl) < len(bad) {
		t.Fatalf("dead letters = %d, want at least %d", len(dl), len(bad))
	}

	// Replay: new group from the earliest offset.
	cfg := e.config()
	cfg.Kafka.GroupID = e.group + "-replay"
	stop := e.start(cfg, "replay")
	time.Sleep(2 * time.Second)
	e.waitSettled(60 * time.Second)
	stop()
	// Replay with the applied offsets wiped: every record applied again.
	ctx := context.Background()
	for p := 0; p < e.parts; p++ {
		for _, topic := range e.topics.Inputs() {
			e.rdb.HDel(ctx, e.store().Keys(p).Meta, "off:"+topic)
		}
	}
	cfg.Kafka.GroupID = e.group + "-replay2"
	stop = e.start(cfg, "replay2")
	e.waitSettled(120 * time.Second)
	stop()
	e.assertMatchesReference(want)
	after, _ := e.changes()
	if len(after) != len(changes) {
		t.Fatalf("replays published %d new segment changes", len(after)-len(changes))
	}
}

// Two instances in one group, the second joining in the middle of the
// stream (a rebalance moves partitions while records flow): the state
// equals the reference and the change log is intact.
func TestRebalanceMidStream(t *testing.T) {
	e := newEnv(t, 4)
	recs := workload(2, 400, 30)
	half := len(recs) / 2
	e.produceRecords(recs[:half]...)
	stopA := e.start(e.config(), "a")
	deadline := time.Now().Add(60 * time.Second)
	for e.appliedRecords() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("instance a applied nothing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopB := e.start(e.config(), "b")
	e.produceRecords(recs[half:]...)
	e.waitSettled(120 * time.Second)
	stopA()                         // a leaves: b takes everything over
	e.produceRecords(recs[:100]...) // redelivered duplicates after the second rebalance
	e.waitSettled(120 * time.Second)
	stopB()
	states := e.assertMatchesReference(e.reference(recs))
	e.checkChangeLog(states)
}
