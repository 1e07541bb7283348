package perf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/pkg/event"
)

// durationSet returns the duration option path from --set overrides, or
// def.
func durationSet(sets []string, path string, def time.Duration) time.Duration {
	for _, s := range sets {
		if v, ok := strings.CutPrefix(s, path+"="); ok {
			if d, err := time.ParseDuration(v); err == nil {
				def = d
			}
		}
	}
	return def
}

// sample is the subprocess's and Redis's counters at one instant.
type sample struct {
	at      time.Time
	cpu     time.Duration
	self    time.Duration // the harness's own CPU (mostly the relay)
	info    redisInfo
	proxy   proxyCounts
	metrics metrics
}

// runner drives clvstream run through its phases.
type runner struct {
	o     Options
	rdb   *redis.Client
	hook  *countHook
	st    *state.Store
	px    *proxy
	svc   *service
	ends  map[string][]int64
	logf  func(string, ...any)
	until time.Time // overall deadline
}

func (rn *runner) sample(ctx context.Context) (sample, error) {
	s := sample{at: time.Now()}
	s.cpu, _ = procCPU(rn.svc.pid())
	s.self = selfCPU()
	s.proxy = rn.px.counts()
	var err error
	if s.info, err = readInfo(ctx, rn.rdb, rn.hook); err != nil {
		return s, err
	}
	s.metrics, err = scrape(ctx, rn.svc.base+"/metrics")
	return s, err
}

