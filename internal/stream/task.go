package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/core"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// timerPage is the number of stored timers loaded per step: their states
// are decoded together (about 2 KB each), so it bounds a sweep's memory per
// task (~2 MB) while keeping its round trips per re-score near 0.002.
const timerPage = 1024

// errReset asks the task loop to drop its buffers and cache and resume
// from the checkpoint in Redis.
var errReset = errors.New("stream: resume from the stored checkpoint")

// task owns partition p of every input topic for one generation. It is the
// imperative shell around core.Processor: fetch and merge, load, process,
// dead-letter, commit, relay.
type task struct {
	s      *Service
	gen    *kafka.Generation
	p      int
	log    *zap.Logger
	topics []string

	// The checkpoint as committed (in memory, mirrors Redis).
	applied map[string]int64
	clock   core.Clock
	// model is the model in force for this task: pinned during a replay
	// (a replay's history must not depend on when a refit landed) and
	// taken up when the input is caught up or live.
	model     *model.Record
	modelDone string // the scoring identity of the last complete walk (walkID)
	scan      struct {
		id     string
		cursor uint64
		active bool
	}

	cache      *stateCache
	cacheBytes int // the cache's budget: this task's share of the instance's
	merge      *merger
	batch      []core.Decoded // the records of the current step (reused)
	// encoded is the buffer a step's states are encoded in, free the
	// states of earlier steps to decode into (newState): nothing
	// references either once a step returned.
	encoded []byte
	free    []*customer.State
	kick    chan struct{} // wakes the relay after a commit
	// relayCount is the number of outbox entries the relay reads next.
	relayCount int64
	readers    []*kafka.Reader
	// lagProbe reads the end offsets for the lag gauge (lag.go).
	lagProbe *lagProbe
	// progress is when the applied offsets last moved (stall detection).
	progress struct {
		applied int64
		at      time.Time
	}
	stopRd  context.CancelFunc
	backoff time.Duration
	misrt   misroutedWatch
}

func newTask(s *Service, gen *kafka.Generation, p, tasks int) *task {
	var topics []string
	for _, topic := range s.cfg.Topics.Inputs() {
		for _, a := range gen.Assignments[topic] {
			if a.ID == p {
				topics = append(topics, topic)
			}
		}
	}
	return &task{
		s: s, gen: gen, p: p, topics: topics,
		log:        s.log.With(zap.Int("partition", p), zap.Int32("generation", gen.ID)),
		applied:    map[string]int64{},
		kick:       make(chan struct{}, 1),
		relayCount: 1,
		// The instance's cache budget, shared by the generation's tasks.
		cacheBytes: s.cfg.StateCacheBytes / max(tasks, 1),
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

	if err := t.resume(ctx); err != nil {
		return err
	}
	defer t.stopReaders()
	relayCtx, stopRelay := context.WithCancel(ctx)
	relayDone := make(chan struct{})
	go func() { defer close(relayDone); t.relayLoop(relayCtx) }()

	flushT := time.NewTicker(t.s.cfg.FlushInterval)
	defer flushT.Stop()
	tickT := time.NewTicker(t.s.cfg.RescoreInterval)
	defer tickT.Stop()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-t.merge.wake:
			if t.merge.len() >= t.s.cfg.BatchSize {
				runErr = t.step(ctx, false)
			}
		case <-flushT.C:
			runErr = t.step(ctx, false)
		case <-tickT.C:
			if runErr = t.verify(ctx); runErr == nil {
				if runErr = t.step(ctx, true); runErr == nil {
					runErr = t.rescoreModel(ctx)
				}
			}
			t.observeLag(ctx)
		}
		if runErr == nil {
			t.backoff = 0
			continue
		}
		if errors.Is(runErr, state.ErrFenced) && !t.stillOwner(ctx) {
			break loop
		}
		if ctx.Err() != nil {
			break loop
		}
		// Any other failure: nothing of the batch is known to be durable
		// (or Redis went back in time), so resume from what Redis holds:
		// re-claim, drop the cache, rewind the readers. Records after the
		// stored offsets are fetched and applied again; none is skipped.
		t.s.d.Metrics.Resumes.WithLabelValues(errorClass(runErr)).Inc()
		t.backoff = min(max(2*t.backoff, 100*time.Millisecond), 30*time.Second)
		t.log.Warn("batch failed; resuming from the stored checkpoint", zap.Error(runErr), zap.Duration("backoff", t.backoff))
		select {
		case <-ctx.Done():
			break loop
		case <-time.After(t.backoff):
		}
		if runErr = t.resume(ctx); runErr != nil {
			break loop
		}
	}
	t.stopReaders()
	stopRelay()
	<-relayDone
	defer t.forgetGauges()
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	// Final flush and drain, bounded: on shutdown the batch is finished and
	// committed; on a rebalance the fence decides whether it still may be.
	fctx, fcancel := context.WithTimeout(context.Background(), t.s.cfg.ShutdownTimeout)
	defer fcancel()
	for t.merge.len() > 0 {
		n := t.merge.len()
		if err := t.step(fctx, false); err != nil || t.merge.len() == n {
			if err != nil {
				t.log.Warn("final flush failed; records will be redelivered", zap.Error(err))
			}
			break
		}
	}
	for {
		more, err := t.relayOnce(fctx)
		if err != nil || !more {
			break
		}
	}
	return nil
}

