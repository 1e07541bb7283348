package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/api"
	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/connect"
	"github.com/clvstream/clvstream/internal/kpi"
	"github.com/clvstream/clvstream/internal/lease"
	"github.com/clvstream/clvstream/internal/query"
	"github.com/clvstream/clvstream/internal/refit"
	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/pkg/event"
)

// App is a wired clvstream instance.
type App struct {
	cfg     config.Config
	log     *zap.Logger
	rdb     redis.UniversalClient
	store   *state.Store
	svc     *stream.Service
	server  *api.Server
	watcher *refit.Watcher
	fitter  *refit.Fitter
	kpis    *kpi.Job
}

// Clock is the service-wide scoring clock the fitter fits as of: the wall
// clock, or the latest event time minus the allowed lateness when the data
// is historic (a backfill or replay), as the tasks' clocks are.
func (a *App) Clock(ctx context.Context) time.Time {
	now := time.Now().UTC()
	wm, err := a.store.MaxWatermark(ctx)
	if err != nil || wm == 0 {
		return now
	}
	latest := time.UnixMilli(wm).UTC()
	if now.Sub(latest) > a.cfg.Kafka.ReplayThreshold {
		return latest.Add(-a.cfg.Kafka.AllowedLateness)
	}
	return now
}

// New wires an instance. The logger and registry are injected.
func New(cfg config.Config, log *zap.Logger, reg *prometheus.Registry) (*App, error) {
	dec, err := event.NewDecoder(cfg.DecoderConfig())
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	sc := cfg.Scoring
	exp, _ := event.CurrencyExponent(cfg.Input.BaseCurrency)
	sc.MinorPerMajor = 1
	for i := 0; i < exp; i++ {
		sc.MinorPerMajor *= 10
	}
	rules, err := cfg.SegmentRules()
	if err != nil {
		return nil, fmt.Errorf("scoring.segment_rules_file: %w", err)
	}
	scorer, err := scoring.New(sc, rules)
	if err != nil {
		return nil, err
	}
	rdb, err := connect.Redis(cfg.Redis)
	if err != nil {
		return nil, err
	}
	dialer, transport, err := connect.Kafka(cfg.KafkaSecurity)
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	store := state.New(rdb, cfg.Redis.KeyPrefix, cfg.Kafka.OwnerLease)
	host, _ := os.Hostname()
	instance := fmt.Sprintf("%s/%d", host, os.Getpid())
	models := refit.NewStore(rdb, cfg.Redis.KeyPrefix)
	mm := refit.NewMetrics(reg)
	watcher := refit.NewWatcher(models, 5*time.Second, log, mm)
	svc, err := stream.New(cfg.Kafka, stream.Deps{
		Log: log, Metrics: stream.NewMetrics(reg), Store: store, Scorer: scorer, Decoder: dec, Models: watcher,
		InstanceID: instance, Dialer: dialer, Transport: transport,
		CustomerField: func(id string) zap.Field { return connect.CustomerField(id, cfg.Log.HashCustomers()) },
	})
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	a := &App{cfg: cfg, log: log, rdb: rdb, store: store, svc: svc, watcher: watcher}
	// Lock tokens are unique per holder (the instance name plus random
	// bits), so two instances never share a lock even with one name.
	a.fitter = refit.NewFitter(cfg.Model, models, store, a.Clock, sc.MinorPerMajor, lease.Token(instance), log, mm)
	a.kpis = kpi.NewJob(cfg.KPI, kpi.NewStore(rdb, cfg.Redis.KeyPrefix), store, scorer, watcher, a.Clock, lease.Token(instance), log, reg)
	if cfg.HTTP.Auth == "bearer" && len(cfg.HTTP.APITokens) == 0 {
		_ = rdb.Close()
		return nil, errors.New("http.api_tokens: the query API needs at least one bearer token (CLVSTREAM_HTTP_API_TOKENS=...), or set http.auth=none to serve it unauthenticated")
	}
	q, err := query.New(query.Deps{
		Store: store, PartitionOf: func(id string, n int) int { return stream.PartitionOf(svc.Partitioner(), id, n) },
		Scorer: scorer, Rules: rules, Models: watcher, KPIs: a.kpis, Clock: a.Clock,
		BaseCurrency: cfg.Input.BaseCurrency, MinorPerMajor: sc.MinorPerMajor,
	})
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	a.server, err = api.NewAPI(cfg.HTTP.Addr, reg, a, q, api.Auth{Enabled: cfg.HTTP.Auth == "bearer", Tokens: cfg.HTTP.APITokens}, log)
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	if cfg.HTTP.PProf {
		a.server.EnablePProf()
	}
	return a, nil
}

// Ready implements api.Readiness: partitions assigned and Redis answering.
func (a *App) Ready(ctx context.Context) error {
	if !a.svc.Ready() {
		return errors.New("no partitions assigned yet")
	}
	if st := a.svc.Stalled(); len(st) > 0 {
		return fmt.Errorf("stalled: %s", strings.Join(st, "; "))
	}
	if err := a.store.Ping(ctx); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// preflight checks Redis and Kafka (the brokers answer, the topics exist
// and the inputs are co-partitioned) side by side before anything starts,
// and reports every dependency that fails: with both down, the error
// names both, not only the first one tried.
func (a *App) preflight(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var redisErr, kafkaErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := a.store.Ping(ctx); err != nil {
			redisErr = fmt.Errorf("redis at %s: %w (set redis.addr, CLVSTREAM_REDIS_ADDR)", redisTarget(a.cfg.Redis), err)
		} else if err := a.store.CheckVersion(ctx); err != nil {
			redisErr = fmt.Errorf("redis at %s: %w (upgrade the server, or point redis.addr at one)", redisTarget(a.cfg.Redis), err)
		}
	}()
	go func() {
		defer wg.Done()
		if _, err := a.svc.CheckTopics(ctx); err != nil {
			kafkaErr = fmt.Errorf("kafka at %s: %w (set kafka.brokers, CLVSTREAM_KAFKA_BROKERS; create the topics with clvstream topics)", strings.Join(a.cfg.Kafka.Brokers, ","), err)
		}
	}()
	wg.Wait()
	if err := errors.Join(redisErr, kafkaErr); err != nil {
		return fmt.Errorf("cannot start:\n%w", err)
	}
	return nil
}

// redisTarget names the configured Redis servers for an error message.
func redisTarget(r config.Redis) string {
	switch r.Mode {
	case config.RedisCluster:
		return "cluster " + strings.Join(r.Addrs, ",")
	case config.RedisSentinel:
		return fmt.Sprintf("sentinel master %s via %s", r.MasterName, strings.Join(r.Addrs, ","))
	}
	return r.Addr
}

// Run runs the pipeline and the HTTP server until ctx ends or one of them
// fails, then stops both. It first checks Redis and the topics (preflight),
// so a start that cannot run (a dependency unreachable, a missing or
// mis-partitioned topic) fails before the KPI job and the fitter take
// their locks or compute anything; the jobs release their locks whenever
// they stop.
func (a *App) Run(ctx context.Context) error {
	defer a.rdb.Close()
	if err := a.preflight(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	runs := []func(context.Context) error{a.svc.Run, a.server.Run, a.watcher.Run, a.fitter.Run, a.kpis.Run}
	errs := make([]error, len(runs))
	for i, run := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil {
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
