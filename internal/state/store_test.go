package state_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/testkit"
	"github.com/clvstream/clvstream/pkg/customer"
)

func TestCommitIsFencedAndOffsetChecked(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	ctx := context.Background()
	s := state.New(rdb, prefix, time.Minute)

	cp, err := s.Claim(ctx, 3, 5, "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.Offsets) != 0 {
		t.Fatalf("fresh partition has offsets %v", cp.Offsets)
	}
	b := state.Batch{
		Gen:       5,
		Offsets:   map[string]state.OffsetRange{"purchases": {From: -1, To: 10}},
		States:    []*customer.State{{ID: "c1", Version: 1, Segment: "new"}},
		Due:       map[string]int64{"c1": 1000},
		Outbox:    []state.OutboxRecord{{Key: "c1", Value: []byte(`{"v":1}`)}},
		Watermark: 5000, Clock: 4000, ModelDone: "3/ab12",
	}
	if err := s.Commit(ctx, 3, b); err != nil {
		t.Fatal(err)
	}
	// The same batch again (a redelivery) must be refused: offsets moved.
	if err := s.Commit(ctx, 3, b); !errors.Is(err, state.ErrOffsetConflict) {
		t.Fatalf("replayed batch: err = %v, want ErrOffsetConflict", err)
	}
	// A newer generation claims; the old one is fenced.
	cp, err = s.Claim(ctx, 3, 6, "b")
	if err != nil {
		t.Fatal(err)
	}
	if cp.Offsets["purchases"] != 10 || cp.Watermark != 5000 || cp.Clock != 4000 || cp.ModelDone != "3/ab12" {
		t.Fatalf("checkpoint = %+v", cp)
	}
	next := state.Batch{Gen: 5, Offsets: map[string]state.OffsetRange{"purchases": {From: 10, To: 11}}}
	if err := s.Commit(ctx, 3, next); !errors.Is(err, state.ErrFenced) {
		t.Fatalf("zombie commit: err = %v, want ErrFenced", err)
	}
	// An older generation cannot claim while the lease runs.
	if _, err := s.Claim(ctx, 3, 5, "a"); !errors.Is(err, state.ErrFenced) {
		t.Fatalf("old generation claim: err = %v, want ErrFenced", err)
	}
	next.Gen = 6
	if err := s.Commit(ctx, 3, next); err != nil {
		t.Fatalf("owner commit: %v", err)
	}
	// Nothing of the refused commits leaked.
	if n, _ := s.OutboxLen(ctx, 3); n != 1 {
		t.Fatalf("outbox has %d records, want 1", n)
	}
	got, err := s.Load(ctx, 3, []string{"c1", "unknown"})
	if err != nil {
		t.Fatal(err)
	}
	if got["c1"].Segment != "new" || got["unknown"].ID != "unknown" || got["unknown"].Version != 0 {
		t.Fatalf("loaded %+v %+v", got["c1"], got["unknown"])
	}
	due, err := s.Timers(ctx, 3, 1, 999, 10)
	if err != nil || len(due) != 0 {
		t.Fatalf("due before time: %v %v", due, err)
	}
	due, _ = s.Timers(ctx, 3, 1, 1000, 10)
	if len(due) != 1 || due[0] != (state.Timer{ID: "c1", Due: 1000}) {
		t.Fatalf("due at time: %v", due)
	}
}