// verify checks, once a tick, that Redis still holds the checkpoint the
// task committed: an idle task commits nothing, so a Redis that went back
// in time (a snapshot restore, a failover to a lagging replica, a wipe)
// would otherwise go unnoticed until the next record.
func (t *task) verify(ctx context.Context) error {
	gen, offs, err := t.s.d.Store.Stored(ctx, t.p)
	if err != nil {
		t.s.d.Metrics.RedisErrors.WithLabelValues("load").Inc()
		return err
	}
	if gen != t.gen.ID {
		return fmt.Errorf("partition %d: stored generation %d, ours %d: %w", t.p, gen, t.gen.ID, state.ErrFenced)
	}
	for _, topic := range t.topics {
		stored, ok := offs[topic]
		if !ok {
			stored = -1
		}
		if stored != t.applied[topic] {
			return fmt.Errorf("partition %d: %s stored offset %d, committed %d: %w", t.p, topic, stored, t.applied[topic], state.ErrOffsetConflict)
		}
	}
	return nil
}

// errorClass labels a batch failure for metrics.
func errorClass(err error) string {
	switch {
	case errors.Is(err, state.ErrFenced):
		return "fenced"
	case errors.Is(err, state.ErrOffsetConflict):
		return "offset_conflict"
	case errors.Is(err, errDeadLetter):
		return "dead_letter"
	default:
		return "redis"
	}
}

// stillOwner re-claims after a fenced commit: a Redis that went back in
// time may hold an older generation than ours, which our claim replaces;
// a newer generation's lease refuses it and the task stops.
func (t *task) stillOwner(ctx context.Context) bool {
	_, err := t.s.d.Store.Claim(ctx, t.p, t.gen.ID, t.s.d.InstanceID)
	return err == nil
}

