package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/testkit"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// idOn returns the first id prefix-N that hashes to partition p.
func (e *env) idOn(prefix string, p int) string {
	for i := 0; ; i++ {
		if id := fmt.Sprintf("%s-%d", prefix, i); e.partitionOf(id) == p {
			return id
		}
	}
}

// waitQuiet waits until every input record is applied and every outbox is
// drained twice in a row: a credit relayed from one partition's outbox
// during the first pass is then an input record the second pass waits for.
func (e *env) waitQuiet(timeout time.Duration) {
	e.t.Helper()
	testkit.Eventually(e.t, timeout, "all input applied, outboxes drained and referral credits applied", func() bool {
		return e.appliedAll() && e.appliedAll()
	})
}

// owner is the instance that claimed partition p last (the owner fence).
func (e *env) owner(p int) string {
	v, _ := e.rdb.HGet(context.Background(), e.store().Keys(p).Meta, "owner").Result()
	return v
}

// A referral credited across partitions, against the real Kafka and Redis:
// the referred customer R lives on partition 3, the referrer F on partition
// 0. The process applying R's customer_acquired is killed with SIGKILL just
// after that commit (before or after its relay: the test reports which);
// then two instances (a child process and an in-process service, so two
// owners) split the partitions, F's and R's partitions on different ones,
// while the customer_acquired is redelivered, the credit re-sent as a
// crashed relay re-sends, and a second referred customer credits a referrer
// who has no state yet. Each referrer counts exactly one referral and a
// `referrals >= 1` rule puts them in segment ambassador; a replay of the
// same topics into a fresh state gives the same segment-change stream,
// byte for byte.
func TestReferralCreditAcrossPartitionsEndToEnd(t *testing.T) {
	e := newEnv(t, 4)
	e.topics.Referrals = strings.TrimSuffix(e.topics.Purchases, ".purchases") + ".referrals"
	testkit.CreateTopics(t, e.brokers, e.parts, e.topics.Referrals)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - {name: ambassador, when: \"referrals >= 1\"}\n  - {name: customer, when: \"true\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.pinModel(t)
	f1, r1 := e.idOn("f", 0), e.idOn("r", 3)
	f2, r2 := e.idOn("g", 0), e.idOn("s", 3)
	buy := func(cust string, at time.Time, order string) event.Record {
		return rec(event.Purchase, cust, at, func(x *event.Record) { x.OrderID, x.Amount, x.Currency = order, "25.00", "USD" })
	}
	acquire := func(cust, referrer string, at time.Time) event.Record {
		return rec(event.CustomerAcquired, cust, at, func(x *event.Record) { x.Channel, x.ReferrerID = "referral", referrer })
	}
	// History of 2023: the referrers' own events come before the
	// credits in event time (see the design doc on determinism).
	day := time.Date(2023, 1, 10, 0, 0, 0, 0, time.UTC)
	var recs []event.Record
	for i := 0; i < 60; i++ {
		c := fmt.Sprintf("x-%02d", i)
		recs = append(recs, buy(c, day.Add(time.Duration(i)*24*time.Hour), c+"-o1"))
	}
	recs = append(recs, buy(f1, day, "f1-o1"), buy(f1, day.AddDate(0, 1, 0), "f1-o2"))
	acq1 := acquire(r1, f1, day.AddDate(0, 3, 0))
	recs = append(recs, buy(r1, day.AddDate(0, 3, 0), "r1-o1"), acq1)
	e.produceRecords(recs...)

	set := []string{"--set", "scoring.segment_rules_file=" + rules}
	proc := e.startProcess(t, set...)
	r1Offset := testkit.EndOffset(t, e.brokers, e.topics.Purchases, 3) // R1's acquisition is the last record of partition 3
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, _ := e.rdb.HGet(context.Background(), e.store().Keys(3).Meta, "off:"+e.topics.Purchases).Int64()
		if v >= r1Offset {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the acquisition was not applied within 60s")
		}
		time.Sleep(time.Millisecond)
	}
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = proc.Process.Wait()
	if left, _ := e.store().ReadOutbox(context.Background(), 3, 1000); len(left) > 0 {
		records, credits := 0, 0
		for _, o := range left {
			for _, r := range o.Records {
				records++
				if r.Dest == state.DestReferrals {
					credits++
				}
			}
		}
		t.Logf("killed between the commit of the acquisition and its relay: %d record(s) left in the outbox of partition 3, %d of them referral credits", records, credits)
	} else {
		t.Logf("killed after the relay of partition 3 had delivered its outbox")
	}

	// Two owners: the restarted process and an in-process instance.
	proc = e.startProcess(t, set...)
	cfg := e.config()
	cfg.Scoring.SegmentRulesFile = rules
	stop := e.start(cfg, "b")
	testkit.Eventually(t, 90*time.Second, "partitions 0 and 3 owned by different instances", func() bool {
		o0, o3 := e.owner(0), e.owner(3)
		return o0 != "" && o3 != "" && o0 != o3 && e.appliedAll()
	})
	t.Logf("partition 0 (referrers) owned by %s, partition 3 (referred) by %s", e.owner(0), e.owner(3))
	// The acquisition redelivered (a producer retry: a new record, same
	// event), the credit re-sent as a relay that crashed before trimming
	// its outbox re-sends it, and a new referral of a referrer unknown so
	// far.
	credit, _ := json.Marshal(event.ReferralCredit{EventID: event.ReferralCreditID(customer.HashID(r1), customer.HashID(f1)),
		Type: event.ReferralCredited, CustomerID: f1, ReferredHash: event.HashHex(customer.HashID(r1)), OccurredAt: acq1.OccurredAt})
	e.produce(e.topics.Referrals, kafka.Message{Key: []byte(f1), Value: credit})
	e.produceRecords(acq1, acquire(r2, f2, day.AddDate(0, 5, 0)))
	e.waitQuiet(90 * time.Second)
	if o0, o3 := e.owner(0), e.owner(3); o0 == o3 {
		t.Fatalf("partitions 0 and 3 both owned by %s at the end", o0)
	}
	stop()
	_ = proc.Process.Signal(syscall.SIGTERM)
	_ = proc.Wait()

	sts := e.states()
	for f, r := range map[string]string{f1: r1, f2: r2} {
		st := sts[f]
		if st == nil {
			t.Fatalf("referrer %s has no state", f)
		}
		if st.ReferralCount() != 1 || st.Referrals[0].Referred != customer.HashID(r) {
			t.Errorf("referrer %s: referrals %+v, want exactly the one of %s", f, st.Referrals, r)
		}
		if st.Segment != "ambassador" {
			t.Errorf("referrer %s: segment %q, want ambassador (rule referrals >= 1)", f, st.Segment)
		}
		if rb, _ := sts[r].MarshalBinary(); bytes.Contains(rb, []byte(f)) {
			t.Errorf("the referred customer's state holds the referrer's raw id")
		}
	}
	for id, st := range sts {
		if id != f1 && id != f2 && st.ReferralCount() != 0 {
			t.Errorf("%s: %d referrals, want none", id, st.ReferralCount())
		}
	}
	var ours []kafka.Message
	for _, m := range testkit.ReadAll(t, e.brokers, e.topics.Referrals, e.parts) {
		if string(m.Key) == f1 {
			ours = append(ours, m)
			if !bytes.Equal(m.Value, credit) {
				t.Errorf("credit record %s, want %s", m.Value, credit)
			}
		}
	}
	if len(ours) < 3 {
		t.Errorf("%d credit records for %s, want at least 3 (the credit, its re-send, the redelivered acquisition's)", len(ours), f1)
	}
	e.checkChangeLog(sts)
	first := e.changeStreams()

	// Replay the same topics (the referrals topic included) into a fresh
	// state.
	rp := e.fork(t)
	rp.pinModel(t)
	rcfg := rp.config()
	rcfg.Scoring.SegmentRulesFile = rules
	stop = rp.start(rcfg, "replay")
	rp.waitQuiet(90 * time.Second)
	stop()
	again := rp.changeStreams()
	if len(again) != len(first) {
		t.Fatalf("replay: %d customers with segment changes, first run %d", len(again), len(first))
	}
	for id, cs := range first {
		if strings.Join(again[id], "\n") != strings.Join(cs, "\n") {
			t.Fatalf("customer %s: the replay's segment changes differ:\n%s\nfirst run:\n%s", id, strings.Join(again[id], "\n"), strings.Join(cs, "\n"))
		}
	}
	if got := rp.states()[f1]; got == nil || got.ReferralCount() != 1 {
		t.Fatalf("replay: referrer %v", got)
	}
}
