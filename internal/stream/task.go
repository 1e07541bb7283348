package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

// task owns partition p of every input topic for one generation.
type task struct {
	s       *Service
	gen     *kafka.Generation
	p       int
	log     *zap.Logger
	topics  []string
	applied map[string]int64 // next offset to apply per topic; -1 when none stored
	maxEv   int64            // latest event time seen (Unix ms)
	pop     scoring.Population
	pending []kafka.Message
	records chan kafka.Message
	kick    chan struct{} // wakes the relay after a commit
	readers []*kafka.Reader
	// lagProbe reads the end offsets for the lag gauge (lag.go).
	lagProbe *lagProbe
	// scan is the progress of re-scoring under a new model version.
	scan struct {
		version int64
		cursor  uint64
		active  bool
	}
}

func newTask(s *Service, gen *kafka.Generation, p int) *task {
	var topics []string
	for topic, as := range gen.Assignments {
		for _, a := range as {
			if a.ID == p {
				topics = append(topics, topic)
			}
		}
	}
	return &task{
		s: s, gen: gen, p: p, topics: topics,
		log:     s.log.With(zap.Int("partition", p), zap.Int32("generation", gen.ID)),
		applied: map[string]int64{},
		records: make(chan kafka.Message, s.cfg.BatchSize),
		kick:    make(chan struct{}, 1),
	}
}

// run is the task's select loop. It returns when svcCtx (shutdown) or
// genCtx (rebalance) ends, after a final flush and outbox drain bounded by
// ShutdownTimeout, or when the partition is fenced.
func (t *task) run(svcCtx, genCtx context.Context) error {
	ctx, cancel := context.WithCancel(genCtx)
	defer cancel()
	stop := context.AfterFunc(svcCtx, cancel)
	defer stop()

	if err := t.claim(ctx); err != nil {
		return err
	}
	readCtx, stopReaders := context.WithCancel(ctx)
	defer stopReaders()
	for _, topic := range t.topics {
		t.startReader(readCtx, topic)
	}
	defer func() {
		for _, r := range t.readers {
			_ = r.Close()
		}
	}()
	relayCtx, stopRelay := context.WithCancel(ctx)
	relayDone := make(chan struct{})
	go func() { defer close(relayDone); t.relayLoop(relayCtx) }()

	flushT := time.NewTicker(t.s.cfg.FlushInterval)
	defer flushT.Stop()
	rescoreT := time.NewTicker(t.s.cfg.RescoreInterval)
	defer rescoreT.Stop()
	var runErr error
loop:
	for {
		in := t.records
		if len(t.pending) >= t.s.cfg.BatchSize {
			in = nil // back-pressure while a batch cannot be committed
		}
		select {
		case <-ctx.Done():
			break loop
		case m := <-in:
			t.pending = append(t.pending, m)
			if len(t.pending) >= t.s.cfg.BatchSize {
				runErr = t.flush(ctx)
			}
		case <-flushT.C:
			runErr = t.flush(ctx)
		case <-rescoreT.C:
			if runErr = t.flush(ctx); runErr == nil {
				if runErr = t.rescoreDue(ctx); runErr == nil {
					runErr = t.rescoreModel(ctx)
				}
			}
			t.observeLag(ctx)
		}
		if errors.Is(runErr, state.ErrOffsetConflict) {
			// Our own commit was applied but its reply was lost (or the
			// stored offsets moved otherwise): reload the checkpoint and
			// go on; records below the stored offsets are skipped.
			t.log.Warn("stored offsets moved; reloading the checkpoint", zap.Error(runErr))
			if runErr = t.claim(ctx); runErr != nil {
				break loop
			}
		}
		if errors.Is(runErr, state.ErrFenced) {
			break loop
		}
		if runErr != nil {
			t.log.Warn("batch failed; will retry", zap.Error(runErr))
			runErr = nil
		}
	}
	stopReaders()
	stopRelay()
	<-relayDone
	defer t.forgetGauges()
	if runErr != nil {
		return runErr
	}
	// Final flush and drain, bounded: on shutdown the batch is finished and
	// committed; on a rebalance the fence decides whether it still may be.
	fctx, fcancel := context.WithTimeout(context.Background(), t.s.cfg.ShutdownTimeout)
	defer fcancel()
	if err := t.flush(fctx); err != nil {
		t.log.Warn("final flush failed; records will be redelivered", zap.Error(err))
	}
	for {
		n, err := t.relayOnce(fctx)
		if err != nil || n == 0 {
			break
		}
	}
	return nil
}

