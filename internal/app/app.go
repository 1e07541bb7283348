package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/api"
	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/pkg/event"
)

// App is a wired clvstream instance.
type App struct {
	cfg    config.Config
	log    *zap.Logger
	rdb    *redis.Client
	store  *state.Store
	svc    *stream.Service
	server *api.Server
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
	rdb := redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr, Username: cfg.Redis.Username, Password: cfg.Redis.Password, DB: cfg.Redis.DB})
	store := state.New(rdb, cfg.Redis.KeyPrefix, cfg.Kafka.OwnerLease)
	host, _ := os.Hostname()
	svc, err := stream.New(cfg.Kafka, stream.Deps{
		Log: log, Metrics: stream.NewMetrics(reg), Store: store, Scorer: scoring.New(sc), Decoder: dec,
		InstanceID: fmt.Sprintf("%s/%d", host, os.Getpid()),
	})
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	a := &App{cfg: cfg, log: log, rdb: rdb, store: store, svc: svc}
	a.server = api.New(cfg.HTTP.Addr, reg, a, log)
	return a, nil
}

// Ready implements api.Readiness: partitions assigned and Redis answering.
func (a *App) Ready(ctx context.Context) error {
	if !a.svc.Ready() {
		return errors.New("no partitions assigned yet")
	}
	if err := a.store.Ping(ctx); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Run runs the pipeline and the HTTP server until ctx ends or one of them
// fails, then stops both.
func (a *App) Run(ctx context.Context) error {
	defer a.rdb.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, run := range []func(context.Context) error{a.svc.Run, a.server.Run} {
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
