package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clvstream/clvstream/internal/stream"
)

// Options configure a benchmark run.
type Options struct {
	// Mix is the history to generate.
	Mix Mix
	// Partitions is the partition count of every topic.
	Partitions int
	// Brokers are the Kafka bootstrap addresses; RedisAddr is host:port.
	Brokers   []string
	RedisAddr string
	// Partitioner is the producers' and the service's partitioner
	// (murmur2 or fnv1a).
	Partitioner string
	// Bin is a prebuilt clvstream binary; empty builds ./cmd/clvstream of
	// the module the working directory is in.
	Bin string
	// HTTPAddr is the service's listen address; ProxyAddr the counting
	// Redis proxy's. Both on 127.0.0.1 with fixed ports.
	HTTPAddr, ProxyAddr string
	// NoProxy connects the service to Redis directly: round trips and
	// Redis traffic are then not measured, and the harness does not copy
	// the service's Redis traffic (a few percent of one core at 1M
	// records).
	NoProxy bool
	// CPUProfile, when set, is where a CPU profile of the service over
	// the first seconds of ingest (at most 25 s: the service's HTTP write
	// timeout is 30 s) is written, its heap profile at the end of ingest
	// to CPUProfile+".heap" and a CPU profile of the first 3 s of the
	// sweep to CPUProfile+".sweep"; the service runs with http.pprof on.
	CPUProfile string
	// Sets are extra --set path=value options for clvstream run.
	Sets []string
	// NoModel leaves the service without a published model (baseline
	// scores, and its fitter fits during the run).
	NoModel bool
	// Modes selects what to measure (default all four).
	Modes Modes
	// Timeout bounds the wait for the service to settle.
	Timeout time.Duration
	// Keep keeps the topics and Redis keys after the run.
	Keep bool
	// Progress receives progress lines (nil: none).
	Progress io.Writer
}

// Modes selects the measured consumers.
type Modes struct{ Plain, JSON, Naive, Service bool }

// AllModes measures all four.
func AllModes() Modes { return Modes{true, true, true, true} }

// ModeResult is one consumer's measurement.
type ModeResult struct {
	// Ran reports whether the mode was measured.
	Ran bool
	// Events is the records it counted; Seconds its wall time.
	Events  int64
	Seconds float64
	// CPU is the consumer's process CPU (user+system) over the run.
	CPU time.Duration
	// Redis is what Redis did meanwhile (naive and service only).
	Redis *redisDelta
}

// Rate is events per second.
func (m ModeResult) Rate() float64 {
	if m.Seconds <= 0 {
		return 0
	}
	return float64(m.Events) / m.Seconds
}

// ServiceResult is the end-to-end measurement of clvstream run. Ingest
// is from /readyz answering to every offset applied and the outbox empty
// (the embedded ModeResult); catch-up from there until nothing is due by
// the replay clock (latest event time minus kafka.allowed_lateness); the
// sweep is a second phase: one record per partition ~4 weeks after the
// history (with the default Mix.EndBefore; more with a longer one) moves
// the replay clock forward, the customers with a change due by then are
// re-scored (cause scheduled), until nothing is due again.
type ServiceResult struct {
	ModeResult
	// Settled reports whether every phase finished before the timeout.
	Settled bool
	// StartupSeconds is from exec to /readyz 200.
	StartupSeconds float64
	// Proxy is what the service's Redis client did during ingest.
	Proxy proxyCounts
	// HarnessCPU is the harness's own CPU during ingest: the relay's
	// copying and the progress polls, taken from the cores the service
	// runs on.
	HarnessCPU time.Duration
	// CatchUpDue is the customers due by the replay clock when ingest
	// finished; CatchUpRescored the scheduled re-scores until nothing was
	// due, over CatchUpSeconds.
	CatchUpDue      int64
	CatchUpRescored float64
	CatchUpSeconds  float64
	// StrandedDue is the customers due by the latest event time but not
	// by the replay clock after catch-up: changes a replay never
	// publishes.
	StrandedDue int64
	// SweepRan reports whether the clock-advance phase ran; SweepDue is
	// the customers due by the advanced clock; SweepRescored the
	// scheduled re-scores over SweepSeconds, with SweepCPU process CPU,
	// SweepRedis Redis CPU (server-wide) and SweepProxy round trips.
	SweepRan      bool
	SweepDays     float64 // how far the clock moved
	SweepDue      int64
	SweepRescored float64
	SweepSeconds  float64
	SweepCPU      time.Duration
	SweepRedis    float64 // seconds
	SweepProxy    proxyCounts
	// SettleProxy, SettleRedis, SettleCPU and SettleSeconds cover the
	// whole run, from ready to the end of the last phase.
	SettleProxy   proxyCounts
	SettleRedis   redisDelta
	SettleCPU     time.Duration
	SettleSeconds float64
	// PeakRSSKB is VmHWM of the subprocess.
	PeakRSSKB int64
	// Conns is the Redis connections the service opened.
	Conns int64
	// KeyBytes is MEMORY USAGE of the service's keys by kind; UsedMemory
	// the used_memory delta from before start to the end.
	KeyBytes   map[string]int64
	UsedMemory int64
	// Counted is clvstream_records_total summed over outcomes; Applied and
	// Duplicates by outcome; DeadLetters clvstream_dead_letter_total;
	// Changes the segment-change records relayed.
	Counted, Applied, Duplicates, DeadLetters, Changes float64
	// Log is the subprocess's log file (kept with -keep or on failure).
	Log string
}