// resume (re)claims the partition, loads its checkpoint, drops the cache
// and buffers and (re)starts the readers at the stored offsets.
func (t *task) resume(ctx context.Context) error {
	t.stopReaders()
	// A fenced claim (another generation's owner lease still runs: a new
	// consumer group after an owner died without releasing) is retried
	// like a Redis failure: it succeeds when the lease runs out, and a
	// zombie's retries end with its generation's context.
	bo := newBackoff(claimBackoffMin, claimBackoffMax)
	lim := logLimiter{every: claimLogEvery}
	for {
		cp, err := t.s.d.Store.Claim(ctx, t.p, t.gen.ID, t.s.d.InstanceID)
		if err == nil {
			t.load(cp)
			// The partition count key lives outside the partition's
			// slot; a wiped Redis gets it back here.
			if err := t.s.d.Store.SetPartitions(ctx, t.s.nParts); err != nil {
				t.log.Warn("record partition count", zap.Error(err))
			}
			break
		}
		if !errors.Is(err, state.ErrFenced) {
			t.s.d.Metrics.RedisErrors.WithLabelValues("claim").Inc()
		}
		wait := bo.next()
		if ok, n := lim.allow(time.Now()); ok {
			t.log.Warn("claim failed; retrying", zap.Error(err), zap.Duration("backoff", wait), zap.Int("suppressed", n))
		}
		if len(t.applied) > 0 {
			t.observeLag(ctx) // Redis down: the backlog still grows
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	t.cache = newStateCache(t.cacheBytes)
	t.merge = newMerger(len(t.topics), 2*t.s.cfg.BatchSize, t.s.cfg.MergeWait)
	rctx, stop := context.WithCancel(ctx)
	t.stopRd = stop
	for i, topic := range t.topics {
		t.startReader(rctx, i, topic)
	}
	return nil
}

func (t *task) load(cp state.Checkpoint) {
	for _, topic := range t.topics {
		if off, ok := cp.Offsets[topic]; ok {
			t.applied[topic] = off
		} else {
			t.applied[topic] = -1
		}
	}
	t.clock = core.Clock{MaxEvent: cp.Watermark, Now: cp.Clock}
	t.modelDone = cp.ModelDone
	if t.model == nil || !t.s.core.Replay(t.clock, time.Now()) {
		t.model = t.s.d.Models.Current()
	}
	t.log.Info("claimed partition", zap.Any("offsets", cp.Offsets))
}

func (t *task) stopReaders() {
	if t.stopRd != nil {
		t.stopRd()
		t.stopRd = nil
	}
	for _, r := range t.readers {
		_ = r.Close()
	}
	t.readers = nil
}

func (t *task) startReader(ctx context.Context, src int, topic string) {
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
	merge := t.merge
	go func() {
		// Whether the partition has anything to fetch at all decides if
		// the merge may go on without it.
		if t.caughtUpAt(ctx, topic, off) {
			if !merge.push(ctx, src, nil, true) {
				return
			}
		}
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
			d := t.s.core.Decode(toRecord(m))
			if !merge.push(ctx, src, &d, m.Offset+1 >= m.HighWaterMark) {
				return
			}
		}
	}()
}

// caughtUpAt reports whether a reader starting at off (an offset or
// kafka.FirstOffset/LastOffset) has nothing to fetch in partition p of
// topic, asking the broker for the partition's offsets (a few tries; false
// when it cannot tell, and the merge's bounded wait applies).
func (t *task) caughtUpAt(ctx context.Context, topic string, off int64) bool {
	if off == kafka.LastOffset {
		return true
	}
	client := &kafka.Client{Addr: kafka.TCP(t.s.cfg.Brokers...), Timeout: 5 * time.Second, Transport: t.s.d.Transport}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: {kafka.FirstOffsetOf(t.p), kafka.LastOffsetOf(t.p)}}}
	for try := 0; try < 5; try++ {
		res, err := client.ListOffsets(ctx, req)
		if err == nil {
			for _, po := range res.Topics[topic] {
				if po.Partition == t.p && po.Error == nil {
					if off == kafka.FirstOffset {
						return po.FirstOffset >= po.LastOffset
					}
					return off >= po.LastOffset
				}
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
	}
	return false
}

func toRecord(m kafka.Message) core.Record {
	h := make([]event.Header, len(m.Headers))
	for i, x := range m.Headers {
		h[i] = event.Header{Key: x.Key, Value: x.Value}
	}
	return core.Record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value, Headers: h}
}

// step processes the next merged records (up to a batch); with tick it
// also advances an idle input's clock and takes up a new model. Timers are
// loaded page by page until the step's clock is reached.
func (t *task) step(ctx context.Context, tick bool) error {
	wall := time.Now()
	// The batch's slice is reused from step to step: a step processes all
	// of it before it returns, and nothing keeps a reference into it.
	recs, waited := t.merge.take(t.batch[:0], t.s.cfg.BatchSize, wall)
	t.batch = recs
	if waited {
		t.s.d.Metrics.MergeWaits.Inc()
	}
	idle := tick && t.merge.idle()
	if idle || !t.s.core.Replay(t.clock, wall) {
		if cur := t.s.d.Models.Current(); cur != nil && (t.model == nil || cur.Version != t.model.Version) {
			t.model = cur
		}
	}
	for {
		target := t.s.core.Target(t.clock, recs, idle, wall)
		if len(recs) == 0 && target <= t.clock.Now {
			return nil
		}
		consumed, blocked, err := t.process(ctx, recs, idle, wall, target)
		if err != nil {
			return err
		}
		recs = recs[consumed:]
		if !blocked && len(recs) == 0 {
			return nil
		}
	}
}

