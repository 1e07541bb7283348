package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/internal/testkit"
)

func TestPlanTopics(t *testing.T) {
	roles := topicRoles(stream.Topics{Purchases: "p", Tickets: "t", Emails: "e", SegmentChanges: "s", DeadLetter: "d"})
	tests := []struct {
		name     string
		have     map[string]int
		create   map[string]int
		notes    int
		problems int
	}{
		{"nothing exists: all five with the configured count", map[string]int{},
			map[string]int{"p": 12, "t": 12, "e": 12, "s": 12, "d": 12}, 0, 0},
		{"everything exists: nothing to do", map[string]int{"p": 12, "t": 12, "e": 12, "s": 12, "d": 12},
			map[string]int{}, 0, 0},
		{"existing inputs with another count: missing topics follow them", map[string]int{"p": 6},
			map[string]int{"t": 6, "e": 6, "s": 6, "d": 6}, 1, 0},
		{"outputs with any count are fine", map[string]int{"p": 12, "t": 12, "e": 12, "s": 3, "d": 1},
			map[string]int{}, 0, 0},
		{"inputs not co-partitioned: a problem; no input created, outputs still are", map[string]int{"p": 6, "t": 12},
			map[string]int{"s": 12, "d": 12}, 0, 1},
	}
	// The internal referrals topic, when set, is an input: created with the
	// inputs' count and part of the co-partitioning check.
	withRef := topicRoles(stream.Topics{Purchases: "p", Tickets: "t", Emails: "e", SegmentChanges: "s", DeadLetter: "d", Referrals: "r"})
	if p := planTopics(withRef, map[string]int{"p": 6, "t": 6, "e": 6, "s": 6, "d": 6}, 12); !reflect.DeepEqual(p.create, map[string]int{"r": 6}) {
		t.Errorf("referrals: create %v, want r with the inputs' 6 partitions", p.create)
	}
	if p := planTopics(withRef, map[string]int{"p": 6, "t": 6, "e": 6, "r": 12}, 12); len(p.problems) != 1 || !strings.Contains(p.problems[0], "r has 12") {
		t.Errorf("referrals with another count: problems %q, want the input topics not co-partitioned", p.problems)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := planTopics(roles, tt.have, 12)
			if !reflect.DeepEqual(p.create, tt.create) {
				t.Errorf("create %v, want %v", p.create, tt.create)
			}
			if len(p.notes) != tt.notes || len(p.problems) != tt.problems {
				t.Errorf("notes %q, problems %q; want %d and %d", p.notes, p.problems, tt.notes, tt.problems)
			}
		})
	}
}

// topicSets returns --set flags for the five topics under a unique prefix.
func topicSets(brokers []string, prefix string) []string {
	sets := []string{"--set", "kafka.brokers=" + strings.Join(brokers, ",")}
	for _, k := range []string{"purchases", "tickets", "emails", "segment_changes", "dead_letter"} {
		sets = append(sets, "--set", "kafka.topics."+k+"="+prefix+"."+k)
	}
	return sets
}

// clvstream topics against a broker: --check reports what is missing and
// fails; the first run creates all five co-partitioned, the second changes
// nothing; a missing input topic follows the existing inputs' count; input
// topics with different counts fail both modes.
func TestTopicsCommand(t *testing.T) {
	brokers, _ := testkit.Kafka(t)
	ctx := context.Background()
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := topicsCmd(ctx, args, &out)
		return out.String(), err
	}
	prefix := testkit.Unique("topics")
	sets := topicSets(brokers, prefix)

	out, err := run(append([]string{"--check"}, sets...)...)
	if err == nil || !strings.Contains(err.Error(), "5 topic(s) missing") || strings.Count(out, "missing") != 5 {
		t.Fatalf("--check on nothing: err %v\n%s", err, out)
	}
	out, err = run(append(sets, "--set", "topic_creation.partitions=3")...)
	if err != nil || strings.Count(out, "  3 partitions  created") != 5 || !strings.Contains(out, "topics OK") {
		t.Fatalf("first run: err %v\n%s", err, out)
	}
	out, err = run(sets...) // partitions default 12 now: existing topics win
	if err != nil || strings.Count(out, "  3 partitions  exists") != 5 {
		t.Fatalf("second run: err %v\n%s", err, out)
	}
	if out, err = run(append([]string{"--check"}, sets...)...); err != nil {
		t.Fatalf("--check after creation: %v\n%s", err, out)
	}

	// Only the purchases topic exists, with 2 partitions: the rest get 2.
	prefix2 := testkit.Unique("topics")
	testkit.CreateTopics(t, brokers, 2, prefix2+".purchases")
	out, err = run(topicSets(brokers, prefix2)...)
	if err != nil || strings.Count(out, "  2 partitions  created") != 4 || !strings.Contains(out, "note: the existing input topics") {
		t.Fatalf("following the existing count: err %v\n%s", err, out)
	}

	// Inputs with different counts.
	prefix3 := testkit.Unique("topics")
	testkit.CreateTopics(t, brokers, 2, prefix3+".purchases")
	testkit.CreateTopics(t, brokers, 3, prefix3+".tickets")
	for _, check := range []bool{true, false} {
		args := topicSets(brokers, prefix3)
		if check {
			args = append([]string{"--check"}, args...)
		}
		out, err = run(args...)
		if err == nil || !strings.Contains(err.Error(), "not co-partitioned") || !strings.Contains(err.Error(), prefix3+".tickets has 3") {
			t.Fatalf("check=%v with inputs of 2 and 3 partitions: err %v\n%s", check, err, out)
		}
	}
}
