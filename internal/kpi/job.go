package kpi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/lease"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/scoring"
)

// Store keeps the latest snapshot in Redis under {<prefix>:kpi}:current,
// with the lock {<prefix>:kpi}:lock.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewStore returns a snapshot store on the key prefix.
func NewStore(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

func (s *Store) key(name string) string { return fmt.Sprintf("{%s:kpi}:%s", s.prefix, name) }

// Latest returns the latest snapshot, nil when none was computed yet.
func (s *Store) Latest(ctx context.Context) (*Snapshot, error) {
	b, err := s.rdb.Get(ctx, s.key("current")).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read kpi snapshot: %w", err)
	}
	var snap Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return nil, fmt.Errorf("decode kpi snapshot: %w", err)
	}
	return &snap, nil
}

func (s *Store) save(ctx context.Context, snap Snapshot) error {
	b, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	return s.rdb.Set(ctx, s.key("current"), b, 0).Err()
}

// lock returns the computation lock for holder token: a lease on
// {<prefix>:kpi}:lock (see package lease).
func (s *Store) lock(token string, ttl time.Duration) *lease.Lease {
	return lease.New(s.rdb, s.key("lock"), token, ttl)
}

// Models gives the model in force.
type Models interface{ Current() *model.Record }

// Job computes snapshots (when it holds the lock) and exports the latest
// one as gauges (always). Latest is safe for concurrent use.
type Job struct {
	cfg    Config
	store  *Store
	src    Sampler
	scorer *scoring.Scorer
	models Models
	clock  func(context.Context) time.Time
	lock   *lease.Lease
	log    *zap.Logger
	g      *gauges
	latest atomic.Pointer[Snapshot]
}

// NewJob returns a KPI job registering its gauges on reg. token names this
// job in the computation lock and must be unique per job (lease.Token).
func NewJob(c Config, store *Store, src Sampler, sc *scoring.Scorer, models Models, clock func(context.Context) time.Time, token string, log *zap.Logger, reg prometheus.Registerer) *Job {
	c = c.WithDefaults()
	j := &Job{cfg: c, store: store, src: src, scorer: sc, models: models, clock: clock, log: log, g: newGauges(reg)}
	if store != nil { // nil only where the job is built for its metrics and never run
		j.lock = store.lock(token, 3*c.Interval)
	}
	return j
}

// Latest returns the latest snapshot seen, nil before the first.
func (j *Job) Latest() *Snapshot { return j.latest.Load() }

