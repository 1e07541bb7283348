package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/clvstream/clvstream/internal/connect"
	"github.com/clvstream/clvstream/internal/stream"
)

// topicRole is one topic of kafka.topics with what it is for.
type topicRole struct {
	option string // kafka.topics.<option>
	name   string
	input  bool
}

// topicRoles lists the topics of t (the optional surveys and referrals
// when set), inputs first.
func topicRoles(t stream.Topics) []topicRole {
	roles := []topicRole{
		{"purchases", t.Purchases, true}, {"tickets", t.Tickets, true}, {"emails", t.Emails, true},
	}
	if t.Surveys != "" { // optional: survey events go on tickets otherwise
		roles = append(roles, topicRole{"surveys", t.Surveys, true})
	}
	if t.Referrals != "" { // optional, internal: the referral credits, read as an input
		roles = append(roles, topicRole{"referrals", t.Referrals, true})
	}
	return append(roles, topicRole{"segment_changes", t.SegmentChanges, false}, topicRole{"dead_letter", t.DeadLetter, false})
}

// topicPlan is what `clvstream topics` does about the topics it found.
type topicPlan struct {
	// create maps a missing topic to the partition count it gets.
	create map[string]int
	// notes explain a choice (a count taken from existing topics).
	notes []string
	// problems are what stops the service from starting: input topics
	// with different partition counts.
	problems []string
}

// planTopics decides what to create, given the partition count of every
// existing topic (have; missing topics are absent) and the configured
// count. Every missing topic gets the same count: the existing input
// topics' count when there is one (so the inputs stay co-partitioned),
// else topic_creation.partitions. Input topics with different counts are
// a problem no creation can fix; missing inputs are then not created.
func planTopics(roles []topicRole, have map[string]int, partitions int) topicPlan {
	p := topicPlan{create: map[string]int{}}
	counts := map[int][]string{}
	for _, r := range roles {
		if n, ok := have[r.name]; ok && r.input {
			counts[n] = append(counts[n], r.name)
		}
	}
	n := partitions
	switch len(counts) {
	case 0:
	case 1:
		for c, names := range counts {
			if c != partitions {
				p.notes = append(p.notes, fmt.Sprintf("the existing input topics (%s) have %d partitions: missing topics get %d too, not topic_creation.partitions (%d), so the inputs stay co-partitioned",
					strings.Join(names, ", "), c, c, partitions))
			}
			n = c
		}
	default:
		var parts []string
		for _, r := range roles {
			if c, ok := have[r.name]; ok && r.input {
				parts = append(parts, fmt.Sprintf("%s has %d", r.name, c))
			}
		}
		p.problems = append(p.problems, fmt.Sprintf("the input topics are not co-partitioned: %s partitions; every input topic needs the same count (recreate the odd ones empty, or add partitions with kafka-topics.sh --alter before any data is keyed into them)", strings.Join(parts, ", ")))
	}
	for _, r := range roles {
		if _, ok := have[r.name]; ok {
			continue
		}
		if r.input && len(counts) > 1 {
			continue
		}
		p.create[r.name] = n
	}
	return p
}

