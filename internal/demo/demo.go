package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/app"
	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/obs"
	"github.com/clvstream/clvstream/internal/refit"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/pkg/customer"
)

// Options configure the demo. Zero values mean the defaults of
// withDefaults.
type Options struct {
	// HTTPAddr is where the API and /metrics listen (port 0: any free
	// port; the demo prints the address).
	HTTPAddr string
	// Customers is the number of simulated customers (default 400).
	Customers int
	// Days is the length of the simulation in days, ending yesterday
	// (default 730: two years).
	Days int
	// DayEvery is the wall time per simulated day (default 100ms). The
	// simulation never runs ahead of the pipeline, so a slow machine
	// slows it down rather than showing a summary that lags behind.
	DayEvery time.Duration
	// Seed makes the simulated shop: the same seed (with the same
	// Customers and Days) gives the same records and the same totals.
	Seed uint64
	// Token is the API's bearer token (default: a random one, printed).
	Token string
	// Duration stops the demo after this long (0: only when ctx ends).
	Duration time.Duration
	// ExitWhenDone returns after the final summary instead of serving the
	// API until ctx ends (for tests).
	ExitWhenDone bool
}

func (o Options) withDefaults() Options {
	if o.HTTPAddr == "" {
		o.HTTPAddr = "127.0.0.1:8080"
	}
	if o.Customers == 0 {
		o.Customers = 400
	}
	if o.Days == 0 {
		o.Days = 730
	}
	if o.DayEvery == 0 {
		o.DayEvery = 100 * time.Millisecond
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// partitions is the partition count of the demo's topics.
const partitions = 4

// refitEvery is how many simulated days pass between two refits after the
// first fit.
const refitEvery = 240

// Run runs the demo until ctx ends (or Duration passes), writing the live
// summary to out: it simulates the shop, fits the models as soon as there
// are enough customers, prints a final summary when the simulation ends,
// and keeps serving the API until ctx ends.
func Run(ctx context.Context, o Options, out io.Writer) error {
	o = o.withDefaults()
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	if o.Token == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		o.Token = hex.EncodeToString(b)
	}
	httpAddr, err := freeAddr(o.HTTPAddr)
	if err != nil {
		return err
	}
	t := stream.Config{}.WithDefaults().Topics
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, t.Purchases, t.Tickets, t.Emails, t.SegmentChanges, t.DeadLetter))
	if err != nil {
		return fmt.Errorf("start in-process kafka: %w", err)
	}
	defer cluster.Close()
	mr, err := miniredis.Run()
	if err != nil {
		return fmt.Errorf("start in-process redis: %w", err)
	}
	defer mr.Close()

	cfg := demoConfig(o, cluster.ListenAddrs(), mr.Addr(), httpAddr)
	if err := cfg.Validate(); err != nil {
		return err
	}
	// Warnings of the components shutting down (a cancelled Redis call)
	// would only clutter the demo's screen: errors only.
	log, err := obs.NewLogger("error", "console")
	if err != nil {
		return err
	}
	reg := obs.NewRegistry()
	a, err := app.New(cfg, log, reg)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	d := &driver{o: o, cfg: cfg, reg: reg, out: out, log: log,
		store: state.New(rdb, cfg.Redis.KeyPrefix, cfg.Kafka.OwnerLease), models: refit.NewStore(rdb, cfg.Redis.KeyPrefix)}
	d.gen = newGenerator(o, cfg)
	d.gen.sync = d.sync
	d.part, _ = stream.NewPartitioner(cfg.Kafka.Partitioner)
	d.sum = newSummary()

	api := "http://" + httpAddr
	fmt.Fprintf(out, "clvstream demo: in-process Kafka at %s, in-process Redis at %s\n", strings.Join(cfg.Kafka.Brokers, ","), mr.Addr())
	fmt.Fprintf(out, "  query API  %s/v1 (bearer token %s), metrics %s/metrics; try:\n", api, o.Token, api)
	fmt.Fprintf(out, "    curl -H \"Authorization: Bearer %s\" %s/v1/customers/cust-0001\n", o.Token, api)
	fmt.Fprintf(out, "    curl -H \"Authorization: Bearer %s\" %s/v1/kpis\n", o.Token, api)
	fmt.Fprintf(out, "simulating %d customers over %d days up to yesterday (seed %d), one day every %s; Ctrl-C to stop\n\n",
		o.Customers, o.Days, o.Seed, o.DayEvery)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	appErr := make(chan error, 1)
	wg.Add(3)
	go func() {
		defer wg.Done()
		err := a.Run(ctx)
		if err != nil {
			cancel()
		}
		appErr <- err
	}()
	go func() { defer wg.Done(); d.sum.consume(ctx, cfg, log) }()
	genDone := make(chan error, 1)
	go func() { defer wg.Done(); genDone <- d.gen.run(ctx, log) }()

	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	finished, lastPrinted := false, -1
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			// Nothing new (a fit pauses the simulation): nothing printed.
			if pr := d.gen.progress(); !finished && pr.produced != lastPrinted {
				lastPrinted = pr.produced
				d.printLive()
			}
		case err := <-genDone:
			genDone = nil
			if ctx.Err() != nil {
				break loop
			}
			if err != nil {
				fmt.Fprintf(out, "\nthe simulation stopped: %v\n", err)
				break loop
			}
			finished = true
			if err := d.finish(ctx); err != nil {
				break loop
			}
			if o.ExitWhenDone {
				cancel()
				break loop
			}
			fmt.Fprintf(out, "\nthe API keeps serving until Ctrl-C:\n    curl -H \"Authorization: Bearer %s\" %s/v1/segments\n", o.Token, api)
		}
	}
	fmt.Fprintln(out, "\nstopping: finishing batches, flushing the outbox, leaving the group ...")
	cancel()
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(cfg.Kafka.ShutdownTimeout + 15*time.Second):
		// A component ignores the cancellation (a model fit runs to its
		// end): do not hang the terminal.
		return fmt.Errorf("the demo did not stop within %s", cfg.Kafka.ShutdownTimeout+15*time.Second)
	}
	err = <-appErr
	if !finished {
		d.printLive()
	}
	if err == nil {
		fmt.Fprintln(out, "stopped cleanly")
	}
	return err
}