func TestClaimAfterLeaseExpiry(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	ctx := context.Background()
	s := state.New(rdb, prefix, 200*time.Millisecond)
	if _, err := s.Claim(ctx, 0, 40, "old-group"); err != nil {
		t.Fatal(err)
	}
	// A recreated group starts at generation 1: refused while the lease runs,
	// accepted once it expired; the old owner is then fenced.
	if _, err := s.Claim(ctx, 0, 1, "new-group"); !errors.Is(err, state.ErrFenced) {
		t.Fatalf("claim during lease: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := s.Claim(ctx, 0, 1, "new-group"); err != nil {
		t.Fatalf("claim after lease: %v", err)
	}
	if err := s.Commit(ctx, 0, state.Batch{Gen: 40}); !errors.Is(err, state.ErrFenced) {
		t.Fatalf("old owner commit: %v", err)
	}
}

// A commit's outbox records are one entry, read back in order with their
// destinations; the backlog count follows commits and acknowledgements,
// and acknowledging an entry twice (a relay re-run after a crash, the old
// owner's relay after a rebalance) takes it off once.
func TestOutboxReadAck(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	ctx := context.Background()
	s := state.New(rdb, prefix, time.Minute)
	if _, err := s.Claim(ctx, 1, 1, "a"); err != nil {
		t.Fatal(err)
	}
	first := []state.OutboxRecord{
		{Key: "r1", Value: []byte(`{"type":"segment_changed"}`)},
		{Key: "f1", Value: []byte(`{"type":"referral_credited"}`), Dest: state.DestReferrals},
		{Key: "", Value: []byte{}},
	}
	second := []state.OutboxRecord{{Key: "r2", Value: []byte(`{"type":"tier_changed"}`)}}
	for _, recs := range [][]state.OutboxRecord{first, nil, second} {
		if err := s.Commit(ctx, 1, state.Batch{Gen: 1, Outbox: recs}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.OutboxLen(ctx, 1); n != 4 || err != nil {
		t.Fatalf("OutboxLen = %d, %v; want 4", n, err)
	}
	got, err := s.ReadOutbox(ctx, 1, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("ReadOutbox = %d entries, %v; want one per commit with records", len(got), err)
	}
	for i, want := range [][]state.OutboxRecord{first, second} {
		if got[i].Counted != len(want) || len(got[i].Records) != len(want) {
			t.Fatalf("entry %d: %d records (counted %d), want %d", i, len(got[i].Records), got[i].Counted, len(want))
		}
		for j, r := range got[i].Records {
			if r.Key != want[j].Key || string(r.Value) != string(want[j].Value) || r.Dest != want[j].Dest {
				t.Errorf("entry %d record %d = %+v, want %+v", i, j, r, want[j])
			}
		}
	}
	for range 2 {
		if left, err := s.AckOutbox(ctx, 1, got[:1]); left != 1 || err != nil {
			t.Fatalf("ack: %d records left, %v; want 1", left, err)
		}
		if n, _ := s.OutboxLen(ctx, 1); n != 1 {
			t.Fatalf("after ack: OutboxLen = %d, want 1", n)
		}
	}
	if rest, _ := s.ReadOutbox(ctx, 1, 10); len(rest) != 1 || rest[0].Records[0].Key != "r2" {
		t.Fatalf("after ack: %+v", rest)
	}
	if left, err := s.AckOutbox(ctx, 1, got); left != 0 || err != nil {
		t.Fatalf("ack: %d records left, %v; want 0", left, err)
	}
	if n, _ := s.OutboxLen(ctx, 1); n != 0 {
		t.Fatalf("drained: OutboxLen = %d, want 0", n)
	}
}

// An outbox written by an older release (one entry per record: fields k,
// v and, for a referral credit, d) is read and acknowledged as before,
// alongside packed entries, in commit order.
func TestOutboxOlderEntries(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	ctx := context.Background()
	s := state.New(rdb, prefix, time.Minute)
	if _, err := s.Claim(ctx, 1, 1, "a"); err != nil {
		t.Fatal(err)
	}
	key := s.Keys(1).Outbox
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"k", "old1", "v", "v1"}})
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"k", "old2", "v", "v2", "d", state.DestReferrals}})
	if err := s.Commit(ctx, 1, state.Batch{Gen: 1, Outbox: []state.OutboxRecord{{Key: "new", Value: []byte("v3")}}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OutboxLen(ctx, 1); n != 3 {
		t.Fatalf("OutboxLen = %d, want 3 (the entries outnumber the counted records)", n)
	}
	got, err := s.ReadOutbox(ctx, 1, 10)
	if err != nil || len(got) != 3 {
		t.Fatalf("ReadOutbox = %d entries, %v", len(got), err)
	}
	want := []state.OutboxRecord{{Key: "old1", Value: []byte("v1")}, {Key: "old2", Value: []byte("v2"), Dest: state.DestReferrals}, {Key: "new", Value: []byte("v3")}}
	for i, e := range got {
		if len(e.Records) != 1 || e.Records[0].Key != want[i].Key || string(e.Records[0].Value) != string(want[i].Value) || e.Records[0].Dest != want[i].Dest {
			t.Errorf("entry %d = %+v, want %+v", i, e, want[i])
		}
	}
	if _, err := s.AckOutbox(ctx, 1, got); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OutboxLen(ctx, 1); n != 0 {
		t.Fatalf("drained: OutboxLen = %d, want 0", n)
	}
}

// A batch larger than one bulk call of the commit script (1000 fields)
// writes every state and every due-set change: additions, moves and
// removals.
func TestCommitLargeBatch(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	ctx := context.Background()
	s := state.New(rdb, prefix, time.Minute)
	if _, err := s.Claim(ctx, 0, 1, "a"); err != nil {
		t.Fatal(err)
	}
	const n = 2500
	ids := make([]string, n)
	first := state.Batch{Gen: 1, Offsets: map[string]state.OffsetRange{"purchases": {From: -1, To: 1}}, Due: map[string]int64{}}
	for i := range ids {
		ids[i] = fmt.Sprintf("c%04d", i)
		first.States = append(first.States, &customer.State{ID: ids[i], Version: 1, Segment: "new"})
		first.Due[ids[i]] = int64(1000 + i)
	}
	if err := s.Commit(ctx, 0, first); err != nil {
		t.Fatal(err)
	}
	// Every third customer leaves the due set, every other one moves.
	second := state.Batch{Gen: 1, Offsets: map[string]state.OffsetRange{"purchases": {From: 1, To: 2}}, Due: map[string]int64{}}
	want := map[string]int64{}
	for i, id := range ids {
		second.States = append(second.States, &customer.State{ID: id, Version: 2, Segment: "loyal"})
		switch {
		case i%3 == 0:
			second.Due[id] = 0
		case i%2 == 0:
			second.Due[id] = int64(100000 + i)
			want[id] = int64(100000 + i)
		default:
			want[id] = int64(1000 + i)
		}
	}
	if err := s.Commit(ctx, 0, second); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, 0, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if st := got[id]; st.Version != 2 || st.Segment != "loyal" {
			t.Fatalf("state %s = version %d segment %q, want 2 loyal", id, st.Version, st.Segment)
		}
	}
	timers, err := s.Timers(ctx, 0, 1, 1<<50, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(timers) != len(want) {
		t.Fatalf("%d timers stored, want %d", len(timers), len(want))
	}
	for _, tm := range timers {
		if want[tm.ID] != tm.Due {
			t.Fatalf("timer %s due %d, want %d", tm.ID, tm.Due, want[tm.ID])
		}
	}
	// LoadRaw reads the due times with the states: 0 for none; only those
	// asked for.
	all := append([]string{"unknown"}, ids...)
	raw, dues, err := s.LoadRaw(ctx, 0, all, all)
	if err != nil {
		t.Fatal(err)
	}
	if r, d, err := s.LoadRaw(ctx, 0, all, nil); err != nil || len(d) != 0 || len(r) != len(all) || r[1] == nil {
		t.Fatalf("load without due times: %d states, %d due times, %v", len(r), len(d), err)
	}
	if raw[0] != nil || dues[0] != 0 {
		t.Fatalf("unknown customer loaded as %q due %d", raw[0], dues[0])
	}
	for i, id := range ids {
		if raw[i+1] == nil || dues[i+1] != want[id] {
			t.Fatalf("customer %s loaded with due %d, want %d", id, dues[i+1], want[id])
		}
	}
}

// A claim by a newer generation that lands between a commit's checks and
// its EXEC fences the commit: nothing of it is written. A write to the meta
// hash that does not fence (a release of the lease) makes the commit start
// over, and it is applied once.
func TestCommitRacingTheMetaHash(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	ctx := context.Background()
	s := state.New(rdb, prefix, time.Minute)
	if _, err := s.Claim(ctx, 2, 1, "a"); err != nil {
		t.Fatal(err)
	}
	batch := func(from, to int64, id string) state.Batch {
		return state.Batch{Gen: 1, Offsets: map[string]state.OffsetRange{"purchases": {From: from, To: to}},
			States: []*customer.State{{ID: id, Segment: "new"}}, Due: map[string]int64{id: 5000},
			Outbox: []state.OutboxRecord{{Key: id, Value: []byte("{}")}}, Watermark: to, Clock: to}
	}
	released := 0
	s.SetBeforeExec(func() {
		if released++; released == 1 {
			if ok, err := s.Release(ctx, 2, 1, "a"); !ok || err != nil {
				t.Errorf("release: %v %v", ok, err)
			}
		}
	})
	if err := s.Commit(ctx, 2, batch(-1, 10, "c1")); err != nil {
		t.Fatalf("commit after a release: %v", err)
	}
	if released != 2 {
		t.Fatalf("the commit ran its checks %d times, want 2 (once more after the release)", released)
	}
	claimed := false
	s.SetBeforeExec(func() {
		if !claimed {
			claimed = true
			if _, err := s.Claim(ctx, 2, 2, "b"); err != nil {
				t.Errorf("claim: %v", err)
			}
		}
	})
	if err := s.Commit(ctx, 2, batch(10, 20, "c2")); !errors.Is(err, state.ErrFenced) {
		t.Fatalf("commit raced by a claim: err = %v, want ErrFenced", err)
	}
	cp, err := s.Claim(ctx, 2, 2, "b")
	if err != nil {
		t.Fatal(err)
	}
	if cp.Offsets["purchases"] != 10 || cp.Watermark != 10 || cp.Clock != 10 {
		t.Fatalf("checkpoint = %+v, want the first commit's only", cp)
	}
	k := s.Keys(2)
	if n := rdb.HLen(ctx, k.Customers).Val(); n != 1 {
		t.Fatalf("%d customers stored, want 1", n)
	}
	if n := rdb.ZCard(ctx, k.Due).Val(); n != 1 {
		t.Fatalf("%d due entries, want 1", n)
	}
	if n, _ := s.OutboxLen(ctx, 2); n != 1 {
		t.Fatalf("outbox holds %d records, want 1", n)
	}
}