// process loads the timers up to target (a page at most) and the states
// of the records and timers, runs the core and commits its output.
func (t *task) process(ctx context.Context, recs []core.Decoded, idle bool, wall time.Time, target int64) (int, bool, error) {
	start := time.Now()
	m := t.s.d.Metrics
	horizon := target
	var timers []core.Timer
	if target > 0 {
		st0 := time.Now()
		page, err := t.s.d.Store.Timers(ctx, t.p, 1, target, timerPage)
		m.RedisSeconds.WithLabelValues("due").Observe(time.Since(st0).Seconds())
		if err != nil {
			m.RedisErrors.WithLabelValues("due").Inc()
			return 0, false, err
		}
		if len(page) == timerPage {
			last := page[len(page)-1].Due
			horizon = last - 1
			for len(page) > 0 && page[len(page)-1].Due == last {
				page = page[:len(page)-1]
			}
			if len(page) == 0 { // a whole page due at one instant
				if page, err = t.s.d.Store.Timers(ctx, t.p, last, last, 0); err != nil {
					return 0, false, err
				}
				horizon = last
			}
		}
		timers = make([]core.Timer, len(page))
		for i, x := range page {
			timers[i] = core.Timer{ID: x.ID, Due: x.Due}
		}
	}

	ids := make([]string, 0, len(recs)+len(timers))
	for i := range recs {
		if recs[i].Err == nil {
			ids = append(ids, recs[i].Event.CustomerID)
		}
	}
	for _, x := range timers {
		ids = append(ids, x.ID)
	}
	states, dues, fetched, quarantine, err := t.loadStates(ctx, ids, timers)
	if err != nil {
		return 0, false, err
	}
	defer t.recycle(states)
	out := t.s.core.Process(core.Input{
		Records: recs, States: states, Timers: timers, Horizon: horizon, Dues: dues,
		Applied: t.applied, Clock: t.clock, Wall: wall, Model: t.model, Idle: idle,
	})
	if out.Empty() && len(quarantine) == 0 && len(out.Dead) == 0 && out.Clock == t.clock {
		t.remember(fetched, nil, dues, nil)
		return out.Consumed, out.Blocked, nil
	}
	if err := t.deadLetter(ctx, out.Dead); err != nil {
		m.KafkaErrors.WithLabelValues("dead_letter").Inc()
		return 0, false, err
	}
	b := state.Batch{Gen: t.gen.ID, Offsets: map[string]state.OffsetRange{}, Due: out.Due, Watermark: out.Clock.MaxEvent, Clock: out.Clock.Now,
		Quarantine: quarantine}
	for topic, r := range out.Offsets {
		b.Offsets[topic] = state.OffsetRange{From: r.From, To: r.To}
	}
	enc := make([]state.Raw, len(out.States))
	buf := t.encoded[:0]
	for i, st := range out.States {
		n := len(buf)
		var err error
		if buf, err = state.AppendState(buf, st); err != nil {
			return 0, false, fmt.Errorf("encode state: %w", err)
		}
		enc[i] = state.Raw{ID: st.ID, Data: buf[n:len(buf):len(buf)]}
	}
	t.encoded = buf
	b.Raw = enc
	b.Outbox = make([]state.OutboxRecord, len(out.Outbox))
	for i, r := range out.Outbox {
		b.Outbox[i] = outboxRecord(r)
	}
	if err := t.commit(ctx, b); err != nil {
		return 0, false, err
	}
	// Durable: move the in-memory checkpoint and the cache.
	for topic, r := range out.Offsets {
		t.applied[topic] = r.To
	}
	t.clock = out.Clock
	t.remember(fetched, enc, dues, out.Due)
	t.commitKafka(out.Offsets)
	t.observe(out, quarantine)
	m.BatchSeconds.Observe(time.Since(start).Seconds())
	return out.Consumed, out.Blocked, nil
}

