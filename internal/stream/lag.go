package stream

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// lagProbeEvery is how often a task asks the broker for the end offsets of
// its partitions (one ListOffsets request per task); between two requests
// the lag is computed against the last end offsets seen.
const lagProbeEvery = 5 * time.Second

// lagProbeTimeout bounds one ListOffsets request, so a slow broker delays
// the task loop by at most this much per probe.
const lagProbeTimeout = 2 * time.Second

// lagProbe measures the consumer lag of one task: for each input topic, the
// records between the offset the task will apply next and the end of the
// partition as the broker reports it (ListOffsets, latest and earliest).
// It never looks at the readers, whose statistics freeze when the task
// stops consuming (a batch that cannot commit), nor at Redis: the applied
// offsets come from the caller (the task's in-memory copy, advanced only by
// successful commits), so during a Redis outage the lag keeps growing with
// the backlog. A lagProbe is used by one goroutine (its task).
type lagProbe struct {
	client *kafka.Client
	p      int
	topics []string
	every  time.Duration
	// fromLatest: a topic with nothing applied yet starts at the end of
	// the partition (start_offset latest), so it has no lag; otherwise
	// its lag counts from the first retained record.
	fromLatest bool
	now        func() time.Time

	asked      time.Time // last request, answered or not
	first, end map[string]int64
}

// newLagProbe returns a probe of partition p of topics through client,
// refreshing the end offsets at most every every.
func newLagProbe(client *kafka.Client, p int, topics []string, every time.Duration, fromLatest bool) *lagProbe {
	return &lagProbe{
		client: client, p: p, topics: append([]string(nil), topics...), every: every, fromLatest: fromLatest,
		now: time.Now, first: map[string]int64{}, end: map[string]int64{},
	}
}

// refresh asks the broker for the first and end offsets of the partition in
// every topic, unless it asked less than every ago. On error the previous
// offsets stay in use.
func (l *lagProbe) refresh(ctx context.Context) error {
	now := l.now()
	if !l.asked.IsZero() && now.Sub(l.asked) < l.every {
		return nil
	}
	l.asked = now
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, topic := range l.topics {
		req.Topics[topic] = []kafka.OffsetRequest{kafka.FirstOffsetOf(l.p), kafka.LastOffsetOf(l.p)}
	}
	ctx, cancel := context.WithTimeout(ctx, lagProbeTimeout)
	defer cancel()
	res, err := l.client.ListOffsets(ctx, req)
	if err != nil {
		return fmt.Errorf("list offsets of partition %d: %w", l.p, err)
	}
	var errs []error
	for topic, parts := range res.Topics {
		for _, po := range parts {
			if po.Partition != l.p {
				continue
			}
			if po.Error != nil {
				errs = append(errs, fmt.Errorf("%s[%d]: %w", topic, l.p, po.Error))
				continue
			}
			l.first[topic], l.end[topic] = po.FirstOffset, po.LastOffset
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("list offsets: %v", errs)
	}
	return nil
}

// lag returns, for every topic whose end offset is known, the records not
// yet applied: end − applied, where applied is the next offset to apply
// (negative when nothing was applied yet: counted from the first retained
// record, or 0 with fromLatest). Never negative.
func (l *lagProbe) lag(applied map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(l.end))
	for topic, end := range l.end {
		from, ok := applied[topic]
		if !ok || from < 0 {
			if l.fromLatest {
				out[topic] = 0
				continue
			}
			from = l.first[topic]
		}
		out[topic] = max(0, end-from)
	}
	return out
}

// observe refreshes the end offsets when due and returns the lag per topic
// against applied. The error (the broker did not answer) comes with the lag
// against the last end offsets seen, if any.
func (l *lagProbe) observe(ctx context.Context, applied map[string]int64) (map[string]int64, error) {
	err := l.refresh(ctx)
	return l.lag(applied), err
}

// observeLag sets the consumer-lag gauge of each input partition of the
// task from the broker's end offsets and the task's applied offsets (see
// lagProbe). The task loop calls it every RescoreInterval, whatever the
// state of Redis.
func (t *task) observeLag(ctx context.Context) {
	if t.lagProbe == nil {
		client := &kafka.Client{Addr: kafka.TCP(t.s.cfg.Brokers...), Timeout: lagProbeTimeout, Transport: t.s.d.Transport}
		t.lagProbe = newLagProbe(client, t.p, t.topics, lagProbeEvery, t.s.cfg.StartOffset == "latest")
	}
	lags, err := t.lagProbe.observe(ctx, t.applied)
	if err != nil && ctx.Err() == nil {
		t.s.d.Metrics.KafkaErrors.WithLabelValues("list_offsets").Inc()
		t.log.Debug("end offsets not read; lag not updated", zap.Error(err))
	}
	p := strconv.Itoa(t.p)
	var lag int64
	for topic, n := range lags {
		t.s.d.Metrics.Lag.WithLabelValues(topic, p).Set(float64(n))
		lag += n
	}
	t.observeStall(lag, time.Now())
}

// stallAfter is how long a partition with lag may go without applying a
// record before it counts as stalled.
const stallAfter = 2 * time.Minute

// observeStall marks the partition stalled when it has lag but its applied
// offsets have not moved for stallAfter (Redis down, a failing batch that
// keeps resuming): the gauge, and the readiness detail.
func (t *task) observeStall(lag int64, now time.Time) {
	var sum int64
	for _, off := range t.applied {
		sum += off
	}
	if sum != t.progress.applied || t.progress.at.IsZero() || lag == 0 {
		t.progress.applied, t.progress.at = sum, now
	}
	stalled := lag > 0 && now.Sub(t.progress.at) >= stallAfter
	v := 0.0
	if stalled {
		v = 1
		t.s.stalled.Store(t.p, fmt.Sprintf("partition %d has not applied a record for %s with %d records of lag", t.p, now.Sub(t.progress.at).Round(time.Second), lag))
	} else {
		t.s.stalled.Delete(t.p)
	}
	t.s.d.Metrics.Stalled.WithLabelValues(strconv.Itoa(t.p)).Set(v)
}
