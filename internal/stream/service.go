package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clvstream/clvstream/internal/core"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/zaplog"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// Deps are the collaborators of a Service.
type Deps struct {
	Log     *zap.Logger
	Metrics *Metrics
	Store   *state.Store
	Scorer  *scoring.Scorer
	Decoder *event.Decoder
	// Models gives the model in force (nil: baseline scores).
	Models ModelSource
	// Dialer is used for the consumer group and readers; nil means
	// kafka-go's default (plaintext).
	Dialer *kafka.Dialer
	// Transport is used by the writers; nil means kafka-go's default.
	Transport kafka.RoundTripper
	// InstanceID names this instance in the owner fence and logs.
	InstanceID string
	// CustomerField is the log field naming a customer (hashed under
	// log.hash_customer_ids); nil logs no customer id at all.
	CustomerField func(id string) zap.Field
}

// ModelSource gives the model version in force. Current must be cheap and
// safe for concurrent use; it returns nil before any model was published.
type ModelSource interface {
	Current() *model.Record
}

// Service runs the pipeline. Create it with New and run it with Run.
type Service struct {
	cfg      Config
	d        Deps
	log      *zap.Logger
	part     Partitioner
	out      *kafka.Writer
	dlq      *kafka.Writer
	nParts   int
	assigned atomic.Int32
	core     *core.Processor
	stalled  sync.Map // partition -> why it counts as stalled
}

// New validates cfg and returns a Service.
func New(cfg Config, d Deps) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Log == nil || d.Metrics == nil || d.Store == nil || d.Scorer == nil || d.Decoder == nil || d.Models == nil {
		return nil, errors.New("stream: Log, Metrics, Store, Scorer, Decoder and Models are required")
	}
	// Every applied series exists from the start, as the dead-letter ones
	// do: a series born at its first batch has no zero sample, so rate()
	// would miss that batch and a ratio of dead letters to records (the
	// ClvstreamDeadLetterRatio alert) would read high after each start.
	for _, ty := range append(slices.Clone(event.Types), event.InternalTypes...) {
		if topic := cfg.Topics.For(ty); topic != "" {
			d.Metrics.Records.WithLabelValues(topic, string(ty), customer.Applied.String())
		}
	}
	part, _ := NewPartitioner(cfg.Partitioner)
	s := &Service{cfg: cfg, d: d, log: d.Log, part: part}
	proc, err := core.New(core.Config{
		Decoder: d.Decoder, Scorer: d.Scorer, TopicFor: cfg.Topics.For,
		PartitionOf: func(id string) int { return PartitionOf(part, id, s.nParts) }, Partitioner: cfg.Partitioner,
		AllowedLateness: cfg.AllowedLateness, ReplayThreshold: cfg.ReplayThreshold,
		Referrals: cfg.Topics.Referrals != "",
	})
	if err != nil {
		return nil, err
	}
	s.core = proc
	s.out = s.newWriter("") // each outbox record names its topic (destTopic)
	s.dlq = s.newWriter(cfg.Topics.DeadLetter)
	return s, nil
}

// newWriter returns a producer for topic (empty: every message names its
// own topic, as the outbox relay's do). The settings are deliberate, not
// kafka-go's defaults: RequireAll so an acknowledged segment change or
// dead letter survives a broker failure (we delete the outbox entry or move
// the offset only after that acknowledgement); the input partitioner so
// changes of one customer stay in one partition, in order, and land where a
// Java consumer expects them; a 5 ms BatchTimeout instead of 1 s because
// every write is synchronous and waits for the batch to fill or time out;
// BatchSize 1000 so one relay round is one request per partition; and
// MaxAttempts 5 with the error returned to us, since the outbox (or the
// unflushed batch) is our retry buffer.
func (s *Service) newWriter(topic string) *kafka.Writer {
	return &kafka.Writer{
		Addr:                   kafka.TCP(s.cfg.Brokers...),
		Topic:                  topic,
		Balancer:               s.part,
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           5 * time.Millisecond,
		BatchSize:              1000,
		BatchBytes:             int64(s.cfg.MaxMessageBytes),
		MaxAttempts:            5,
		WriteTimeout:           10 * time.Second,
		AllowAutoTopicCreation: false,
		Transport:              s.d.Transport,
	}
}

// destTopic is the topic of an outbox destination ("" when the
// destination's topic is not configured).
func (s *Service) destTopic(dest string) string {
	switch dest {
	case "":
		return s.cfg.Topics.SegmentChanges
	case state.DestReferrals:
		return s.cfg.Topics.Referrals
	}
	return ""
}

// idFields are the log fields naming a customer (Deps.CustomerField).
func (s *Service) idFields(id string) []zap.Field {
	if s.d.CustomerField == nil {
		return nil
	}
	return []zap.Field{s.d.CustomerField(id)}
}

// Partitioner returns the input partitioner (for finding a customer's
// partition).
func (s *Service) Partitioner() Partitioner { return s.part }

// Ready reports whether the service owns at least one partition.
func (s *Service) Ready() bool { return s.assigned.Load() > 0 }