// remember puts into the cache what Redis holds once a step is durable:
// the states it read from Redis and did not rewrite as read, the rewritten
// ones as encoded (written; their buffer is reused by the next step, so
// they are copied), each with its stored due time (dues as loaded,
// changed as the step wrote them; -1 when not known).
func (t *task) remember(fetched, written []state.Raw, dues, changed map[string]int64) {
	if len(fetched) > 0 {
		rewritten := make(map[string]bool, len(written))
		for _, e := range written {
			rewritten[e.ID] = true
		}
		for _, f := range fetched {
			if !rewritten[f.ID] {
				t.cache.put(f.ID, f.Data, dues[f.ID])
			}
		}
	}
	for _, e := range written {
		d, ok := changed[e.ID]
		if !ok {
			if d, ok = dues[e.ID]; !ok {
				d = -1
			}
		}
		t.cache.put(e.ID, slices.Clone(e.Data), d)
	}
	for id, d := range changed {
		t.cache.setDue(id, d)
	}
}

// loadStates returns the states of ids from the cache or Redis, the known
// stored due times, the stored encodings read from Redis (for the cache,
// once the step is durable) and the stored states that could not be
// decoded (quarantined: the customer starts afresh, the raw bytes are
// kept). The due time of a customer with a timer is the timer's: it is not
// read again.
func (t *task) loadStates(ctx context.Context, ids []string, timers []core.Timer) (map[string]*customer.State, map[string]int64, []state.Raw, []state.Raw, error) {
	states := make(map[string]*customer.State, len(ids))
	dues := make(map[string]int64, len(ids))
	for _, x := range timers {
		dues[x.ID] = x.Due
	}
	var miss []string
	for _, id := range ids {
		if _, done := states[id]; done {
			continue
		}
		e, ok := t.cache.get(id)
		if !ok {
			states[id] = nil
			miss = append(miss, id)
			continue
		}
		st := t.newState(id)
		if e.data != nil {
			if err := state.DecodeState(e.data, st); err != nil {
				return nil, nil, nil, nil, fmt.Errorf("decode cached state: %w", err)
			}
		}
		states[id] = st
		if e.due >= 0 {
			dues[id] = e.due
		}
	}
	var fetched, quarantine []state.Raw
	if len(miss) > 0 {
		t.s.d.Metrics.CacheMisses.Add(float64(len(miss)))
		st0 := time.Now()
		var dueIDs []string
		for _, id := range miss {
			if _, known := dues[id]; !known {
				dueIDs = append(dueIDs, id)
			}
		}
		raw, due, err := t.s.d.Store.LoadRaw(ctx, t.p, miss, dueIDs)
		t.s.d.Metrics.RedisSeconds.WithLabelValues("load").Observe(time.Since(st0).Seconds())
		if err != nil {
			t.s.d.Metrics.RedisErrors.WithLabelValues("load").Inc()
			return nil, nil, nil, nil, err
		}
		for i, id := range miss {
			st := t.newState(id)
			if raw[i] != nil {
				if err := state.DecodeState(raw[i], st); err != nil {
					quarantine = append(quarantine, state.Raw{ID: id, Data: raw[i]})
					st.ID = id // a failed decode leaves the state empty
					t.log.Error("stored customer state cannot be decoded; quarantined and started afresh",
						append(t.s.idFields(id), zap.Error(err))...)
					states[id] = st
					continue
				}
			}
			states[id] = st
			fetched = append(fetched, state.Raw{ID: id, Data: raw[i]})
		}
		for i, id := range dueIDs {
			dues[id] = due[i]
		}
	}
	t.s.d.Metrics.CacheHits.Add(float64(len(ids) - len(miss)))
	return states, dues, fetched, quarantine, nil
}

// Bounds of the states a task keeps for reuse: about one batch of them,
// none that grew large (their slices would stay allocated at that size).
const (
	maxFree      = 512
	maxFreeItems = 64
)

// newState returns an empty state of customer id, reusing one of an
// earlier step when there is one.
func (t *task) newState(id string) *customer.State {
	n := len(t.free)
	if n == 0 {
		return &customer.State{ID: id}
	}
	st := t.free[n-1]
	t.free = t.free[:n-1]
	st.Reset()
	st.ID = id
	return st
}

// recycle keeps the states of a finished step for newState (the core's
// new customers are in states too). Decoding into a kept state reuses its
// slices: loading a customer allocates little more than its strings.
func (t *task) recycle(states map[string]*customer.State) {
	for _, st := range states {
		if len(t.free) == maxFree {
			return
		}
		if st != nil && cap(st.Days)+cap(st.Orders)+cap(st.Refunds)+cap(st.Tickets)+cap(st.Emails)+cap(st.Surveys)+cap(st.Subscriptions)+cap(st.Referrals) <= maxFreeItems {
			t.free = append(t.free, st)
		}
	}
}

