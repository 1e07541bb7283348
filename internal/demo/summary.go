package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/pkg/event"
)

// latestChange is what the summary keeps of a customer's last segment
// change.
type latestChange struct {
	segment   string
	predicted float64
	churn     float64
	tier      string
}

// summary tallies the segment-changes topic, read partition by partition
// from the start, as a downstream consumer would.
type summary struct {
	mu      sync.Mutex
	last    map[string]latestChange
	changes int
	causes  map[event.Cause]int
	others  map[string]int // tier changes and milestones by type
	latest  []string
	read    [partitions]int64 // next offset to read per partition
}

func newSummary() *summary {
	return &summary{last: map[string]latestChange{}, causes: map[event.Cause]int{}, others: map[string]int{}}
}

// consume reads every partition of the segment-changes topic until ctx
// ends.
func (s *summary) consume(ctx context.Context, cfg config.Config, log *zap.Logger) {
	var wg sync.WaitGroup
	for p := 0; p < partitions; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topics.SegmentChanges, Partition: p,
				MinBytes: 1, MaxBytes: 4 << 20, MaxWait: 100 * time.Millisecond})
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() == nil {
						log.Warn("demo summary read", zap.Error(err))
					}
					return
				}
				s.add(m)
			}
		}()
	}
	wg.Wait()
}

func (s *summary) add(m kafka.Message) {
	var c event.SegmentChange
	err := json.Unmarshal(m.Value, &c)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read[m.Partition] = m.Offset + 1
	if err != nil {
		return
	}
	if c.Type != event.SegmentChangeType {
		s.others[c.Type]++
		return
	}
	predicted, _ := strconv.ParseFloat(c.CLV.Predicted, 64)
	s.last[c.CustomerID] = latestChange{segment: c.Segment, predicted: predicted, churn: c.ChurnRisk.Probability, tier: c.LoyaltyTier}
	s.changes++
	s.causes[c.Cause]++
	prev := "(none)"
	if c.PreviousSegment != nil {
		prev = *c.PreviousSegment
	}
	s.latest = append(s.latest, fmt.Sprintf("%s: %s -> %s (%s, churn %.2f, predicted CLV %s, tier %s)",
		c.CustomerID, prev, c.Segment, c.Cause, c.ChurnRisk.Probability, c.CLV.Predicted, c.LoyaltyTier))
	if len(s.latest) > 4 {
		s.latest = s.latest[len(s.latest)-4:]
	}
}

// caughtUp reports whether every record of the segment-changes topic, up
// to its current end, has been read.
func (s *summary) caughtUp(ctx context.Context, cfg config.Config) bool {
	client := &kafka.Client{Addr: kafka.TCP(cfg.Kafka.Brokers...), Timeout: 5 * time.Second}
	var reqs []kafka.OffsetRequest
	for p := 0; p < partitions; p++ {
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{cfg.Kafka.Topics.SegmentChanges: reqs}})
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, po := range res.Topics[cfg.Kafka.Topics.SegmentChanges] {
		if po.Error != nil || s.read[po.Partition] < po.LastOffset {
			return false
		}
	}
	return true
}

// segmentCounts renders the customers per current segment.
func (s *summary) segmentCounts() string {
	counts := map[string]int{}
	for _, c := range s.last {
		counts[c.segment]++
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
	return strings.Join(parts, " | ")
}

// totalDead sums dead letters over reasons.
func totalDead(dead map[string]int) int {
	n := 0
	for _, v := range dead {
		n += v
	}
	return n
}

// modelLine says which model scores the customers.
func modelLine(fitted *model.Record) string {
	if fitted == nil {
		return "baseline (not fitted yet: predicted CLV is the classic formula, churn the recency baseline)"
	}
	return fmt.Sprintf("%s v%d, fitted to %d customers as of %s", fitted.Kind, fitted.Version, fitted.Customers, fitted.AsOf.Format("2006-01-02"))
}

// print writes the live block.
func (s *summary) print(out io.Writer, pr progress, dead map[string]int, fitted *model.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(out, "[%s] events %d | dead-lettered %d | segment changes %d | tier changes %d | milestones %d\n  model: %s\n  segments: %s\n",
		pr.sim.Format("2006-01-02"), pr.produced, totalDead(dead), s.changes, s.others[event.TierChangeType], s.others[event.MilestoneType],
		modelLine(fitted), s.segmentCounts())
	for _, l := range s.latest {
		fmt.Fprintf(out, "    %s\n", l)
	}
}

// printFinal writes the end-of-simulation summary: totals, dead letters by
// reason, the segments, and the customers with the highest predicted CLV.
func (s *summary) printFinal(out io.Writer, pr progress, dead map[string]int, fitted *model.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reasons := make([]string, 0, len(dead))
	for r, n := range dead {
		if n > 0 {
			reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
		}
	}
	sort.Strings(reasons)
	var causes []string
	for _, c := range []event.Cause{event.CauseEvent, event.CauseScheduled, event.CauseModel, event.CauseErasure} {
		if n := s.causes[c]; n > 0 {
			causes = append(causes, fmt.Sprintf("%s %d", c, n))
		}
	}
	fmt.Fprintf(out, "  events %d | dead-lettered %d (%s) | customers %d\n", pr.produced, totalDead(dead), strings.Join(reasons, ", "), len(s.last))
	fmt.Fprintf(out, "  segment changes %d (%s) | tier changes %d | milestones %d\n", s.changes, strings.Join(causes, ", "),
		s.others[event.TierChangeType], s.others[event.MilestoneType])
	fmt.Fprintf(out, "  segments: %s\n", s.segmentCounts())
	fmt.Fprintf(out, "  model: %s\n", modelLine(fitted))
	if fitted != nil && fitted.Subscriptions != nil {
		for _, p := range event.Periods {
			if f, ok := fitted.Subscriptions.Periods[p]; ok {
				fmt.Fprintf(out, "  renewal model (%s): sBG α %.3f β %.3f on %d subscriptions, %d cancelled; renewal after 0/3/12 renewals %.2f/%.2f/%.2f\n",
					p, f.Alpha, f.Beta, f.Subscriptions, f.Cancelled, f.SBG().RenewalProb(0), f.SBG().RenewalProb(3), f.SBG().RenewalProb(12))
			} else if why := fitted.Subscriptions.Skipped[p]; why != "" {
				fmt.Fprintf(out, "  renewal model (%s): not fitted: %s\n", p, why)
			}
		}
	}
	ids := make([]string, 0, len(s.last))
	var total float64
	for id, c := range s.last {
		ids = append(ids, id)
		total += c.predicted
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := s.last[ids[i]], s.last[ids[j]]
		if a.predicted != b.predicted {
			return a.predicted > b.predicted
		}
		return ids[i] < ids[j]
	})
	if len(ids) > 0 {
		fmt.Fprintf(out, "  predicted CLV (12 months): mean %.2f; highest:\n", total/float64(len(ids)))
	}
	for _, id := range ids[:min(3, len(ids))] {
		c := s.last[id]
		fmt.Fprintf(out, "    %s  predicted CLV %.2f  churn risk %.2f  %s, tier %s\n", id, c.predicted, c.churn, c.segment, c.tier)
	}
}
