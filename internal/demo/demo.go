package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/app"
	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/obs"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/pkg/event"
)

// Options configure the demo.
type Options struct {
	HTTPAddr  string
	Customers int
	DayEvery  time.Duration
	Duration  time.Duration
}

// Run runs the demo until ctx ends (or Duration passes), writing the live
// summary to out.
func Run(ctx context.Context, o Options, out io.Writer) error {
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	cfg := config.Config{}
	cfg.Kafka.Topics = stream.Config{}.WithDefaults().Topics
	t := cfg.Kafka.Topics
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, t.Purchases, t.Tickets, t.Emails, t.SegmentChanges, t.DeadLetter))
	if err != nil {
		return fmt.Errorf("start in-process kafka: %w", err)
	}
	defer cluster.Close()
	mr, err := miniredis.Run()
	if err != nil {
		return fmt.Errorf("start in-process redis: %w", err)
	}
	defer mr.Close()

	cfg.Kafka.Brokers = cluster.ListenAddrs()
	cfg.Kafka.ReplayThreshold = time.Hour
	cfg.Kafka.AllowedLateness = time.Minute
	cfg.Kafka.RescoreInterval = 250 * time.Millisecond
	cfg.Kafka.SessionTimeout = 6 * time.Second
	cfg.Redis.Addr = mr.Addr()
	cfg.HTTP.Addr = o.HTTPAddr
	cfg.HTTP.Auth = "none" // the demo's API is open; production needs bearer tokens
	cfg.Log.Level = "warn"
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log, err := obs.NewLogger("warn", "console")
	if err != nil {
		return err
	}
	reg := obs.NewRegistry()
	a, err := app.New(cfg, log, reg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "clvstream demo: in-process Kafka at %s, in-process Redis at %s, metrics at http://%s/metrics\n",
		strings.Join(cfg.Kafka.Brokers, ","), mr.Addr(), o.HTTPAddr)
	fmt.Fprintf(out, "simulating %d customers, one day every %s; Ctrl-C to stop\n\n", o.Customers, o.DayEvery)

	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		errc <- a.Run(ctx)
	}()
	sum := newSummary()
	wg.Add(2)
	go func() { defer wg.Done(); sum.consume(ctx, cfg, log) }()
	gen := newGenerator(o, cfg)
	go func() { defer wg.Done(); gen.run(ctx, log) }()

	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			sum.print(out, gen.simNow(), gen.produced(), deadLetters(reg))
		}
	}
	fmt.Fprintln(out, "\nstopping: finishing batches, flushing the outbox, leaving the group ...")
	wg.Wait()
	err = <-errc
	sum.print(out, gen.simNow(), gen.produced(), deadLetters(reg))
	if err == nil {
		fmt.Fprintln(out, "stopped cleanly")
	}
	return err
}

// summary tallies the segment-changes topic.
type summary struct {
	mu      sync.Mutex
	segment map[string]string
	changes int
	others  map[string]int // tier changes and milestones by type
	latest  []string
}

func newSummary() *summary { return &summary{segment: map[string]string{}, others: map[string]int{}} }

func (s *summary) consume(ctx context.Context, cfg config.Config, log *zap.Logger) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: cfg.Kafka.Brokers, GroupID: "clvstream-demo-summary", Topic: cfg.Kafka.Topics.SegmentChanges,
		MinBytes: 1, MaxBytes: 4 << 20, MaxWait: 200 * time.Millisecond, StartOffset: kafka.FirstOffset,
	})
	defer r.Close()
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("demo summary read", zap.Error(err))
			}
			return
		}
		var c event.SegmentChange
		if json.Unmarshal(m.Value, &c) != nil {
			continue
		}
		if c.Type != event.SegmentChangeType {
			s.mu.Lock()
			s.others[c.Type]++
			s.mu.Unlock()
			continue
		}
		s.mu.Lock()
		s.segment[c.CustomerID] = c.Segment
		s.changes++
		prev := "(none)"
		if c.PreviousSegment != nil {
			prev = *c.PreviousSegment
		}
		s.latest = append(s.latest, fmt.Sprintf("%s: %s -> %s (%s, churn %.2f, tier %s)", c.CustomerID, prev, c.Segment, c.Cause, c.ChurnRisk.Probability, c.LoyaltyTier))
		if len(s.latest) > 4 {
			s.latest = s.latest[len(s.latest)-4:]
		}
		s.mu.Unlock()
	}
}

func (s *summary) print(out io.Writer, sim time.Time, produced int, dead float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := map[string]int{}
	for _, seg := range s.segment {
		counts[seg]++
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", n, counts[n]))
	}
	fmt.Fprintf(out, "[%s] events %d | dead-lettered %.0f | segment changes %d | tier changes %d | milestones %d\n  segments: %s\n",
		sim.Format("2006-01-02"), produced, dead, s.changes, s.others[event.TierChangeType], s.others[event.MilestoneType], strings.Join(parts, " | "))
	for _, l := range s.latest {
		fmt.Fprintf(out, "    %s\n", l)
	}
}