// Run computes and refreshes every Interval until ctx ends. The job that
// holds the computation lock (a lease of 3 intervals, renewed every tick)
// computes; the others only read the latest snapshot. When Run returns it
// releases the lock, so another instance takes over at its next tick rather
// than after the lease runs out.
func (j *Job) Run(ctx context.Context) error {
	t := time.NewTicker(j.cfg.Interval)
	defer t.Stop()
	defer func() {
		if _, err := j.lock.ReleaseTimeout(5 * time.Second); err != nil {
			j.log.Warn("kpi lock not released; it expires on its own", zap.Error(err), zap.Duration("ttl", j.lock.TTL()))
		}
	}()
	for {
		if err := j.tick(ctx); err != nil && ctx.Err() == nil {
			j.log.Warn("kpi snapshot failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (j *Job) tick(ctx context.Context) error {
	held, err := j.lock.Keep(ctx)
	if err != nil {
		return err
	}
	if held {
		start := time.Now()
		snap, err := ComputeSample(ctx, j.src, j.scorer, j.models.Current(), j.clock(ctx), j.cfg)
		if err != nil {
			return err
		}
		if err := j.store.save(ctx, snap); err != nil {
			return err
		}
		j.g.seconds.Observe(time.Since(start).Seconds())
	}
	snap, err := j.store.Latest(ctx)
	if err != nil || snap == nil {
		return err
	}
	j.latest.Store(snap)
	j.g.set(snap)
	return nil
}

// gauges export a snapshot.
type gauges struct {
	seconds                                                prometheus.Histogram
	segment, churnLevel, tier, clv, cohort                 *prometheus.GaugeVec
	customers, retention, churn, aov, freq, repeat, avgCLV prometheus.Gauge
	avgHistoric, avgRisk, csat, computedAt, newCustomers   prometheus.Gauge
	activeStart, activeEnd                                 prometheus.Gauge
	surveys                                                *surveyGauges
	channels                                               *channelGauges
	repeats                                                *repeatGauges
	campaigns                                              *campaignGauges
	toolkit                                                *toolkitGauges
}

// gaugeVec creates a gauge family and registers it on reg.
func gaugeVec(reg prometheus.Registerer, name, help string, labels ...string) *prometheus.GaugeVec {
	x := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	reg.MustRegister(x)
	return x
}

func newGauges(reg prometheus.Registerer) *gauges {
	g := func(name, help string) prometheus.Gauge {
		x := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		reg.MustRegister(x)
		return x
	}
	gv := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return gaugeVec(reg, name, help, labels...)
	}
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "clvstream_kpi_compute_duration_seconds", Help: "Time to compute a KPI snapshot over all customers.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)})
	reg.MustRegister(h)
	return &gauges{
		seconds:      h,
		segment:      gv("clvstream_customers_by_segment", "Customers per segment (latest KPI snapshot; every instance exports the same value: aggregate with max).", "segment"),
		churnLevel:   gv("clvstream_customers_by_churn_level", "Customers per churn level (latest KPI snapshot).", "level"),
		tier:         gv("clvstream_customers_by_tier", "Customers per loyalty tier (latest KPI snapshot).", "tier"),
		clv:          gv("clvstream_customers_by_predicted_clv", "Cumulative count of customers whose predicted CLV is at most le (major units).", "le"),
		cohort:       gv("clvstream_cohort_retention_ratio", "Share of a first-purchase-month cohort that bought in the month offset after it.", "cohort", "month"),
		customers:    g("clvstream_customers", "Customers with at least one purchase (not erased)."),
		retention:    g("clvstream_retention_ratio", "Retention rate over the KPI period: (active at end - new) / active at start."),
		churn:        g("clvstream_churn_ratio", "Churn rate over the KPI period: 1 - retention rate."),
		aov:          g("clvstream_average_order_value", "Gross revenue per purchase day, all customers (major units)."),
		freq:         g("clvstream_purchase_frequency", "Purchase days per customer."),
		repeat:       g("clvstream_repeat_purchase_ratio", "Share of customers with two or more purchase days."),
		avgCLV:       g("clvstream_average_predicted_clv", "Mean predicted CLV (major units)."),
		avgHistoric:  g("clvstream_average_historic_clv", "Mean historic CLV: net margin to date (major units)."),
		avgRisk:      g("clvstream_average_churn_risk", "Mean churn probability."),
		csat:         g("clvstream_csat_average", "Mean CSAT (1-5) of customers who gave one."),
		computedAt:   g("clvstream_kpi_computed_timestamp_seconds", "When the latest KPI snapshot was computed (Unix seconds)."),
		newCustomers: g("clvstream_new_customers", "Customers whose first purchase is in the KPI period."),
		activeStart:  g("clvstream_active_customers_period_start", "Active customers at the start of the KPI period."),
		activeEnd:    g("clvstream_active_customers", "Active customers (a purchase within the active window)."),
		surveys:      newSurveyGauges(reg),
		channels:     newChannelGauges(reg),
		repeats:      newRepeatGauges(reg),
		campaigns:    newCampaignGauges(reg),
		toolkit:      newToolkitGauges(reg),
	}
}

func (g *gauges) set(s *Snapshot) {
	g.segment.Reset()
	for k, v := range s.Segments {
		g.segment.WithLabelValues(k).Set(float64(v))
	}
	g.churnLevel.Reset()
	for k, v := range s.ChurnLevels {
		g.churnLevel.WithLabelValues(k).Set(float64(v))
	}
	g.tier.Reset()
	for k, v := range s.Tiers {
		g.tier.WithLabelValues(k).Set(float64(v))
	}
	for _, b := range s.CLV {
		g.clv.WithLabelValues(strconv.FormatFloat(b.LE, 'f', -1, 64)).Set(float64(b.Count))
	}
	g.clv.WithLabelValues("+Inf").Set(float64(s.Customers)) // every customer: the histogram convention
	g.cohort.Reset()
	for _, c := range s.Cohorts {
		for k, r := range c.Retention {
			g.cohort.WithLabelValues(c.Month, strconv.Itoa(k)).Set(r)
		}
	}
	g.customers.Set(float64(s.Customers))
	g.retention.Set(s.RetentionRate)
	g.churn.Set(s.ChurnRate)
	g.aov.Set(s.AverageOrder)
	g.freq.Set(s.PurchaseFreq)
	g.repeat.Set(s.RepeatRate)
	g.avgCLV.Set(s.AverageCLV)
	g.avgHistoric.Set(s.AverageHistoric)
	g.avgRisk.Set(s.AverageChurnRisk)
	g.csat.Set(s.CSAT)
	g.computedAt.Set(float64(s.ComputedAt.Unix()))
	g.newCustomers.Set(float64(s.NewCustomers))
	g.activeStart.Set(float64(s.ActiveAtStart))
	g.activeEnd.Set(float64(s.ActiveAtEnd))
	g.surveys.set(&s.Surveys)
	g.channels.set(s)
	g.repeats.set(&s.RepeatCurve)
	g.campaigns.set(s)
	g.toolkit.set(s)
}