// rescoreModel continues the gradual re-scoring of the partition's
// customers under a new scoring (cause model): a new model version, or a
// changed scoring configuration (segment rules, tiers, churn levels: the
// scorer's fingerprint). One page per tick; under a new model version with
// the same configuration, customers already scored with that version are
// skipped. A partition whose stored customers were all re-scored under the
// scoring is not walked again after a restart.
func (t *task) rescoreModel(ctx context.Context) error {
	rec := t.model
	var version int64 // 0: the baseline, before any model is published
	if rec != nil {
		version = rec.Version
	}
	id := walkID(version, t.s.d.Scorer.Fingerprint())
	if id == t.modelDone {
		return nil
	}
	if id != t.scan.id {
		t.scan.id, t.scan.cursor, t.scan.active = id, 0, true
	}
	if !t.scan.active {
		return nil
	}
	// The same configuration as the last walk (or none recorded: a fresh
	// partition, or one last walked before configurations were recorded):
	// only the version moved, and customers already scored with it by
	// their events are skipped. A changed configuration re-scores all.
	sameConfig := !strings.Contains(t.modelDone, "/") || strings.HasSuffix(t.modelDone, "/"+t.s.d.Scorer.Fingerprint())
	page, next, err := t.s.d.Store.Scan(ctx, t.p, t.scan.cursor, int64(t.s.cfg.RescoreBatch))
	if err != nil {
		t.s.d.Metrics.RedisErrors.WithLabelValues("scan").Inc()
		return err
	}
	b := state.Batch{Gen: t.gen.ID, Due: map[string]int64{}, Watermark: t.clock.MaxEvent, Clock: t.clock.Now}
	if next == 0 {
		b.ModelDone = id
	}
	changed, total := 0, 0
	var changes []core.Change
	for _, st := range page {
		if e, ok := t.cache.get(st.ID); ok && e.data != nil {
			if err := state.DecodeState(e.data, st); err != nil {
				return fmt.Errorf("decode cached state: %w", err)
			}
		}
		if (sameConfig && st.ModelVersion == version) || st.Erased {
			continue
		}
		total++
		sc := t.s.core.Score(st, time.UnixMilli(t.clock.Now).UTC(), rec, event.CauseModel, false)
		b.Due[st.ID] = sc.Due
		if sc.Write {
			data, err := state.EncodeState(st)
			if err != nil {
				return fmt.Errorf("encode state: %w", err)
			}
			b.Raw = append(b.Raw, state.Raw{ID: st.ID, Data: data})
		}
		for _, r := range sc.Outbox {
			b.Outbox = append(b.Outbox, outboxRecord(r))
		}
		changes = append(changes, sc.Changes...)
		if sc.SegmentChanged {
			changed++
		}
	}
	if err := t.commit(ctx, b); err != nil {
		return err
	}
	for _, r := range b.Raw {
		t.cache.put(r.ID, r.Data, b.Due[r.ID])
	}
	t.observeChanges(changes)
	t.s.d.Metrics.Rescored.WithLabelValues(string(event.CauseModel), "true").Add(float64(changed))
	t.s.d.Metrics.Rescored.WithLabelValues(string(event.CauseModel), "false").Add(float64(total - changed))
	t.scan.cursor = next
	if next == 0 {
		t.scan.active = false
		t.modelDone = id
		t.log.Info("partition re-scored under model version and scoring configuration", zap.Int64("version", version), zap.String("scoring", t.s.d.Scorer.Fingerprint()))
	}
	return nil
}

// walkID identifies a scoring: model version and scoring configuration.
func walkID(version int64, fingerprint string) string {
	return strconv.FormatInt(version, 10) + "/" + fingerprint
}