// claim takes ownership of the partition in Redis, retrying while another
// generation's lease runs or Redis is unavailable.
func (t *task) claim(ctx context.Context) error {
	bo := newBackoff(claimBackoffMin, claimBackoffMax)
	lim := logLimiter{every: claimLogEvery}
	for {
		cp, err := t.s.d.Store.Claim(ctx, t.p, t.gen.ID, t.s.d.InstanceID)
		if err == nil {
			for _, topic := range t.topics {
				if off, ok := cp.Offsets[topic]; ok {
					t.applied[topic] = off
				} else {
					t.applied[topic] = -1
				}
			}
			t.maxEv = cp.Watermark
			t.pop = cp.Population
			t.log.Info("claimed partition", zap.Any("offsets", cp.Offsets))
			return nil
		}
		t.s.d.Metrics.RedisErrors.WithLabelValues("claim").Inc()
		wait := bo.next()
		if ok, n := lim.allow(time.Now()); ok {
			t.log.Warn("claim failed; retrying", zap.Error(err), zap.Duration("backoff", wait), zap.Int("suppressed", n))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (t *task) startReader(ctx context.Context, topic string) {
	cfg := kafka.ReaderConfig{
		Brokers:   t.s.cfg.Brokers,
		Topic:     topic,
		Partition: t.p,
		Dialer:    t.s.d.Dialer,
		MinBytes:  1,
		MaxBytes:  8 << 20,
		MaxWait:   250 * time.Millisecond,
	}
	r := kafka.NewReader(cfg)
	off := t.applied[topic]
	if off < 0 {
		off = kafka.FirstOffset
		if t.s.cfg.StartOffset == "latest" {
			off = kafka.LastOffset
		}
	}
	if err := r.SetOffset(off); err != nil {
		t.log.Error("set reader offset", zap.String("topic", topic), zap.Error(err))
	}
	t.readers = append(t.readers, r)
	go func() {
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				t.s.d.Metrics.KafkaErrors.WithLabelValues("fetch").Inc()
				t.log.Warn("fetch failed; retrying", zap.String("topic", topic), zap.Error(err))
				select {
				case <-ctx.Done():
					return
				case <-time.After(500 * time.Millisecond):
				}
				continue
			}
			select {
			case t.records <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
}

// now is the task's scoring clock: the wall clock when live, the event-time
// watermark when the input is historic.
func (t *task) now() time.Time {
	wall := time.Now()
	if t.maxEv > 0 {
		latest := time.UnixMilli(t.maxEv)
		if wall.Sub(latest) > t.s.cfg.ReplayThreshold {
			return latest.Add(-t.s.cfg.AllowedLateness).UTC()
		}
	}
	return wall.UTC()
}

// deadRecord is a record bound for the dead-letter topic.
type deadRecord struct {
	msg kafka.Message
	err *event.Error
}

type decoded struct {
	topic string
	ev    event.Event
}

// flush processes the pending records as one batch. On error nothing was
// committed and the records stay pending.
func (t *task) flush(ctx context.Context) error {
	if len(t.pending) == 0 {
		return nil
	}
	start := time.Now()
	m := t.s.d.Metrics
	offs := map[string]state.OffsetRange{}
	var good []decoded
	var dead []deadRecord
	replayed := map[string]int{}
	for _, msg := range t.pending {
		from := t.applied[msg.Topic]
		if from >= 0 && msg.Offset < from {
			replayed[msg.Topic]++
			continue
		}
		r, ok := offs[msg.Topic]
		if !ok {
			r = state.OffsetRange{From: from}
		}
		if msg.Offset+1 > r.To {
			r.To = msg.Offset + 1
		}
		offs[msg.Topic] = r
		ev, err := t.decode(msg)
		if err != nil {
			dead = append(dead, deadRecord{msg: msg, err: err})
			continue
		}
		good = append(good, decoded{topic: msg.Topic, ev: ev})
	}

	ids := make([]string, 0, len(good))
	seen := map[string]bool{}
	for _, g := range good {
		if !seen[g.ev.CustomerID] {
			seen[g.ev.CustomerID] = true
			ids = append(ids, g.ev.CustomerID)
		}
	}
	lstart := time.Now()
	states, err := t.s.d.Store.Load(ctx, t.p, ids)
	m.RedisSeconds.WithLabelValues("load").Observe(time.Since(lstart).Seconds())
	if err != nil {
		m.RedisErrors.WithLabelValues("load").Inc()
		return err
	}
	before := map[string]scoring.Population{}
	for id, st := range states {
		before[id] = scoring.Contribution(st)
	}
	margin := t.s.d.Scorer.Config().DefaultMargin
	changed := map[string]bool{}
	maxEv := t.maxEv
	type outcome struct{ topic, typ, outcome string }
	outcomes := map[outcome]int{}
	for _, g := range good {
		o := states[g.ev.CustomerID].Apply(g.ev, margin)
		if o == customer.Applied {
			changed[g.ev.CustomerID] = true
		}
		if ms := g.ev.OccurredAt.UnixMilli(); ms > maxEv {
			maxEv = ms
		}
		outcomes[outcome{g.topic, string(g.ev.Type), o.String()}]++
	}

	prevMax := t.maxEv
	t.maxEv = maxEv
	now := t.now()
	batch := state.Batch{Gen: t.gen.ID, Offsets: offs, Due: map[string]int64{}, Watermark: maxEv}
	var transitions []transition
	for _, id := range ids {
		if !changed[id] {
			continue
		}
		st := states[id]
		cause := event.CauseEvent
		if st.Erased {
			cause = event.CauseErasure
		}
		t.addScored(&batch, st, t.score(st, now, cause, true), &transitions)
		after := scoring.Contribution(st)
		batch.PopDelta.SpanDays += after.SpanDays - before[id].SpanDays
		batch.PopDelta.Repeats += after.Repeats - before[id].Repeats
	}

	if err := t.deadLetter(ctx, dead); err != nil {
		t.s.d.Metrics.KafkaErrors.WithLabelValues("dead_letter").Inc()
		t.maxEv = prevMax
		return err
	}
	if err := t.commit(ctx, batch); err != nil {
		t.maxEv = prevMax
		return err
	}
	for topic, r := range offs {
		t.applied[topic] = r.To
	}
	t.pop.SpanDays += batch.PopDelta.SpanDays
	t.pop.Repeats += batch.PopDelta.Repeats
	t.commitKafka(offs)
	for o, n := range outcomes {
		m.Records.WithLabelValues(o.topic, o.typ, o.outcome).Add(float64(n))
	}
	for _, d := range dead {
		m.Records.WithLabelValues(d.msg.Topic, "unknown", "dead_lettered").Inc()
		m.DeadLetters.WithLabelValues(string(d.err.Reason)).Inc()
	}
	for topic, n := range replayed {
		m.Records.WithLabelValues(topic, "unknown", "replayed").Add(float64(n))
	}
	t.observeTransitions(transitions)
	m.BatchSeconds.Observe(time.Since(start).Seconds())
	t.pending = t.pending[:0]
	return nil
}

// decode checks the record's routing and decodes it.
func (t *task) decode(msg kafka.Message) (event.Event, *event.Error) {
	headers := make([]event.Header, len(msg.Headers))
	for i, h := range msg.Headers {
		headers[i] = event.Header{Key: h.Key, Value: h.Value}
	}
	ev, err := t.s.d.Decoder.Decode(msg.Value, headers)
	if err != nil {
		var e *event.Error
		if errors.As(err, &e) {
			return ev, e
		}
		return ev, event.Errorf(event.ReasonMalformed, "", "%v", err)
	}
	if len(msg.Key) > 0 && string(msg.Key) != ev.CustomerID {
		return ev, event.Errorf(event.ReasonInvalidField, "key", "record key %q differs from customer_id %q; key records by customer_id", clip(string(msg.Key)), clip(ev.CustomerID))
	}
	if want := PartitionOf(t.s.part, ev.CustomerID, t.s.nParts); want != msg.Partition {
		return ev, event.Errorf(event.ReasonMisrouted, "customer_id", "customer hashes to partition %d under %s but the record is on partition %d; produce with the %s partitioner", want, t.s.cfg.Partitioner, msg.Partition, t.s.cfg.Partitioner)
	}
	return ev, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// transition is a committed change for metrics: a segment change (from,
// to, cause), or a tier change and milestones.
type transition struct {
	from, to   string
	cause      event.Cause
	tier       [2]string
	milestones int
}

// scored is the outcome of re-scoring one customer.
type scored struct {
	write      bool                 // the state must be written
	due        int64                // next due time (Unix ms), 0 for none
	out        []state.OutboxRecord // segment change, tier change, milestones
	change     *transition          // the segment change, if any
	tier       [2]string            // previous and new tier of a published tier change
	milestones int                  // milestones published
}

// score re-scores st as of now (or the customer's latest fact, if later)
// against the model in force. It bumps the state's version when the state
// must be written (always when facts changed, else when the segment, tier,
// scored net revenue or model version moved) and returns the records to
// publish: a segment change, a tier change (not for a first tier) and the
// spend milestones crossed.
func (t *task) score(st *customer.State, now time.Time, cause event.Cause, factsChanged bool) scored {
	if latest := st.LatestAt(); latest > now.UnixMilli() {
		now = time.UnixMilli(latest).UTC()
	}
	rec := t.s.d.Models.Current()
	res := t.s.d.Scorer.Score(st, now, t.pop, rec)
	var out scored
	if !res.NextDue.IsZero() && !st.Erased {
		out.due = res.NextDue.UnixMilli()
	}
	var recVersion int64
	if rec != nil {
		recVersion = rec.Version
	}
	cfg := t.s.d.Scorer.Config()
	major := cfg.MinorPerMajor
	milestones := segment.CrossedMilestones(float64(st.ScoredNet)/major, float64(res.HistoricCLV)/major, cfg.Milestones)
	segChanged := res.Segment != st.Segment
	tierChanged := res.Tier != st.Tier
	out.write = factsChanged || segChanged || tierChanged || st.ScoredNet != res.HistoricCLV || st.ModelVersion != recVersion
	if !out.write {
		return out
	}
	st.Version++
	digits := exponent(major)
	cur := t.s.d.Decoder.BaseCurrency()
	money := func(minor int64) string { return event.FormatMinor(minor, digits) }
	if segChanged {
		prev := st.Segment
		st.Segment, st.SegmentSince = res.Segment, now.UnixMilli()
		factors := make(map[string]float64, 3)
		for i, f := range res.Factors {
			if i == 3 {
				break
			}
			factors[f.Name] = round4(f.Contribution)
		}
		values := roundValues(res.Reason.Values)
		js, _ := json.Marshal(event.SegmentChange{
			EventID: event.SegmentChangeID(st.ID, st.Version), Type: event.SegmentChangeType, CustomerID: st.ID,
			Version: st.Version, PreviousSegment: prev, Segment: res.Segment, Cause: cause, OccurredAt: now,
			CLV: event.CLVFigures{Historic: money(res.HistoricCLV), HistoricMargin: money(res.HistoricMargin),
				Predicted: money(int64(math.Round(res.PredictedCLV))), Currency: cur},
			ChurnRisk:    event.ChurnRisk{Probability: round4(res.ChurnRisk), Level: res.ChurnLevel, Factors: factors},
			LoyaltyTier:  res.Tier,
			ModelVersion: res.ModelVersion,
			Reason:       event.SegmentReason{Rule: res.Reason.Rule, Values: values},
		})
		out.change = &transition{from: prev, to: res.Segment, cause: cause}
		out.out = append(out.out, state.OutboxRecord{Key: st.ID, Value: js})
	}
	if tierChanged {
		if st.Tier != "" {
			js, _ := json.Marshal(event.TierChange{
				EventID: event.TierChangeID(st.ID, st.Version), Type: event.TierChangeType, CustomerID: st.ID,
				Version: st.Version, PreviousTier: st.Tier, Tier: res.Tier, Cause: cause, OccurredAt: now,
				TrailingYearSpend: money(res.Features.T12M), Currency: cur,
			})
			out.out = append(out.out, state.OutboxRecord{Key: st.ID, Value: js})
			out.tier = [2]string{st.Tier, res.Tier}
		}
		st.Tier = res.Tier
	}
	for _, m := range milestones {
		th := money(int64(math.Round(m * major)))
		js, _ := json.Marshal(event.Milestone{
			EventID: event.MilestoneID(st.ID, th), Type: event.MilestoneType, CustomerID: st.ID, Version: st.Version,
			Threshold: th, CumulativeSpend: money(res.HistoricCLV), Currency: cur, OccurredAt: now,
		})
		out.out = append(out.out, state.OutboxRecord{Key: st.ID, Value: js})
		out.milestones++
	}
	st.ScoredNet = res.HistoricCLV
	st.ModelVersion = recVersion
	return out
}

// addScored adds a scoring outcome of st to a batch.
func (t *task) addScored(b *state.Batch, st *customer.State, sc scored, trs *[]transition) {
	b.Due[st.ID] = sc.due
	if sc.write {
		b.States = append(b.States, st)
	}
	b.Outbox = append(b.Outbox, sc.out...)
	if sc.change != nil {
		*trs = append(*trs, *sc.change)
	}
	if sc.tier[1] != "" || sc.milestones > 0 {
		*trs = append(*trs, transition{tier: sc.tier, milestones: sc.milestones})
	}
}

func exponent(minorPerMajor float64) int {
	d := 0
	for v := minorPerMajor; v >= 10; v /= 10 {
		d++
	}
	return d
}

func round4(v float64) float64 { return float64(int64(v*10000+0.5)) / 10000 }

func roundValues(in map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(in))
	for k, v := range in {
		out[k] = round4(v)
	}
	return out
}

// rescoreDue re-scores the customers whose next-due time has passed
// (cause scheduled).
func (t *task) rescoreDue(ctx context.Context) error {
	now := t.now()
	st0 := time.Now()
	ids, err := t.s.d.Store.Due(ctx, t.p, now.UnixMilli(), int64(t.s.cfg.RescoreBatch))
	t.s.d.Metrics.RedisSeconds.WithLabelValues("due").Observe(time.Since(st0).Seconds())
	if err != nil {
		t.s.d.Metrics.RedisErrors.WithLabelValues("due").Inc()
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	states, err := t.s.d.Store.Load(ctx, t.p, ids)
	if err != nil {
		t.s.d.Metrics.RedisErrors.WithLabelValues("load").Inc()
		return err
	}
	list := make([]*customer.State, 0, len(ids))
	for _, id := range ids {
		list = append(list, states[id])
	}
	return t.rescore(ctx, list, now, event.CauseScheduled)
}

// rescoreModel continues the gradual re-scoring of the partition's
// customers under a new model version (cause model): one HSCAN page per
// tick, skipping customers already scored with that version.
func (t *task) rescoreModel(ctx context.Context) error {
	rec := t.s.d.Models.Current()
	if rec == nil {
		return nil
	}
	if rec.Version != t.scan.version {
		t.scan.version, t.scan.cursor, t.scan.active = rec.Version, 0, true
	}
	if !t.scan.active {
		return nil
	}
	page, next, err := t.s.d.Store.Scan(ctx, t.p, t.scan.cursor, int64(t.s.cfg.RescoreBatch))
	if err != nil {
		t.s.d.Metrics.RedisErrors.WithLabelValues("scan").Inc()
		return err
	}
	var stale []*customer.State
	for _, st := range page {
		if st.ModelVersion != rec.Version && !st.Erased {
			stale = append(stale, st)
		}
	}
	if err := t.rescore(ctx, stale, t.now(), event.CauseModel); err != nil {
		return err
	}
	t.scan.cursor = next
	if next == 0 {
		t.scan.active = false
		t.log.Info("partition re-scored under model version", zap.Int64("version", rec.Version))
	}
	return nil
}

// rescore scores states with no new facts and commits what changed.
func (t *task) rescore(ctx context.Context, states []*customer.State, now time.Time, cause event.Cause) error {
	if len(states) == 0 {
		return nil
	}
	batch := state.Batch{Gen: t.gen.ID, Due: map[string]int64{}, Watermark: t.maxEv}
	var transitions []transition
	changed := 0
	for _, st := range states {
		prevVersion := st.Version
		sc := t.score(st, now, cause, false)
		t.addScored(&batch, st, sc, &transitions)
		if sc.change != nil {
			changed++
		}
		if !sc.write {
			st.Version = prevVersion
		}
	}
	if err := t.commit(ctx, batch); err != nil {
		return err
	}
	t.observeTransitions(transitions)
	t.s.d.Metrics.Rescored.WithLabelValues(string(cause), "true").Add(float64(changed))
	t.s.d.Metrics.Rescored.WithLabelValues(string(cause), "false").Add(float64(len(states) - changed))
	return nil
}

// commit writes a batch to Redis, retrying transient errors briefly.
func (t *task) commit(ctx context.Context, b state.Batch) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		st := time.Now()
		err = t.s.d.Store.Commit(ctx, t.p, b)
		t.s.d.Metrics.RedisSeconds.WithLabelValues("commit").Observe(time.Since(st).Seconds())
		if err == nil {
			if len(b.Outbox) > 0 {
				select {
				case t.kick <- struct{}{}:
				default:
				}
			}
			return nil
		}
		t.s.d.Metrics.RedisErrors.WithLabelValues("commit").Inc()
		if errors.Is(err, state.ErrFenced) || errors.Is(err, state.ErrOffsetConflict) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("commit: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(time.Duration(100*(attempt+1)) * time.Millisecond):
		}
	}
	return err
}

// commitKafka records the applied offsets in the consumer group too, for
// lag tooling. Redis stays the truth, so a failure is only logged.
func (t *task) commitKafka(offs map[string]state.OffsetRange) {
	if len(offs) == 0 {
		return
	}
	m := map[string]map[int]int64{}
	for topic, r := range offs {
		m[topic] = map[int]int64{t.p: r.To}
	}
	if err := t.gen.CommitOffsets(m); err != nil {
		t.s.d.Metrics.KafkaErrors.WithLabelValues("commit_offsets").Inc()
		t.log.Debug("kafka offset commit failed (Redis offsets are authoritative)", zap.Error(err))
	}
}

// observeTransitions counts committed changes (after the commit, so a
// retried batch is not counted twice).
func (t *task) observeTransitions(trs []transition) {
	m := t.s.d.Metrics
	for _, tr := range trs {
		switch {
		case tr.cause != "":
			m.SegmentChanges.WithLabelValues(tr.from, tr.to, string(tr.cause)).Inc()
		default:
			if tr.tier[1] != "" {
				m.TierChanges.WithLabelValues(tr.tier[0], tr.tier[1]).Inc()
			}
			m.Milestones.Add(float64(tr.milestones))
		}
	}
}

// forgetGauges removes the partition's gauges when the task ends, so an
// instance that lost the partition does not keep exporting stale values.
func (t *task) forgetGauges() {
	p := strconv.Itoa(t.p)
	for _, topic := range t.topics {
		t.s.d.Metrics.Lag.DeleteLabelValues(topic, p)
	}
	t.s.d.Metrics.OutboxBacklog.DeleteLabelValues(p)
}