// demoConfig is the service configuration of the demo: the in-process
// broker and store, an event-time clock throughout (the data is history),
// short intervals so that the pipeline keeps pace with a simulated day per
// DayEvery, fitting thresholds scaled to the population, and bearer auth
// with the demo's token, as in production.
func demoConfig(o Options, brokers []string, redisAddr, httpAddr string) config.Config {
	cfg := config.Config{}
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.ReplayThreshold = time.Hour
	cfg.Kafka.AllowedLateness = time.Minute
	cfg.Kafka.FlushInterval = 5 * time.Millisecond
	cfg.Kafka.RescoreInterval = 20 * time.Millisecond
	cfg.Kafka.SessionTimeout = 6 * time.Second
	// The simulation produces a wave only when the previous one is
	// processed, so a task never has to wait for a partition that is
	// behind; a short merge wait keeps a stall (seen with kfake: a task
	// holding its last records for the whole default 30s) from freezing
	// the simulation.
	cfg.Kafka.MergeWait = 100 * time.Millisecond
	cfg.Redis.Addr = redisAddr
	cfg.HTTP.Addr = httpAddr
	cfg.HTTP.Auth = "bearer"
	cfg.HTTP.APITokens = []string{o.Token}
	cfg.Log.Level = "error"
	cfg.KPI.Interval = 5 * time.Second
	cfg.Model.MinCustomers = min(200, max(o.Customers/2, 2))
	cfg.Model.MinRepeatBuyers = min(50, max(o.Customers/8, 2))
	// A small L2 penalty keeps the fits on the young, small population of
	// the first simulated months away from degenerate parameters (see
	// model.penalizer in docs/configuration.md).
	cfg.Model.Penalizer = 0.001
	// The demo asks for every fit itself, at fixed simulated days.
	cfg.Model.RefitInterval = 1000 * time.Hour
	return cfg.WithDefaults()
}