// Stalled describes the owned partitions that have lag but applied nothing
// for a while; empty when every partition advances.
func (s *Service) Stalled() []string {
	var out []string
	s.stalled.Range(func(_, v any) bool {
		out = append(out, v.(string))
		return true
	})
	sort.Strings(out)
	return out
}

// CheckTopics verifies that the input topics exist and are co-partitioned
// and that the output topics exist, and returns the input partition count.
func (s *Service) CheckTopics(ctx context.Context) (int, error) {
	client := &kafka.Client{Addr: kafka.TCP(s.cfg.Brokers...), Timeout: 10 * time.Second, Transport: s.d.Transport}
	inputs := s.cfg.Topics.Inputs()
	all := append(append([]string{}, inputs...), s.cfg.Topics.SegmentChanges, s.cfg.Topics.DeadLetter)
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: all})
	if err != nil {
		return 0, fmt.Errorf("read topic metadata from %v: %w", s.cfg.Brokers, err)
	}
	counts := map[string]int{}
	for _, t := range md.Topics {
		if t.Error == nil {
			counts[t.Name] = len(t.Partitions)
		}
	}
	for _, name := range all {
		if counts[name] == 0 {
			return 0, fmt.Errorf("topic %q does not exist (or has no partitions): create it before starting clvstream", name)
		}
	}
	n := counts[inputs[0]]
	for _, name := range inputs[1:] {
		if counts[name] != n {
			return 0, fmt.Errorf("input topics are not co-partitioned: %q has %d partitions, %q has %d; give every input topic the same partition count and keying", inputs[0], n, name, counts[name])
		}
	}
	return n, nil
}

// Run consumes until ctx is cancelled, then finishes the current batches,
// drains the outboxes and leaves the group within ShutdownTimeout.
func (s *Service) Run(ctx context.Context) error {
	defer s.out.Close()
	defer s.dlq.Close()
	n, err := s.CheckTopics(ctx)
	if err != nil {
		return err
	}
	s.nParts = n
	if prev, err := s.d.Store.Partitions(ctx); err != nil {
		return fmt.Errorf("read partition count from redis: %w", err)
	} else if prev != 0 && prev != n {
		return fmt.Errorf("input topics have %d partitions but the state in Redis was built with %d: customers would move between partitions and their state would split; keep the partition count (or rebuild the state by replaying into a new redis.key_prefix)", n, prev)
	}
	if err := s.d.Store.SetPartitions(ctx, n); err != nil {
		return fmt.Errorf("record partition count in redis: %w", err)
	}
	s.d.Metrics.Partitions.Set(float64(n))
	start := kafka.FirstOffset
	if s.cfg.StartOffset == "latest" {
		start = kafka.LastOffset
	}
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                s.cfg.GroupID,
		Brokers:           s.cfg.Brokers,
		Dialer:            s.d.Dialer,
		Topics:            s.cfg.Topics.Inputs(),
		GroupBalancers:    []kafka.GroupBalancer{kafka.RangeGroupBalancer{}},
		HeartbeatInterval: s.cfg.HeartbeatInterval,
		SessionTimeout:    s.cfg.SessionTimeout,
		RebalanceTimeout:  s.cfg.RebalanceTimeout,
		StartOffset:       start,
		Logger:            zaplog.Kafka(s.log.Named("kafka"), zapcore.DebugLevel),
		ErrorLogger:       zaplog.Kafka(s.log.Named("kafka"), zapcore.WarnLevel),
	})
	if err != nil {
		return fmt.Errorf("create consumer group %q: %w", s.cfg.GroupID, err)
	}
	var tasks sync.WaitGroup
	for {
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			s.d.Metrics.KafkaErrors.WithLabelValues("join").Inc()
			s.log.Warn("consumer group join failed; retrying", zap.Error(err))
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		s.d.Metrics.Rebalances.Inc()
		parts := assignedPartitions(gen)
		s.log.Info("joined generation", zap.Int32("generation", gen.ID), zap.Ints("partitions", parts))
		for _, p := range parts {
			p := p
			tasks.Add(1)
			gen.Start(func(genCtx context.Context) {
				defer tasks.Done()
				s.d.Metrics.Assigned.Set(float64(s.assigned.Add(1)))
				defer func() { s.d.Metrics.Assigned.Set(float64(s.assigned.Add(-1))) }()
				t := newTask(s, gen, p, len(parts))
				if err := t.run(ctx, genCtx); err != nil {
					s.log.Error("task stopped", zap.Int("partition", p), zap.Int32("generation", gen.ID), zap.Error(err))
				} else {
					s.releaseOwner(p, gen.ID)
				}
			})
		}
	}
	done := make(chan struct{})
	go func() {
		tasks.Wait()
		_ = group.Close() // leaves the group
		close(done)
	}()
	select {
	case <-done:
		s.log.Info("left consumer group")
	case <-time.After(s.cfg.ShutdownTimeout + 5*time.Second):
		s.log.Warn("shutdown timeout: leaving without waiting for all tasks")
	}
	return nil
}

// assignedPartitions returns the partition numbers assigned in gen, sorted.
func assignedPartitions(gen *kafka.Generation) []int {
	set := map[int]bool{}
	for _, as := range gen.Assignments {
		for _, a := range as {
			set[a.ID] = true
		}
	}
	out := make([]int, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}