// waitFor polls the progress until every record up to want is applied, the
// outbox is empty and nothing is due by dueBy (Unix ms; 0: not checked).
// It returns false when the deadline passed.
func (rn *runner) waitFor(ctx context.Context, phase string, want, dueBy int64) (bool, error) {
	lastLog := time.Now()
	t0 := time.Now()
	for {
		if err, ok := rn.svc.exited(); ok {
			return false, fmt.Errorf("clvstream run %v during %s; its log: %s\n%s", err, phase, rn.svc.log, tail(rn.svc.log, 2000))
		}
		pr, err := readProgress(ctx, rn.rdb, rn.st, rn.ends, rn.o.Partitions, dueBy, true)
		if err != nil {
			return false, err
		}
		if pr.Applied >= want && pr.Outbox == 0 && pr.Due == 0 {
			return true, nil
		}
		now := time.Now()
		if now.After(rn.until) {
			rn.logf("%s: gave up after %s: applied %d of %d, outbox %d, due %d", phase, rn.o.Timeout, pr.Applied, want, pr.Outbox, pr.Due)
			return false, nil
		}
		if now.Sub(lastLog) >= 10*time.Second {
			lastLog = now
			rn.logf("%s: applied %d of %d (%.0f/s), outbox %d, due %d", phase, pr.Applied, want, float64(pr.Applied)/now.Sub(t0).Seconds(), pr.Outbox, pr.Due)
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (rn *runner) due(ctx context.Context, by int64) int64 {
	pr, err := readProgress(ctx, rn.rdb, rn.st, rn.ends, rn.o.Partitions, by, false)
	if err != nil {
		return -1
	}
	return pr.Due
}

func rescored(m metrics) float64 {
	return m.sum("clvstream_rescored_customers_total", `cause="scheduled"`)
}

// clockRecords returns one email_sent record per partition, for a
// customer id that hashes to it, at the instant at.
func clockRecords(part stream.Partitioner, partitions int, at time.Time) []kafka.Message {
	out := make([]kafka.Message, 0, partitions)
	for p, k := 0, 0; p < partitions; k++ {
		id := fmt.Sprintf("clvbench-clock-%d", k)
		if stream.PartitionOf(part, id, partitions) != p {
			continue
		}
		r := event.Record{EventID: id + "-tick", Type: event.EmailSent, CustomerID: id,
			OccurredAt: at.UTC().Format(time.RFC3339), MessageID: id + "-tick", Campaign: "clvbench-clock"}
		v, _ := json.Marshal(r)
		out = append(out, kafka.Message{Key: []byte(id), Value: v})
		p++
	}
	return out
}

// runService measures clvstream run from exec until the last phase
// settles.
func runService(ctx context.Context, o Options, part stream.Partitioner, rdb *redis.Client, hook *countHook, topics stream.Topics, base string,
	ends map[string][]int64, total int64, maxEv time.Time, logf func(string, ...any)) (r ServiceResult, err error) {
	dir, err := os.MkdirTemp("", "clvbench-")
	if err != nil {
		return r, err
	}
	r.Log = filepath.Join(dir, "clvstream.log")
	defer func() {
		if err == nil && !o.Keep {
			_ = os.RemoveAll(dir)
			r.Log = ""
		}
	}()
	bin := o.Bin
	if bin == "" {
		mod, err := moduleDir()
		if err != nil {
			return r, err
		}
		bin = filepath.Join(dir, "clvstream")
		t := time.Now()
		if err := buildService(ctx, mod, bin); err != nil {
			return r, err
		}
		logf("built %s in %.1fs", bin, time.Since(t).Seconds())
	}
	prefix := base
	if !o.Keep {
		defer func() {
			if _, err := deleteKeys(context.Background(), rdb, "{"+prefix+":*"); err != nil {
				logf("delete service keys: %v", err)
			}
		}()
	}
	if !o.NoModel {
		if err := publishModel(ctx, rdb, prefix); err != nil {
			return r, fmt.Errorf("publish model: %w", err)
		}
	}
	var px *proxy
	svcRedis := o.RedisAddr
	if !o.NoProxy {
		pctx, stopProxy := context.WithCancel(context.Background())
		defer stopProxy()
		if px, err = startProxy(pctx, o.ProxyAddr, o.RedisAddr); err != nil {
			return r, err
		}
		svcRedis = px.Addr()
	}
	cfgFile := filepath.Join(dir, "clvstream.yaml")
	cfg := serviceConfig(o.Brokers, topics, base+"-group", o.Partitioner, svcRedis, prefix, o.HTTPAddr, o.CPUProfile != "")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return r, err
	}

	time.Sleep(time.Second) // let lazily freed memory (the naive keys) go
	before, err := readInfo(ctx, rdb, hook)
	if err != nil {
		return r, err
	}
	t0 := time.Now()
	svc, err := startService(ctx, bin, cfgFile, r.Log, o.HTTPAddr, o.Sets)
	if err != nil {
		return r, err
	}
	defer func() {
		if serr := svc.stop(30 * time.Second); serr != nil {
			logf("stop clvstream: %v (log %s)", serr, r.Log)
		}
	}()
	if err := svc.waitReady(ctx, 2*time.Minute); err != nil {
		return r, err
	}
	r.Ran = true
	rn := &runner{o: o, rdb: rdb, hook: hook, st: state.New(rdb, prefix, time.Minute), px: px, svc: svc, ends: ends, logf: logf}
	ready, err := rn.sample(ctx)
	if err != nil {
		return r, err
	}
	rn.until = ready.at.Add(o.Timeout)
	r.StartupSeconds = ready.at.Sub(t0).Seconds()
	logf("clvstream run ready after %.1fs (pid %d)", r.StartupSeconds, svc.pid())

	if o.CPUProfile != "" {
		profDone := make(chan struct{})
		defer func() { <-profDone }()
		go func() {
			defer close(profDone)
			if err := fetchProfile(ctx, svc.base, o.CPUProfile, "profile?seconds=25"); err != nil {
				logf("%v", err)
				return
			}
			logf("CPU profile of the first 25 s of ingest: %s (go tool pprof -top %s)", o.CPUProfile, o.CPUProfile)
		}()
	}

	// Ingest: every offset applied, the outbox empty.
	ok, err := rn.waitFor(ctx, "ingest", total, 0)
	if err != nil || !ok {
		return r, errors.Join(err, notSettled(ok))
	}
	ing, err := rn.sample(ctx)
	if err != nil {
		return r, err
	}
	if o.CPUProfile != "" {
		// The live heap at the end of ingest, where the resident set peaks.
		if err := fetchProfile(ctx, svc.base, o.CPUProfile+".heap", "heap"); err != nil {
			logf("%v", err)
		} else {
			logf("heap profile at the end of ingest: %s.heap (go tool pprof -sample_index=inuse_space -top)", o.CPUProfile)
		}
	}
	r.Events, r.Seconds, r.CPU = total, ing.at.Sub(ready.at).Seconds(), ing.cpu-ready.cpu
	d := ing.info.since(ready.info)
	r.Redis = &d
	r.Proxy = ing.proxy.sub(ready.proxy)
	r.HarnessCPU = ing.self - ready.self
	lateness := durationSet(o.Sets, "kafka.allowed_lateness", time.Hour)
	replayClock := maxEv.Add(-lateness).UnixMilli()
	r.CatchUpDue = rn.due(ctx, replayClock)
	logf("ingest: %d records applied in %.2fs (%.0f/s); %d customers due by the replay clock", total, r.Seconds, r.Rate(), r.CatchUpDue)

	// Catch-up: nothing due by the replay clock.
	if ok, err = rn.waitFor(ctx, "catch-up", total, replayClock); err != nil || !ok {
		return r, errors.Join(err, notSettled(ok))
	}
	cu, err := rn.sample(ctx)
	if err != nil {
		return r, err
	}
	r.CatchUpSeconds, r.CatchUpRescored = cu.at.Sub(ing.at).Seconds(), rescored(cu.metrics)-rescored(ing.metrics)
	r.StrandedDue = rn.due(ctx, maxEv.UnixMilli())
	last := cu

	// Sweep: move the replay clock ~4 weeks forward (still a replay: a
	// day more than kafka.replay_threshold behind the wall clock) with one
	// record per partition; every customer comes due.
	clock := time.Now().Add(-durationSet(o.Sets, "kafka.replay_threshold", 24*time.Hour) - 24*time.Hour).Truncate(time.Second)
	if clock.Sub(maxEv) > 48*time.Hour {
		sweepBy := clock.Add(-lateness).UnixMilli()
		r.SweepDays = clock.Sub(maxEv).Hours() / 24
		r.SweepDue = rn.due(ctx, sweepBy)
		w := &kafka.Writer{Addr: kafka.TCP(o.Brokers...), Topic: topics.Emails, Balancer: part, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
		s0 := last
		if err := w.WriteMessages(ctx, clockRecords(part, o.Partitions, clock)...); err != nil {
			_ = w.Close()
			return r, fmt.Errorf("produce the clock records: %w", err)
		}
		_ = w.Close()
		if rn.ends, err = endOffsets(ctx, o.Brokers, o.Partitions, topics.Inputs()...); err != nil {
			return r, err
		}
		logf("sweep: clock moved to %s; %d customers due", clock.Format("2006-01-02"), r.SweepDue)
		if o.CPUProfile != "" {
			sweepProf := make(chan struct{})
			defer func() { <-sweepProf }()
			go func() {
				defer close(sweepProf)
				if err := fetchProfile(ctx, svc.base, o.CPUProfile+".sweep", "profile?seconds=3"); err != nil {
					logf("%v", err)
					return
				}
				logf("CPU profile of the first 3 s of the sweep: %s.sweep", o.CPUProfile)
			}()
		}
		if ok, err = rn.waitFor(ctx, "sweep", total+int64(o.Partitions), sweepBy); err != nil || !ok {
			return r, errors.Join(err, notSettled(ok))
		}
		sw, err := rn.sample(ctx)
		if err != nil {
			return r, err
		}
		r.SweepRan = true
		r.SweepSeconds, r.SweepRescored = sw.at.Sub(s0.at).Seconds(), rescored(sw.metrics)-rescored(s0.metrics)
		r.SweepCPU, r.SweepProxy = sw.cpu-s0.cpu, sw.proxy.sub(s0.proxy)
		r.SweepRedis = sw.info.since(s0.info).CPU
		logf("sweep: %.0f scheduled re-scores in %.1fs (%.0f/s)", r.SweepRescored, r.SweepSeconds, r.SweepRescored/max(r.SweepSeconds, 1e-9))
		last = sw
	}
	r.Settled = true
	r.SettleSeconds = last.at.Sub(ready.at).Seconds()
	r.SettleCPU, r.SettleProxy, r.SettleRedis = last.cpu-ready.cpu, last.proxy.sub(ready.proxy), last.info.since(ready.info)
	r.PeakRSSKB, _ = procStatusKB(svc.pid(), "VmHWM")
	r.Conns = px.counts().Conns
	r.UsedMemory = last.info.Memory - before.Memory
	m := last.metrics
	r.Counted = m.sum("clvstream_records_total")
	r.Applied = m.sum("clvstream_records_total", `outcome="applied"`)
	r.Duplicates = m.sum("clvstream_records_total", `outcome="duplicate"`)
	r.DeadLetters = m.sum("clvstream_dead_letter_total")
	r.Changes = m.sum("clvstream_relay_records_total")
	if r.KeyBytes, err = keyMemory(ctx, rdb, prefix); err != nil {
		return r, err
	}
	return r, nil
}

// notSettled is the error of a phase that did not finish in time.
func notSettled(ok bool) error {
	if ok {
		return nil
	}
	return errors.New("clvstream run did not settle before -timeout (see the phase above)")
}
