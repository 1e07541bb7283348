package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/app"
	"github.com/clvstream/clvstream/internal/obs"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/testkit"
	"github.com/clvstream/clvstream/pkg/event"
)

// purchases returns n purchases spread over customers, all in the past.
func purchases(tag string, customers, n int) []event.Record {
	at := time.Now().Add(-48 * time.Hour).UTC()
	out := make([]event.Record, n)
	for i := range out {
		cust := fmt.Sprintf("lease-c%03d", i%customers)
		out[i] = rec(event.Purchase, cust, at.Add(time.Duration(i)*time.Second), func(r *event.Record) {
			r.OrderID, r.Amount, r.Currency = fmt.Sprintf("%s-%d", tag, i), "12.00", "USD"
		})
	}
	return out
}

// A start that fails (a missing topic) takes no lock and writes nothing:
// no KPI lock, no KPI snapshot, no refit lock, no partition claimed.
func TestFailedStartHoldsNothing(t *testing.T) {
	e := newEnv(t, 2)
	cfg := e.config()
	cfg.Kafka.Topics.Emails = testkit.Unique("clv.missing")
	log, _ := newSinkLogger(t)
	a, err := app.New(cfg, log, obs.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Run(ctx); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("run with a missing topic: %v", err)
	}
	keys, err := e.rdb.Keys(context.Background(), "{"+e.prefix+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("a failed start left keys behind: %v", keys)
	}
}

// A clean stop releases everything the instance held: the KPI lock, the
// refit lock and the owner lease of every partition. A new consumer group
// (generations start again at 1, below the stored one) then claims every
// partition at once instead of after kafka.owner_lease (60 s), with no
// "claim failed" line, and a new instance takes the KPI lock at its first
// tick.
func TestCleanStopLetsANewGroupClaimAtOnce(t *testing.T) {
	e := newEnv(t, 3)
	cfg := e.config()
	if cfg.Kafka.OwnerLease != 60*time.Second {
		t.Fatalf("owner lease %v: the test expects the 60 s default", cfg.Kafka.OwnerLease)
	}
	// Run the first group twice, so its stored generation is above 1
	// (each restart is a new generation of the same group) and a new
	// group's generation 1 is fenced for as long as the lease runs.
	e.produceRecords(purchases("a", 30, 300)...)
	logA, _ := newSinkLogger(t)
	stopFirst := e.startLogged(cfg, logA, nil)
	e.waitApplied(60 * time.Second)
	stopFirst()
	stopA := e.startLogged(cfg, logA, nil)
	e.produceRecords(purchases("a2", 30, 30)...)
	e.waitApplied(60 * time.Second)
	ctx := context.Background()
	kpiLock, modelLock := "{"+e.prefix+":kpi}:lock", "{"+e.prefix+":model}:lock"
	testkit.Eventually(t, 20*time.Second, "KPI and refit locks taken", func() bool {
		return e.rdb.Exists(ctx, kpiLock, modelLock).Val() == 2
	})
	stopA()
	for p := 0; p < e.parts; p++ {
		if g, _ := e.rdb.HGet(ctx, e.store().Keys(p).Meta, "gen").Int(); g < 2 {
			t.Fatalf("partition %d: stored generation %d; the test needs one above the new group's first (1)", p, g)
		}
	}
	if n := e.rdb.Exists(ctx, kpiLock, modelLock).Val(); n != 0 {
		t.Fatalf("after a clean stop %d of the KPI and refit locks are still held", n)
	}
	for p := 0; p < e.parts; p++ {
		meta := e.store().Keys(p).Meta
		if v := e.rdb.HGet(ctx, meta, "lease_until").Val(); v != "0" {
			t.Fatalf("partition %d: lease_until = %q after a clean stop, want 0 (released)", p, v)
		}
	}

	// A new consumer group on the same state.
	cfg.Kafka.GroupID = e.group + "-new"
	e.produceRecords(purchases("b", 30, 300)...)
	logB, sinkB := newSinkLogger(t)
	start := time.Now()
	stopB := e.startLogged(cfg, logB, nil)
	defer stopB()
	e.waitApplied(20 * time.Second) // the old lease would hold it 60 s
	took := time.Since(start)
	for _, l := range sinkB.lines(t) {
		if l["msg"] == "claim failed; retrying" {
			t.Errorf("new group: %s", l["_raw"])
		}
	}
	testkit.Eventually(t, 10*time.Second, "KPI lock taken by the new instance", func() bool {
		return e.rdb.Exists(ctx, kpiLock).Val() == 1
	})
	t.Logf("new consumer group applied the new records %v after its start (owner lease %v)", took.Round(10*time.Millisecond), cfg.Kafka.OwnerLease)
}

// An owner that died without releasing (SIGKILL) leaves its lease: a new
// consumer group waits for it to run out, retrying with a backoff and one
// log line per partition, then takes over and applies everything.
func TestNewGroupTakesOverWhenACrashedOwnersLeaseRunsOut(t *testing.T) {
	e := newEnv(t, 2)
	ctx := context.Background()
	const lease = 4 * time.Second
	crashed := state.New(e.rdb, e.prefix, lease)
	for p := 0; p < e.parts; p++ {
		if _, err := crashed.Claim(ctx, p, 9, "crashed-instance"); err != nil {
			t.Fatal(err)
		}
	}
	leaseEnd := time.Now().Add(lease)
	e.produceRecords(purchases("c", 20, 200)...)
	log, sink := newSinkLogger(t)
	stop := e.startLogged(e.config(), log, nil)
	defer stop()
	e.waitApplied(60 * time.Second)
	if early := time.Until(leaseEnd); early > 0 {
		t.Fatalf("applied %v before the crashed owner's lease ran out", early)
	}
	n := 0
	for _, l := range sink.lines(t) {
		if l["msg"] == "claim failed; retrying" {
			n++
		}
	}
	if n == 0 || n > e.parts {
		t.Fatalf("%d \"claim failed\" lines while waiting %v for the lease, want 1 per partition (%d)", n, lease, e.parts)
	}
	t.Logf("took over %v after the lease ran out, %d claim-failed lines", time.Since(leaseEnd).Round(10*time.Millisecond), n)
}