// commit writes a batch to Redis. Every failure is returned: the task
// resumes from the stored checkpoint, with backoff.
func (t *task) commit(ctx context.Context, b state.Batch) error {
	st := time.Now()
	err := t.s.d.Store.Commit(ctx, t.p, b)
	t.s.d.Metrics.RedisSeconds.WithLabelValues("commit").Observe(time.Since(st).Seconds())
	if err != nil {
		t.s.d.Metrics.RedisErrors.WithLabelValues("commit").Inc()
		return err
	}
	if len(b.Outbox) > 0 {
		select {
		case t.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// commitKafka records the applied offsets in the consumer group too, for
// lag tooling, off the critical path. Redis stays the truth, so a failure
// is only counted.
func (t *task) commitKafka(offs map[string]core.OffsetRange) {
	if len(offs) == 0 {
		return
	}
	m := map[string]map[int]int64{}
	for topic, r := range offs {
		m[topic] = map[int]int64{t.p: r.To}
	}
	gen, metrics := t.gen, t.s.d.Metrics
	go func() {
		if err := gen.CommitOffsets(m); err != nil {
			metrics.KafkaErrors.WithLabelValues("commit_offsets").Inc()
		}
	}()
}

// observe counts a committed output (after the commit, so a retried batch
// is not counted twice).
func (t *task) observe(out core.Output, quarantine []state.Raw) {
	m := t.s.d.Metrics
	misrouted := 0
	for o, n := range out.Outcomes {
		m.Records.WithLabelValues(o.Topic, o.Type, o.Outcome).Add(float64(n))
	}
	for _, d := range out.Dead {
		m.DeadLetters.WithLabelValues(string(d.Err.Reason)).Inc()
		if d.Err.Reason == event.ReasonMisrouted {
			misrouted++
		}
	}
	for cause, c := range out.Rescored {
		m.Rescored.WithLabelValues(string(cause), "true").Add(float64(c[0]))
		m.Rescored.WithLabelValues(string(cause), "false").Add(float64(c[1]))
	}
	m.Quarantined.Add(float64(len(quarantine)))
	for r, n := range out.Refunds {
		m.Refunds.WithLabelValues(r).Add(float64(n))
	}
	m.RefundsReleased.Add(float64(out.RefundsReleased))
	t.observeChanges(out.Changes)
	if t.misrt.add(out.Consumed, misrouted, time.Now()) {
		t.log.Warn("most records of this partition are misrouted: the producers' partitioner differs from kafka.partitioner",
			zap.String("partitioner", t.s.cfg.Partitioner),
			zap.String("fix", "librdkafka/kcat: partitioner=murmur2_random; Java: the default; kafka-go: &kafka.Murmur2Balancer{Consistent: true}; or set kafka.partitioner to match"))
	}
}

func (t *task) observeChanges(cs []core.Change) {
	m := t.s.d.Metrics
	for _, c := range cs {
		switch {
		case c.Cause != "":
			m.SegmentChanges.WithLabelValues(c.From, c.To, string(c.Cause)).Inc()
		case c.Tier[1] != "":
			m.TierChanges.WithLabelValues(c.Tier[0], c.Tier[1]).Inc()
		default:
			m.Milestones.Add(float64(c.Milestones))
		}
	}
}

// misroutedWatch decides when to warn that most of a partition's records
// are misrouted: over windows of at least 100 records, at most once a
// minute.
type misroutedWatch struct {
	seen, bad int
	last      time.Time
}

func (w *misroutedWatch) add(seen, bad int, now time.Time) bool {
	w.seen += seen
	w.bad += bad
	if w.seen < 100 {
		return false
	}
	warn := 2*w.bad > w.seen && now.Sub(w.last) >= time.Minute
	if warn {
		w.last = now
	}
	w.seen, w.bad = 0, 0
	return warn
}

// forgetGauges removes the partition's gauges when the task ends, so an
// instance that lost the partition does not keep exporting stale values.
func (t *task) forgetGauges() {
	p := strconv.Itoa(t.p)
	for _, topic := range t.topics {
		t.s.d.Metrics.Lag.DeleteLabelValues(topic, p)
	}
	t.s.d.Metrics.OutboxBacklog.DeleteLabelValues(p)
	t.s.d.Metrics.Stalled.DeleteLabelValues(p)
	t.s.stalled.Delete(t.p)
}

// outboxRecord is the stored form of an outbox record: its destination by
// role ("" for the segment-changes topic, so those entries are stored as
// before destinations existed).
func outboxRecord(r core.OutboxRecord) state.OutboxRecord {
	rec := state.OutboxRecord{Key: r.Key, Value: r.Value}
	if r.Dest == core.DestReferrals {
		rec.Dest = state.DestReferrals
	}
	return rec
}