// topicsCmd creates the missing topics of kafka.topics, or with --check
// only reports what is missing and whether the inputs are co-partitioned.
func topicsCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("topics", flag.ExitOnError)
	check := fs.Bool("check", false, "only report missing topics and input topics that are not co-partitioned (exit status 1 if any)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: clvstream topics [--check] [--config FILE] [--set path=value ...]

Creates the topics of kafka.topics that do not exist: the input topics
(purchases, tickets, emails, and surveys and the internal referrals topic
when they are set), segment_changes and dead_letter, all with the
same partition count (topic_creation.partitions, default 12; the existing
input topics' count if there are any) and topic_creation.replication_factor
replicas (default: the broker's default). Existing topics are left alone, so
running it again is harmless. Exits 1 if the input topics do not end up
co-partitioned. The brokers and topic names come from the same
configuration as 'clvstream run' (docs/configuration.md).

flags:
`)
		fs.PrintDefaults()
	}
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	_, transport, err := connect.Kafka(cfg.KafkaSecurity)
	if err != nil {
		return err
	}
	client := &kafka.Client{Addr: kafka.TCP(cfg.Kafka.Brokers...), Timeout: 15 * time.Second, Transport: transport}
	roles := topicRoles(cfg.Kafka.Topics)
	have, err := topicPartitions(ctx, client, roles)
	if err != nil {
		return fmt.Errorf("kafka at %s: %w", strings.Join(cfg.Kafka.Brokers, ","), err)
	}
	plan := planTopics(roles, have, cfg.TopicCreation.Partitions)
	if !*check && len(plan.create) > 0 {
		if err := createTopics(ctx, client, plan.create, cfg.TopicCreation.ReplicationFactor); err != nil {
			return err
		}
	}
	w := func(format string, a ...any) { fmt.Fprintf(out, format, a...) }
	missing := 0
	for _, r := range roles {
		kind := "output"
		if r.input {
			kind = "input"
		}
		label := fmt.Sprintf("%-32s %-6s (kafka.topics.%s)", r.name, kind, r.option)
		switch n, ok := have[r.name]; {
		case ok:
			w("%s  %3d partitions  exists\n", label, n)
		case *check:
			missing++
			w("%s  missing\n", label)
		case plan.create[r.name] > 0:
			w("%s  %3d partitions  created\n", label, plan.create[r.name])
		default:
			missing++
			w("%s  missing (not created: see below)\n", label)
		}
	}
	for _, n := range plan.notes {
		w("note: %s\n", n)
	}
	var problems []string
	problems = append(problems, plan.problems...)
	if missing > 0 {
		hint := ""
		if *check {
			hint = "; create them with: clvstream topics (same flags, without --check)"
		}
		problems = append(problems, fmt.Sprintf("%d topic(s) missing%s", missing, hint))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	n := have[roles[0].name]
	if n == 0 {
		n = plan.create[roles[0].name]
	}
	w("topics OK: the input topics are co-partitioned (%d partitions each); produce with the %s partitioner, keyed by customer_id\n", n, cfg.Kafka.Partitioner)
	return nil
}

// topicPartitions returns the partition count of every existing topic of
// roles.
func topicPartitions(ctx context.Context, client *kafka.Client, roles []topicRole) (map[string]int, error) {
	var names []string
	for _, r := range roles {
		names = append(names, r.name)
	}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
	if err != nil {
		return nil, fmt.Errorf("read topic metadata: %w", err)
	}
	have := map[string]int{}
	for _, t := range md.Topics {
		switch {
		case t.Error == nil:
			have[t.Name] = len(t.Partitions)
		case errors.Is(t.Error, kafka.UnknownTopicOrPartition):
		default:
			return nil, fmt.Errorf("topic %s: %w", t.Name, t.Error)
		}
	}
	return have, nil
}

// createTopics creates the topics (name → partitions) and waits until the
// brokers know every partition's leader. A topic created meanwhile by
// someone else counts as created.
func createTopics(ctx context.Context, client *kafka.Client, create map[string]int, replication int) error {
	if replication == 0 {
		replication = -1 // the broker's default.replication.factor
	}
	var cfgs []kafka.TopicConfig
	var names []string
	for name, n := range create {
		cfgs = append(cfgs, kafka.TopicConfig{Topic: name, NumPartitions: n, ReplicationFactor: replication})
		names = append(names, name)
	}
	sort.Strings(names)
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: cfgs})
	if err != nil {
		return fmt.Errorf("create topics %s: %w", strings.Join(names, ", "), err)
	}
	var errs []error
	for _, name := range names {
		if e := res.Errors[name]; e != nil && !errors.Is(e, kafka.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", name, e))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
		ready := err == nil
		if ready {
			for _, t := range md.Topics {
				if t.Error != nil || len(t.Partitions) != create[t.Name] {
					ready = false
				}
				for _, p := range t.Partitions {
					if p.Leader.Host == "" {
						ready = false
					}
				}
			}
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("created topics %s, but their partitions have no leader after 30s (last error: %v)", strings.Join(names, ", "), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