// freeAddr returns addr, with a free port chosen when its port is 0, or a
// clear error when the port is taken.
func freeAddr(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("the demo's API address %s is not available (%w): choose another with --http 127.0.0.1:8081 (make demo DEMO_ARGS='--http 127.0.0.1:8081')", addr, err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// driver keeps the simulation and the pipeline in step and prints.
type driver struct {
	o      Options
	cfg    config.Config
	reg    prometheus.Gatherer
	out    io.Writer
	log    *zap.Logger
	store  *state.Store
	models *refit.Store
	part   stream.Partitioner
	gen    *generator
	sum    *summary

	lastAt     [partitions]time.Time // latest valid event time per partition
	nextFitDay int                   // simulated day of the next refit; 0 before the first fit
	fitted     *model.Record         // the model in force, once fitted
}

// sync returns when the pipeline has processed every record produced so
// far (after a wave) and has re-scored every customer due by then (at the
// end of a day); the generator waits for it, so what the service sees
// depends on the seed, not on the machine's speed. At the end of a day it
// also fits the models when it is time to.
func (d *driver) sync(ctx context.Context, produced int, w *wave) error {
	if w != nil {
		for _, m := range w.msgs {
			p := stream.PartitionOf(d.part, string(m.Key), partitions)
			if w.at.After(d.lastAt[p]) {
				d.lastAt[p] = w.at
			}
		}
		err := d.waitFor(ctx, 5*time.Second, func() bool { return processed(d.reg) >= produced })
		if err != nil && ctx.Err() == nil {
			// Not fatal: the demo goes on, only no longer in lockstep.
			fmt.Fprintf(d.out, "  (the pipeline has processed %d of %d records after 5s; going on)\n", processed(d.reg), produced)
			return nil
		}
		return err
	}
	if err := d.waitDue(ctx); err != nil {
		return err
	}
	pr := d.gen.progress()
	if d.fitDue(pr) {
		return d.fit(ctx, pr)
	}
	return nil
}

// fitDue reports whether the models are to be fitted after this day: the
// first time once the population passes the fitting thresholds (with a
// margin, so the fit is not refused), then every refitEvery days.
func (d *driver) fitDue(pr progress) bool {
	m := d.cfg.Model
	if d.nextFitDay > 0 {
		return pr.day >= d.nextFitDay
	}
	days := time.Duration(pr.day) * 24 * time.Hour
	// Two months of history at least: on a younger population the purchase
	// model's dropout parameter can come out near 0, where predicting CLV
	// takes the fitter minutes (see pkg/clv bgExpectedQuad).
	return pr.joined >= m.MinCustomers+m.MinCustomers/10 && pr.repeaters >= m.MinRepeatBuyers+m.MinRepeatBuyers/10 &&
		days >= max(m.MinHistory, 60*24*time.Hour)
}

// fitWait bounds the wait for a fit's outcome and for the re-scoring
// under a published model.
const fitWait = 3 * time.Minute

// fit asks the service for a refit (what `clvstream model refit` does),
// waits for the fit's outcome (clvstream_model_fits_total) and, when a
// model was published, until every customer is re-scored under it.
func (d *driver) fit(ctx context.Context, pr progress) error {
	fitsBefore := fitOutcomes(d.reg)
	fmt.Fprintf(d.out, "\n[%s] fitting the purchase and spend models to %d customers (%d repeat buyers) ...\n", pr.sim.Format("2006-01-02"), pr.joined, pr.repeaters)
	if err := d.models.RequestRefit(ctx); err != nil {
		return err
	}
	// The simulation waits for the outcome (the demo's history must not
	// depend on how fast the machine fits): generously, for a loaded one.
	outcome := ""
	err := d.waitFor(ctx, fitWait, func() bool {
		for o, n := range fitOutcomes(d.reg) {
			if n > fitsBefore[o] {
				outcome = o
				return true
			}
		}
		return false
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	rec, rerr := d.models.Current(ctx)
	if err != nil || rerr != nil || outcome != "published" || !rec.Fitted() {
		switch {
		case err != nil:
			outcome = fmt.Sprintf("no outcome within %s", fitWait)
		case outcome == "baseline" && rec != nil && rec.Reason != "":
			outcome += ": " + rec.Reason
		}
		// Without a model yet, try again a month later (the population
		// grows); with one in force, at the next regular refit.
		wait := 30
		if d.fitted != nil {
			wait = refitEvery
		}
		d.nextFitDay = pr.day + wait
		fmt.Fprintf(d.out, "  model not published (%s); scores stay on the %s model, next try in %d simulated days\n\n", outcome, modelName(d.fitted), wait)
		return nil
	}
	d.nextFitDay = pr.day + refitEvery
	// Every customer re-scored under the new version (cause model).
	if err := d.waitFor(ctx, fitWait, func() bool { return d.allScoredUnder(ctx, rec.Version) }); err != nil && ctx.Err() != nil {
		return err
	}
	if err := d.waitDue(ctx); err != nil {
		return err
	}
	d.fitted = rec
	p := rec.Params
	spend := ""
	if gg := rec.GammaGamma; gg != nil {
		spend = fmt.Sprintf(", Gamma-Gamma p=%.2f q=%.2f v=%.2f", gg.P, gg.Q, gg.V)
	}
	fmt.Fprintf(d.out, "  model v%d in force: %s r=%.3f alpha=%.3f a=%.3f b=%.3f%s, fitted to %d customers as of %s;\n  predicted CLV, P(alive), RFM scores and CLV percentiles now come from it (every customer re-scored, cause model)\n\n",
		rec.Version, rec.Kind, p.R, p.Alpha, p.A, p.B, spend, rec.Customers, rec.AsOf.Format("2006-01-02"))
	return nil
}

// modelName names the model in force for a message.
func modelName(fitted *model.Record) string {
	if fitted == nil {
		return "baseline"
	}
	return fmt.Sprintf("v%d", fitted.Version)
}

// fitOutcomes returns clvstream_model_fits_total by outcome.
func fitOutcomes(reg prometheus.Gatherer) map[string]int {
	return counterBy(reg, "clvstream_model_fits_total", "outcome")
}

// allScoredUnder reports whether every stored customer carries model
// version v.
func (d *driver) allScoredUnder(ctx context.Context, v int64) bool {
	stale := 0
	err := d.store.Each(ctx, func(_ int, st *customer.State) error {
		if st.ModelVersion != v && !st.Erased {
			stale++
		}
		return nil
	})
	return err == nil && stale == 0
}

// waitDue waits until no customer of any partition is due for re-scoring
// by the partition's latest event time: the task is settled (its idle
// clock reached the latest event and every timer due by then fired), so
// the time-driven segment changes up to now are made.
func (d *driver) waitDue(ctx context.Context) error {
	err := d.waitFor(ctx, 5*time.Second, func() bool {
		for p := 0; p < partitions; p++ {
			if d.lastAt[p].IsZero() {
				continue
			}
			now := d.lastAt[p].UnixMilli()
			ids, err := d.store.Timers(ctx, p, 1, now, 1)
			if err != nil || len(ids) > 0 {
				return false
			}
		}
		return true
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		d.log.Warn("demo: re-scoring did not catch up; going on", zap.Error(err))
	}
	return nil
}

// waitFor polls cond until it holds, ctx ends or timeout passes.
func (d *driver) waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Millisecond):
		}
	}
	return nil
}

// finish waits until every segment change is relayed and read, then
// prints the final summary.
func (d *driver) finish(ctx context.Context) error {
	err := d.waitFor(ctx, 30*time.Second, func() bool {
		for p := 0; p < partitions; p++ {
			if n, err := d.store.OutboxLen(ctx, p); err != nil || n > 0 {
				return false
			}
		}
		return d.sum.caughtUp(ctx, d.cfg)
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		d.log.Warn("demo: the summary did not catch up with the segment changes", zap.Error(err))
	}
	pr := d.gen.progress()
	fmt.Fprintf(d.out, "\nsimulation finished: %d days up to %s\n", pr.day, pr.sim.Format("2006-01-02"))
	d.sum.printFinal(d.out, pr, deadLetters(d.reg), d.fitted)
	return nil
}

// printLive prints the live block.
func (d *driver) printLive() {
	d.sum.print(d.out, d.gen.progress(), deadLetters(d.reg), d.fitted)
}

// processed sums clvstream_records_total over every outcome but replayed
// (records skipped as already applied): the records the pipeline has
// applied, ignored as duplicates or dead-lettered.
func processed(reg prometheus.Gatherer) int {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "clvstream_records_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			replayed := false
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == "replayed" {
					replayed = true
				}
			}
			if !replayed {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return int(n)
}

// deadLetters returns clvstream_dead_letter_total by reason.
func deadLetters(reg prometheus.Gatherer) map[string]int {
	return counterBy(reg, "clvstream_dead_letter_total", "reason")
}

// counterBy sums the counter name of reg by the value of label.
func counterBy(reg prometheus.Gatherer, name, label string) map[string]int {
	out := map[string]int{}
	mfs, err := reg.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					out[l.GetValue()] += int(m.GetCounter().GetValue())
				}
			}
		}
	}
	return out
}
