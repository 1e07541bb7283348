package refit

import (
	"context"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/model"
)

// Metrics are the model's Prometheus metrics.
type Metrics struct {
	Version      prometheus.Gauge
	Baseline     prometheus.Gauge
	FittedAt     prometheus.Gauge
	LogLik       prometheus.Gauge
	HoldoutError prometheus.Gauge
	Fits         *prometheus.CounterVec
	FitSeconds   prometheus.Histogram
}

// NewMetrics registers the model metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Version:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "clvstream_model_version", Help: "Version of the model in force (0: none published yet)."}),
		Baseline:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "clvstream_model_baseline", Help: "1 while scores use the baseline because there is not enough data for a fit."}),
		FittedAt:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "clvstream_model_fitted_timestamp_seconds", Help: "When the model in force was fitted (Unix seconds); time() minus this is its age."}),
		LogLik:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "clvstream_model_log_likelihood", Help: "Log-likelihood of the purchase model in force."}),
		HoldoutError: prometheus.NewGauge(prometheus.GaugeOpts{Name: "clvstream_model_holdout_error_ratio", Help: "Relative error of the model's holdout prediction of repeat purchases."}),
		Fits:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clvstream_model_fits_total", Help: "Model fits run by this instance, by outcome."}, []string{"outcome"}),
		FitSeconds:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "clvstream_model_fit_duration_seconds", Help: "Time to collect the states and fit the models.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
	}
	reg.MustRegister(m.Version, m.Baseline, m.FittedAt, m.LogLik, m.HoldoutError, m.Fits, m.FitSeconds)
	for _, o := range []string{"published", "baseline", "not_converged", "degenerate", "holdout_worse", "error"} {
		m.Fits.WithLabelValues(o)
	}
	return m
}

// observe sets the gauges of the model in force.
func (m *Metrics) observe(r *model.Record) {
	if r == nil {
		return
	}
	m.Version.Set(float64(r.Version))
	if r.Fitted() {
		m.Baseline.Set(0)
	} else {
		m.Baseline.Set(1)
	}
	m.FittedAt.Set(float64(r.FittedAt.Unix()))
	m.LogLik.Set(r.LogLikelihood)
	if r.Holdout != nil {
		m.HoldoutError.Set(r.Holdout.Error)
	} else {
		m.HoldoutError.Set(math.NaN()) // this model has no holdout check
	}
}

// Fitter refits on a schedule and on request, one instance at a time.
type Fitter struct {
	cfg           model.Config
	store         *Store
	src           model.StateSource
	clock         func(ctx context.Context) time.Time
	minorPerMajor float64
	token         string
	log           *zap.Logger
	m             *Metrics
	// check is how often the lock and refit requests are checked.
	check time.Duration
	// lastAttempt is when this instance last fitted, published or not, so
	// a rejected fit is not retried before RefitInterval.
	lastAttempt time.Time
}

// NewFitter returns a fitter. clock returns the instant to fit as of (the
// service's scoring clock); token identifies this instance in the lock.
func NewFitter(c model.Config, store *Store, src model.StateSource, clock func(context.Context) time.Time, minorPerMajor float64, token string, log *zap.Logger, m *Metrics) *Fitter {
	return &Fitter{cfg: c.WithDefaults(), store: store, src: src, clock: clock, minorPerMajor: minorPerMajor, token: token, log: log, m: m, check: 5 * time.Second}
}

// Run checks every few seconds whether this instance holds (or can take)
// the refit lock and a fit is due (no model yet, RefitInterval elapsed, or
// a refit requested), and fits. It returns when ctx ends.
func (f *Fitter) Run(ctx context.Context) error {
	t := time.NewTicker(f.check)
	defer t.Stop()
	defer func() { _ = f.store.Unlock(context.Background(), f.token) }()
	for {
		if err := f.tick(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("model refit check failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (f *Fitter) tick(ctx context.Context) error {
	held, err := f.store.Lock(ctx, f.token, 4*f.check)
	if err != nil || !held {
		return err
	}
	requested, err := f.store.TakeRefitRequest(ctx)
	if err != nil {
		return err
	}
	cur, err := f.store.Current(ctx)
	if err != nil {
		return err
	}
	if !requested && cur != nil && (time.Since(cur.FittedAt) < f.cfg.RefitInterval || time.Since(f.lastAttempt) < f.cfg.RefitInterval) {
		return nil
	}
	f.lastAttempt = time.Now()
	_, _, err = f.FitOnce(ctx, f.clock(ctx))
	return err
}

// FitOnce collects the states as of asOf, fits, and publishes the result
// when it passes the gates. It returns the record and whether it was
// published.
func (f *Fitter) FitOnce(ctx context.Context, asOf time.Time) (model.Record, bool, error) {
	start := time.Now()
	in, err := model.Collect(ctx, f.src, asOf, f.cfg, f.minorPerMajor)
	if err != nil {
		f.m.Fits.WithLabelValues("error").Inc()
		return model.Record{}, false, err
	}
	rec, err := model.Fit(ctx, in, f.cfg)
	f.m.FitSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		f.m.Fits.WithLabelValues("error").Inc()
		return rec, false, err
	}
	cur, err := f.store.Current(ctx)
	if err != nil {
		return rec, false, err
	}
	outcome, publish := model.Gate(cur, &rec, f.cfg.MaxHoldoutDegradation)
	f.m.Fits.WithLabelValues(outcome).Inc()
	if !publish {
		f.log.Warn("model fit not published", zap.String("outcome", outcome), zap.String("reason", rec.Rejected),
			zap.Bool("converged", rec.Converged), zap.Any("holdout", rec.Holdout))
		return rec, false, nil
	}
	v, err := f.store.Publish(ctx, rec, f.token)
	if err != nil {
		return rec, false, err
	}
	rec.Version = v
	f.m.observe(&rec)
	f.log.Info("model published", zap.Int64("version", v), zap.String("kind", rec.Kind), zap.String("reason", rec.Reason),
		zap.Any("params", rec.Params), zap.Float64("log_likelihood", rec.LogLikelihood), zap.Any("holdout", rec.Holdout),
		zap.Int("customers", rec.Customers), zap.Duration("took", time.Since(start)))
	return rec, true, nil
}