// Result is a whole run.
type Result struct {
	Options      Options
	History      *History
	Records      int // records produced
	Topics       stream.Topics
	ProduceSecs  float64
	OtherClients int64 // Redis clients connected besides the harness's, at the start
	// LoadStart and LoadEnd are the 1-minute load averages when the run
	// started and ended: other work on the machine slows every mode.
	LoadStart, LoadEnd string
	Plain, JSON        ModeResult
	Naive              ModeResult
	Service            ServiceResult
	ServiceFailed      error
}

// Run generates the history, produces it, and measures the selected modes
// back to back on the same topics.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Partitions < 1 {
		return nil, fmt.Errorf("partitions: %d must be at least 1", o.Partitions)
	}
	if len(o.Brokers) == 0 || o.RedisAddr == "" {
		return nil, errors.New("brokers and redis address are required (start the services: scripts/services.sh up)")
	}
	part, err := stream.NewPartitioner(o.Partitioner)
	if err != nil {
		return nil, fmt.Errorf("partitioner: %w", err)
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Minute
	}
	logf := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "[%s] "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
		}
	}
	hook := &countHook{}
	rdb := redis.NewClient(&redis.Options{Addr: o.RedisAddr, PoolSize: 4 * o.Partitions})
	rdb.AddHook(hook)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis %s: %w", o.RedisAddr, err)
	}

	res := &Result{Options: o, LoadStart: loadAverage()}
	defer func() { res.LoadEnd = loadAverage() }()
	if in, err := readInfo(ctx, rdb, hook); err == nil {
		res.OtherClients = in.Clients - 1
	}
	start := time.Now()
	h, err := Generate(o.Mix, start)
	if err != nil {
		return nil, err
	}
	res.History = h
	res.Records = h.Total()
	logf("generated %d records for %d customers (%s to %s) in %s", h.Total(), h.Customers,
		h.Start.Format("2006-01-02"), h.End.Format("2006-01-02"), time.Since(start).Round(time.Millisecond))

	base := fmt.Sprintf("clvbench-%d-%04d", time.Now().Unix()%1e7, rand.IntN(1e4))
	topics := stream.Topics{Purchases: base + ".purchases", Tickets: base + ".tickets", Emails: base + ".emails",
		SegmentChanges: base + ".segment-changes", DeadLetter: base + ".dead-letter"}
	res.Topics = topics
	all := []string{topics.Purchases, topics.Tickets, topics.Emails, topics.SegmentChanges, topics.DeadLetter}
	if err := createTopics(ctx, o.Brokers, o.Partitions, all...); err != nil {
		return nil, err
	}
	if !o.Keep {
		defer func() {
			if err := deleteTopics(context.Background(), o.Brokers, all...); err != nil {
				logf("delete topics: %v", err)
			}
		}()
	}
	t0 := time.Now()
	if err := produce(ctx, o.Brokers, part, topics, h); err != nil {
		return nil, err
	}
	res.ProduceSecs = time.Since(t0).Seconds()
	ends, err := endOffsets(ctx, o.Brokers, o.Partitions, topics.Inputs()...)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, parts := range ends {
		for _, e := range parts {
			total += e
		}
	}
	if total != int64(h.Total()) {
		return nil, fmt.Errorf("produced %d records but the topics hold %d", h.Total(), total)
	}
	logf("produced %d records to %s.{purchases,tickets,emails} in %.1fs (%.0f/s)", total, base, res.ProduceSecs, float64(total)/res.ProduceSecs)
	// The history is in Kafka now; drop it from the harness's heap so
	// that its GC does not weigh on the consumers measured next.
	maxEv := h.MaxEventTime
	h.Purchases, h.Tickets, h.Emails = nil, nil, nil
	runtime.GC()
	debug.FreeOSMemory()

	measure := func(name string, fn func() (int64, error)) (ModeResult, error) {
		runtime.GC()
		c0, w0 := selfCPU(), time.Now()
		n, err := fn()
		r := ModeResult{Ran: true, Events: n, Seconds: time.Since(w0).Seconds(), CPU: selfCPU() - c0}
		if err != nil {
			return r, fmt.Errorf("%s: %w", name, err)
		}
		logf("%s: %d records in %.2fs (%.0f/s)", name, n, r.Seconds, r.Rate())
		return r, nil
	}
	if o.Modes.Plain {
		if res.Plain, err = measure("plain consumer", func() (int64, error) { return consume(ctx, o.Brokers, ends, false) }); err != nil {
			return res, err
		}
	}
	if o.Modes.JSON {
		if res.JSON, err = measure("consumer + json", func() (int64, error) { return consume(ctx, o.Brokers, ends, true) }); err != nil {
			return res, err
		}
	}
	if o.Modes.Naive {
		prefix := base + ":naive"
		var d redisDelta
		res.Naive, err = measure("naive GET/SET", func() (int64, error) {
			a, err := readInfo(ctx, rdb, hook)
			if err != nil {
				return 0, err
			}
			n, err := naive(ctx, o.Brokers, ends, o.Partitions, rdb, prefix)
			b, ierr := readInfo(ctx, rdb, hook)
			d = b.since(a)
			return n, errors.Join(err, ierr)
		})
		// The naive processor's GET and SET went through the harness's
		// client, so its commands are the hook's count, not INFO's
		// remainder.
		d.Commands = 2 * res.Naive.Events
		res.Naive.Redis = &d
		if _, derr := deleteKeys(context.Background(), rdb, prefix+":*"); derr != nil {
			logf("delete naive keys: %v", derr)
		}
		if err != nil {
			return res, err
		}
	}
	if o.Modes.Service {
		res.Service, err = runService(ctx, o, part, rdb, hook, topics, base, ends, total, maxEv, logf)
		if err != nil {
			res.ServiceFailed = err
			return res, err
		}
	}
	return res, nil
}

// loadAverage is the 1-minute load average of the machine, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
