package scoring

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/pkg/churn"
	"github.com/clvstream/clvstream/pkg/clv"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/segment"
	"github.com/clvstream/clvstream/pkg/subscription"
)

// Config parameterises the scorer. Zero values mean the documented defaults.
type Config struct {
	// DefaultMargin is the gross margin rate used when a purchase carries
	// no margin (default 0.3).
	DefaultMargin float64 `yaml:"default_margin"`
	// LifespanYears is the expected customer lifespan of the classic CLV
	// formula used before a model is fitted (default 3).
	LifespanYears float64 `yaml:"lifespan_years"`
	// MinTenureDays stretches short tenures when estimating purchases per
	// year for the classic formula (default 30).
	MinTenureDays float64 `yaml:"min_tenure_days"`
	// EmailHalfLife is the half-life of the decayed email counters
	// (default 720h = 30 days).
	EmailHalfLife time.Duration `yaml:"email_half_life"`
	// SurveyHalfLife is the half-life of the time-decayed mean survey
	// scores (default 4320h = 180 days).
	SurveyHalfLife time.Duration `yaml:"survey_half_life"`
	// PopulationGapDays is the mean gap between purchases the baseline
	// churn model assumes until the partition has seen MinPopulationRepeats
	// repeat purchases (default 60).
	PopulationGapDays float64 `yaml:"population_gap_days"`
	// MinPopulationRepeats is the number of repeat purchases after which the
	// observed population gap replaces PopulationGapDays (default 30).
	MinPopulationRepeats int64 `yaml:"min_population_repeats"`
	// MaxRescoreInterval bounds the time between two re-scorings of a
	// customer (default 8760h = 365 days of the scoring clock): the horizon
	// of the due-time probe. A customer with no change in sight is
	// re-scored this often.
	MaxRescoreInterval time.Duration `yaml:"max_rescore_interval"`
	// ExpectedPurchasesHorizon is the window of the expected_purchases
	// figure (default 2160h = 90 days).
	ExpectedPurchasesHorizon time.Duration `yaml:"expected_purchases_horizon"`
	// ReplenishmentFactor: a regular buyer (3+ repeat purchases) is due for
	// replenishment once the time since the last order exceeds this many
	// average gaps (default 1.25), until three gaps have passed.
	ReplenishmentFactor float64 `yaml:"replenishment_factor"`
	// Churn holds the churn level bounds on the calibrated churn
	// probability (0: the defaults 0.5 and 0.8).
	Churn churn.Levels `yaml:"churn_levels"`
	// ChurnHorizon is the churn horizon H: the churn probability is the
	// probability of no purchase in the next H (default 2160h = 90 days).
	// A fitted churn model uses the horizon it was fitted for.
	ChurnHorizon time.Duration `yaml:"churn_horizon"`
	// SegmentRulesFile is a YAML file of segment rules; empty means the
	// built-in default rules (docs/segments.md).
	SegmentRulesFile string `yaml:"segment_rules_file"`
	// Tiers are the loyalty tiers (default bronze/silver/gold/platinum).
	Tiers segment.Tiers `yaml:"tiers"`
	// Milestones are the cumulative net spend thresholds (major units)
	// whose crossing is published (default 100, 500, 1000, 5000, 10000).
	Milestones []float64 `yaml:"milestones"`
	// MinorPerMajor is 10^exponent of the base currency (set by the
	// service from the base currency; default 100).
	MinorPerMajor float64 `yaml:"-"`
	// Subscriptions parameterises the subscription scores (residual value
	// discount, expected renewals horizon, least subscriptions per renewal
	// model).
	Subscriptions subscription.Config `yaml:"subscriptions"`
}

// WithDefaults returns c with zero fields replaced by defaults.
func (c Config) WithDefaults() Config {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.DefaultMargin, 0.3)
	def(&c.LifespanYears, 3)
	def(&c.MinTenureDays, 30)
	def(&c.PopulationGapDays, 60)
	def(&c.MinorPerMajor, 100)
	def(&c.ReplenishmentFactor, 1.25)
	if c.MinPopulationRepeats == 0 {
		c.MinPopulationRepeats = 30
	}
	if c.EmailHalfLife == 0 {
		c.EmailHalfLife = 30 * 24 * time.Hour
	}
	if c.SurveyHalfLife == 0 {
		c.SurveyHalfLife = customer.DefaultSurveyHalfLife
	}
	if c.MaxRescoreInterval == 0 {
		c.MaxRescoreInterval = 365 * 24 * time.Hour
	}
	if c.ExpectedPurchasesHorizon == 0 {
		c.ExpectedPurchasesHorizon = 90 * 24 * time.Hour
	}
	if c.ChurnHorizon == 0 {
		c.ChurnHorizon = 90 * 24 * time.Hour
	}
	if len(c.Tiers) == 0 {
		c.Tiers = segment.DefaultTiers
	}
	if len(c.Milestones) == 0 {
		c.Milestones = []float64{100, 500, 1000, 5000, 10000}
	}
	c.Subscriptions = c.Subscriptions.WithDefaults()
	return c
}

// Population is the aggregate the baseline churn model compares a
// customer with: the sum over customers of the span between first and last
// purchase day (days) and of repeat purchase days. It comes with the model
// in force (PopulationOf), so scores do not drift with other customers'
// events between two model versions.
type Population struct {
	SpanDays int64
	Repeats  int64
}

// PopulationOf is the population aggregate carried by rec (zero for nil).
func PopulationOf(rec *model.Record) Population {
	if rec == nil {
		return Population{}
	}
	return Population{SpanDays: rec.PopulationSpanDays, Repeats: rec.PopulationRepeats}
}

// Result is the scoring of one customer.
type Result struct {
	Features       customer.Features
	HistoricCLV    int64   // net revenue, minor units
	HistoricMargin int64   // net margin, minor units
	PredictedCLV   float64 // minor units: model CLV over the horizon, or the classic formula
	CLVPercentile  float64 // 0..100 against the model's population (0 without a model)
	// PAlive is the purchase model's probability that the customer is
	// active (baseline: 1 − recency risk); ExpectedPurchases the expected
	// purchases over Config.ExpectedPurchasesHorizon (0 without a model).
	PAlive, ExpectedPurchases float64
	ChurnRisk                 float64
	ChurnLevel                string
	// Factors explain ChurnRisk, largest upward contribution first.
	Factors []churn.Factor
	Tier    string
	// R, F, M are RFM quintile scores 1..5 (0 without a model).
	R, F, M int
	// AvgDaysBetweenOrders is the customer's mean inter-purchase gap and
	// NextOrderAt the expected date of the next order (last order + gap);
	// both zero with fewer than two purchase days. ReplenishmentDue is set
	// when a regular buyer is overdue.
	AvgDaysBetweenOrders float64
	NextOrderAt          time.Time
	ReplenishmentDue     bool
	Segment              string
	Reason               segment.Reason
	// ModelVersion labels the model the scores come from.
	ModelVersion string
	// NextDue is when the customer must be re-scored; zero for none.
	NextDue time.Time
	// Subscription holds the subscription scores; nil for a customer
	// without subscriptions.
	Subscription *subscription.Score
}

// Scorer scores customers. It is immutable and safe for concurrent use.
type Scorer struct {
	cfg      Config
	engine   *segment.Engine
	baseline churn.Baseline
	// replenishment: the rules reference replenishment_due, so the edges
	// of the replenishment window are instants a segment can change at.
	replenishment bool
	fingerprint   string
	// cuts are, per current segment, the thresholds at which its
	// decision can change (segment.Engine.ThresholdsFor).
	cuts map[string]cuts
	// monotone: the rules read only fields that are constant, only grow or
	// are the churn probability while a customer is silent (dueMonotone).
	monotone bool
	// last is what was derived from the model record last scored against
	// (a record is immutable once published).
	last atomic.Pointer[inForce]
}

// cuts are the thresholds at which the decision for a customer in one
// segment can change: churn probabilities (with the churn level bounds
// when the rules read churn_level), and days of recency and tenure, whose
// comparisons flip at known instants for a silent customer.
type cuts struct {
	churn, recency, tenure []float64
}

// cutsFor returns the cuts of the current segment.
func (s *Scorer) cutsFor(current string) cuts {
	if c, ok := s.cuts[current]; ok {
		return c
	}
	return s.cuts[""] // a segment of older rules: every rule's plain thresholds
}

// New returns a scorer for c (defaults applied) with the segment rules rs.
func New(c Config, rs segment.RuleSet) (*Scorer, error) {
	c = c.WithDefaults()
	e, err := segment.Compile(rs)
	if err != nil {
		return nil, fmt.Errorf("segment rules: %w", err)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%#v\n%#v", c, rs) // fmt prints maps sorted by key
	sc := &Scorer{cfg: c, engine: e, replenishment: e.Uses("replenishment_due"), fingerprint: strconv.FormatUint(h.Sum64(), 16),
		cuts: map[string]cuts{}, monotone: e.Monotone()}
	for _, seg := range append(e.Segments(), "") {
		churnCuts := e.ThresholdsFor("churn_probability", seg)
		if e.Uses("churn_level") {
			med, high := c.Churn.Bounds()
			churnCuts = append(churnCuts, med, high)
			slices.Sort(churnCuts)
			churnCuts = slices.Compact(churnCuts)
		}
		sc.cuts[seg] = cuts{churn: churnCuts, recency: e.ThresholdsFor("recency_days", seg), tenure: e.ThresholdsFor("tenure_days", seg)}
	}
	return sc, nil
}

// Fingerprint identifies the scoring configuration (this Config and the
// segment rules): two scorers with the same fingerprint decide the same
// segments. The service re-scores every customer when it changes, as it
// does for a new model version.
func (s *Scorer) Fingerprint() string { return s.fingerprint }

// Config returns the scorer's configuration with defaults applied.
func (s *Scorer) Config() Config { return s.cfg }

// populationGap returns the population gap in days.
func (s *Scorer) populationGap(p Population) float64 {
	if p.Repeats < s.cfg.MinPopulationRepeats || p.SpanDays <= 0 {
		return s.cfg.PopulationGapDays
	}
	return float64(p.SpanDays) / float64(p.Repeats)
}

// Score scores st as of now against the model rec (nil or baseline: the
// baseline scores), deciding the segment with the state's current segment
// and entry time for hysteresis and dwell.
func (s *Scorer) Score(st *customer.State, now time.Time, rec *model.Record) Result {
	if st.Erased {
		return Result{Segment: segment.Erased, Tier: "none", ChurnLevel: "low", Reason: segment.Reason{Rule: "erasure"}, ModelVersion: rec.Label()}
	}
	m := s.inForce(rec)
	var r Result
	var in segment.Customer
	hold := s.decide(st, now, &m, &r, &in)
	r.NextDue = s.nextDue(st, r, &in, &m, hold)
	return r
}

// Snapshot is Score without the next-due time (the expensive part), for
// population statistics.
func (s *Scorer) Snapshot(st *customer.State, now time.Time, rec *model.Record) Result {
	if st.Erased {
		return s.Score(st, now, rec)
	}
	m := s.inForce(rec)
	var r Result
	var in segment.Customer
	s.decide(st, now, &m, &r, &in)
	return r
}

// decide evaluates st as of now into r and decides its segment, with the
// state's current segment and entry time for hysteresis and dwell; in is
// set to what the rules saw. It returns the end of a dwell hold (zero for
// none).
func (s *Scorer) decide(st *customer.State, now time.Time, m *inForce, r *Result, in *segment.Customer) (hold time.Time) {
	s.evaluate(st, now, m, nil, r, in)
	since := time.Time{}
	if st.Segment != "" {
		since = time.UnixMilli(st.SegmentSince)
	}
	r.Segment, r.Reason, hold = s.engine.Decide(*in, st.Segment, since, now)
	return hold
}

// probeCustomers are the scratch customers of nextDue's probes.
var probeCustomers = sync.Pool{New: func() any { return new(segment.Customer) }}

// inForce is what a scoring derives from the model record once, rather
// than at every due-time probe.
type inForce struct {
	rec   *model.Record
	pm    clv.PurchaseModel // nil before a fit
	pop   Population
	churn churn.Model
	label string
	// horizon is the churn horizon in days; epHorizon the expected
	// purchases horizon in days.
	horizon, epHorizon float64
}

func (s *Scorer) inForce(rec *model.Record) inForce {
	// The model in force changes rarely and every task scores against the
	// same record: derive it once per record, not at every scoring.
	if c := s.last.Load(); c != nil && c.rec == rec {
		return *c
	}
	m := s.deriveInForce(rec)
	s.last.Store(&m)
	return m
}

func (s *Scorer) deriveInForce(rec *model.Record) inForce {
	m := inForce{rec: rec, pm: rec.PurchaseModel(), pop: PopulationOf(rec), churn: rec.ChurnModel(), label: rec.Label(),
		horizon: s.cfg.ChurnHorizon.Hours() / 24, epHorizon: s.cfg.ExpectedPurchasesHorizon.Hours() / 24}
	if m.churn.HorizonDays > 0 {
		m.horizon = m.churn.HorizonDays
	}
	return m
}

// evaluate computes into r every figure except the segment decision, and
// into c what the rules read (results are written in place: both are
// large, and a due-time search evaluates many times). With held
// non-nil (a due-time probe) the figures that do not drift between the
// known instants of nextDue are taken from it instead of recomputed:
// predicted CLV, its percentile, expected purchases (slow-moving value
// figures the probes do not look for) and the tier (it changes only at
// the known instants of tierAgeOut); P(alive), which no segment field
// reads, is left at 0.
func (s *Scorer) evaluate(st *customer.State, now time.Time, m *inForce, held *Result, r *Result, c *segment.Customer) {
	f := st.DeriveWith(now, s.deriveOptions())
	s.evaluateFeatures(st, &f, m, held, r, c)
}

func (s *Scorer) deriveOptions() customer.DeriveOptions {
	return customer.DeriveOptions{EmailHalfLife: s.cfg.EmailHalfLife, SurveyHalfLife: s.cfg.SurveyHalfLife}
}

// evaluateFeatures is evaluate from the features f of st as of f.Now.
func (s *Scorer) evaluateFeatures(st *customer.State, f *customer.Features, m *inForce, held *Result, r *Result, c *segment.Customer) {
	now := f.Now
	major := s.cfg.MinorPerMajor
	*r = Result{Features: *f, HistoricCLV: f.Net, HistoricMargin: f.Margin, ModelVersion: m.label}
	marginRate := s.cfg.DefaultMargin
	if f.Gross > 0 {
		marginRate = 0
		if f.Net > 0 {
			marginRate = math.Max(0, float64(f.Margin)/float64(f.Net))
		}
	}
	pNoPurchase := s.pNoPurchase(f, m)
	if f.PurchaseDays > 0 {
		if pm := m.pm; pm != nil {
			rec := m.rec
			u := rec.TimeUnitDays
			sum := model.Summary{X: float64(f.Frequency), TX: f.SpanDays / u, T: f.TenureDays / u,
				M: f.RepeatMean() / major, AOV: f.AOV() / major, RecencyDays: f.RecencyDays}
			if held == nil { // no segment field reads it: probes skip it
				r.PAlive = pm.PAlive(sum.X, sum.TX, sum.T)
			}
			if held != nil {
				r.ExpectedPurchases, r.PredictedCLV, r.CLVPercentile = held.ExpectedPurchases, held.PredictedCLV, held.CLVPercentile
			} else {
				r.ExpectedPurchases = pm.ConditionalExpectedPurchases(m.epHorizon/u, sum.X, sum.TX, sum.T)
				v := rec.PredictedCLV(pm, sum, marginRate)
				r.PredictedCLV = v * major
				r.CLVPercentile = rec.CLVPercentile(v)
			}
			r.R, r.F, r.M = rec.RFM.Score(f.RecencyDays, f.Frequency, sum.AOV)
		} else {
			perYear := clv.PurchasesPerYear(f.PurchaseDays, f.TenureDays, s.cfg.MinTenureDays)
			r.PredictedCLV = clv.Classic(f.AOV(), perYear, s.cfg.LifespanYears, marginRate)
			gap := s.populationGap(m.pop)
			risk := s.baseline.Risk(f.RecencyDays, f.MeanGapDays(), f.Frequency, gap)
			r.PAlive = 1 - risk
		}
	}
	// Churn: P(no purchase in the horizon) of the purchase model (or the
	// baseline), combined with the email and support signals by the churn
	// model fitted with the record (identity before a fit).
	sig := signalsOf(f, pNoPurchase)
	if held != nil {
		r.ChurnRisk = m.churn.Probability(sig) // a probe compares, it does not explain
	} else {
		r.ChurnRisk, r.Factors = m.churn.Risk(sig)
	}
	if f.PurchaseDays == 0 || math.IsNaN(r.ChurnRisk) {
		r.ChurnRisk, r.Factors = 0, nil // nothing to churn from yet
	}
	r.ChurnLevel = s.cfg.Churn.Level(r.ChurnRisk)
	if held != nil {
		r.Tier = held.Tier
	} else {
		r.Tier = s.cfg.Tiers.Of(float64(f.T12M)/major, f.T12M > 0)
	}
	if gap := f.MeanGapDays(); f.Frequency > 0 && gap > 0 {
		r.AvgDaysBetweenOrders = gap
		r.NextOrderAt = f.LastPurchase.Add(durationDays(gap))
		r.ReplenishmentDue = f.Frequency >= 3 && f.RecencyDays >= s.cfg.ReplenishmentFactor*gap && f.RecencyDays < 3*gap
	}
	rfm := 0
	if r.R > 0 {
		rfm = r.R + r.F + r.M
	}
	*c = segment.Customer{
		CLV: r.PredictedCLV / major, CLVPercentile: r.CLVPercentile, HistoricCLV: float64(f.Margin) / major,
		NetRevenue: float64(f.Net) / major, ChurnProbability: r.ChurnRisk, ChurnLevel: r.ChurnLevel, Tier: r.Tier,
		RFM: rfm, R: r.R, F: r.F, M: r.M, RecencyDays: f.RecencyDays, TenureDays: f.TenureDays,
		LastGapDays: lastGap(st, now), Frequency: f.Frequency, PurchaseDays: f.PurchaseDays,
		OpenTickets: f.OpenTickets, ReplenishmentDue: r.ReplenishmentDue,
		Surveys: surveyFields(&f.Surveys), Channels: channelFields(f),
	}
	s.applySubscription(st, now, m, r, c, held)
}

// pNoPurchase is the probability of no purchase within the churn horizon
// of a customer with features f: the purchase model's, or the baseline's
// before a fit (0 before a first purchase).
func (s *Scorer) pNoPurchase(f *customer.Features, m *inForce) float64 {
	switch {
	case f.PurchaseDays == 0:
		return 0
	case m.pm != nil:
		u := m.rec.TimeUnitDays
		return m.pm.ProbNoPurchase(m.horizon/u, float64(f.Frequency), f.SpanDays/u, f.TenureDays/u)
	default:
		return s.baseline.ProbNoPurchase(f.RecencyDays, f.MeanGapDays(), f.Frequency, s.populationGap(m.pop), m.horizon)
	}
}

// probeChurn is the churn probability a due-time probe of features f sees
// (evaluateFeatures' with a held result), without the rest of the figures.
func (s *Scorer) probeChurn(f *customer.Features, m *inForce) float64 {
	p := m.churn.Probability(signalsOf(f, s.pNoPurchase(f, m)))
	if f.PurchaseDays == 0 || math.IsNaN(p) {
		return 0
	}
	return p
}

// signalsOf are the churn model's signals of the features f, with the
// purchase model's probability of no purchase in the horizon.
func signalsOf(f *customer.Features, pNoPurchase float64) churn.Signals {
	return churn.Signals{
		PNoPurchase: pNoPurchase, EmailSends: f.EmailSends, EmailOpens: f.EmailOpens, EmailClicks: f.EmailClicks,
		OpenTickets: f.OpenTickets, Reopened: f.Reopened, MeanResolveHours: f.MeanResolveHours, CSAT: f.CSAT,
		NPSScored: f.Surveys.Has[0], NPS: f.Surveys.Latest[0], CESScored: f.Surveys.Has[2], CES: f.Surveys.Latest[2],
		OptedOut:  f.OptedOut,
		Frequency: float64(f.Frequency), RecencyDays: f.RecencyDays, TenureDays: f.TenureDays,
	}
}

// lastGap is the number of days between the last two purchase days on or
// before now.
func lastGap(st *customer.State, now time.Time) float64 {
	day := now.UnixMilli() / (24 * 3600 * 1000)
	var prev, last int64 = -1, -1
	for _, d := range st.Days {
		if d.D > day {
			break
		}
		prev, last = last, d.D
	}
	if prev < 0 {
		return 0
	}
	return float64(last - prev)
}

// nextDue is the earliest instant after now at which the segment or tier
// can change without a new event (and the churn level, when the rules read
// churn_level: nothing else keeps or publishes it, so a re-score at a level
// bound would change nothing).
//
// Two kinds of instants are found. Known ones come from the state itself:
// the end of a dwell hold, a future-dated purchase becoming visible, the
// day the purchases leaving the trailing-12-month window change the tier
// (tierAgeOut), and, when the rules use replenishment_due, the edges of a
// regular buyer's replenishment window (the one figure that turns on and
// off again as time passes). Between those, the
// figures drift monotonically for a silent customer (recency and tenure
// grow, P(alive) falls, e-mail engagement decays), so the decision is
// probed at geometric steps (1, 4, 16, 64, 256 days) up to
// MaxRescoreInterval and the first change is narrowed down to the hour
// (narrow); where the rules and the churn model allow it, the breakpoints
// are visited in order instead (dueMonotone). A customer the rules call settled (segment.Engine.Settled:
// lapsed by a recency, or a churn probability, that only grows; a
// prospect) is not probed at all. A customer is re-scored when something
// can change, not on a fixed cadence.
func (s *Scorer) nextDue(st *customer.State, cur Result, now0 *segment.Customer, m *inForce, hold time.Time) time.Time {
	now := cur.Features.Now
	limit := s.knownDue(st, cur, m, hold)
	if hold.After(now) {
		// Within a dwell hold the rules already want another segment:
		// nothing is published before the hold ends, or a known instant.
		return limit
	}
	in := probeCustomers.Get().(*segment.Customer) // one for every probe: the rules take its address
	defer probeCustomers.Put(in)
	// A subscriber's churn is the renewal model's, which time moves both
	// ways between renewals; a buyer's only grows under most churn models.
	rises := len(st.Subscriptions) == 0 && m.churn.RisesWhenSilent(signalsOf(&cur.Features, 0))
	if *in = *now0; s.engine.Settled(in, cur.Segment, rises) {
		// Nothing the rules read can move the decision before a known
		// instant (say, lapsed by a recency or a churn that only grows):
		// no probes.
		return limit
	}
	// A customer with no fact after now (the usual case: an event is
	// scored as of its own instant or later) is only moved by time: its
	// features at a probe are those of now advanced, not derived again.
	silent := st.LatestAt() <= now.UnixMilli()
	opts := s.deriveOptions()
	var r Result // every probe's figures
	changed := func(t time.Time) (bool, float64) {
		if silent {
			f := cur.Features
			st.Advance(&f, t, opts)
			s.evaluateFeatures(st, &f, m, &cur, &r, in)
		} else {
			s.evaluate(st, t, m, &cur, &r, in)
		}
		return s.engine.Which(in, cur.Segment) != cur.Segment, r.ChurnRisk
	}
	// churnAt is changed's churn probability alone: what locating a
	// threshold crossing needs.
	churnAt := func(t time.Time) float64 {
		f := cur.Features
		st.Advance(&f, t, opts)
		return s.probeChurn(&f, m)
	}
	var buf [16]time.Time
	ct := s.cutsFor(cur.Segment)
	edges := s.dayEdges(buf[:0], cur.Features, limit, ct)
	if s.monotone && rises && silent {
		return s.dueMonotone(changed, churnAt, now, cur.ChurnRisk, limit, edges, ct.churn, s.warpOf(cur.Features, m))
	}
	lo, pLo := now, cur.ChurnRisk
	for step := 24 * time.Hour; ; step *= 4 {
		t := now.Add(step)
		if !t.Before(limit) {
			t = limit
		}
		c, p := changed(t)
		if c {
			return s.narrow(changed, lo, pLo, t, p, edges, s.warpOf(cur.Features, m), ct.churn)
		}
		if !t.Before(limit) {
			return limit
		}
		lo, pLo = t, p
	}
}

// warpOf is the time axis of crossing's guesses for features f under m.
func (s *Scorer) warpOf(f customer.Features, m *inForce) warp {
	if f.PurchaseDays == 0 {
		return warp{}
	}
	if m.pm == nil {
		return warp{anchor: f.LastPurchase}
	}
	return warp{anchor: f.FirstPurchase, tau: math.Max(0, m.rec.Params.Alpha*m.rec.TimeUnitDays)}
}

// knownDue is the earliest of the known instants after now at which the
// decision can change (the end of a dwell hold, a future-dated purchase
// becoming visible, a tier age-out, a replenishment window's edge when the
// rules use it, a subscription's period or grace ending) and now +
// MaxRescoreInterval: the horizon of nextDue's probes.
func (s *Scorer) knownDue(st *customer.State, cur Result, m *inForce, hold time.Time) time.Time {
	now := cur.Features.Now
	limit := now.Add(s.cfg.MaxRescoreInterval)
	earlier := func(t time.Time) {
		// Due times are stored in whole milliseconds: round up, so a
		// candidate is never due at the instant it was computed for.
		if r := t.Sub(t.Truncate(time.Millisecond)); r > 0 {
			t = t.Add(time.Millisecond - r)
		}
		if t.After(now) && t.Before(limit) {
			limit = t
		}
	}
	if !hold.IsZero() {
		earlier(hold)
	}
	nowDay := now.UnixMilli() / (24 * 3600 * 1000)
	for _, d := range st.Days {
		if d.D > nowDay {
			earlier(dayStart(d.D)) // a future-dated purchase becomes visible
			break
		}
	}
	earlier(s.tierAgeOut(st, now, cur.Tier))
	if f := cur.Features; s.replenishment && f.Frequency >= 3 && cur.AvgDaysBetweenOrders > 0 {
		// Only rules can turn replenishment_due into a change.
		gap := durationDays(cur.AvgDaysBetweenOrders)
		earlier(f.LastPurchase.Add(time.Duration(s.cfg.ReplenishmentFactor * float64(gap))))
		earlier(f.LastPurchase.Add(3 * gap))
	}
	for _, t := range s.subscriptionDue(st, now, m) {
		earlier(t) // a paid period or its grace ends, a renewal date enters the churn horizon
	}
	return limit
}

// dueMonotone is nextDue's search where the decision of a silent customer
// can change only at known breakpoints: the rules read nothing but
// constant fields, recency, tenure and the churn probability
// (segment.Engine.Monotone), and the churn can only rise
// (churn.Model.RisesWhenSilent). The breakpoints are then the edges of
// recency and tenure and the instants the churn crosses a threshold above
// its current value; between two the decision is constant. They are
// visited in time order, each crossing located to within the hour, and
// the first at which the decision differs is the due time: no geometric
// probes, and every breakpoint checked (a decision can change and change
// back, so probing a guessed crossing alone would not do).
func (s *Scorer) dueMonotone(changed func(time.Time) (bool, float64), churnAt func(time.Time) float64, now time.Time, p0 float64, limit time.Time, edges []time.Time, cuts []float64, w warp) time.Time {
	type probe struct {
		at      time.Time
		changed bool
		p       float64
	}
	var seen [32]probe
	n := 0
	at := func(t time.Time) probe { // changed, memoised for the instants of this search
		for _, x := range seen[:n] {
			if x.at.Equal(t) {
				return x
			}
		}
		c, p := changed(t)
		x := probe{t, c, p}
		if n < len(seen) {
			seen[n] = x
			n++
		}
		return x
	}
	lo, pLo := now, p0
	for {
		for len(edges) > 0 && !edges[0].After(lo) {
			edges = edges[1:]
		}
		e := limit
		if len(edges) > 0 && edges[0].Before(limit) {
			e = edges[0]
		}
		pe := at(e)
		c, crossed := 0.0, false
		for _, x := range cuts {
			if x > pLo && x <= pe.p {
				c, crossed = x, true
				break
			}
		}
		if !crossed {
			if pe.changed || !e.Before(limit) {
				return e // the edge changed the decision, or nothing does before the limit
			}
			lo, pLo = e, pe.p
			continue
		}
		// The first crossing lies in (lo, e]: locate it to within the hour
		// on the churn probability alone, then decide there.
		above := func(t time.Time) (bool, float64) { p := churnAt(t); return p >= c, p }
		x := at(s.narrow(above, lo, pLo, e, pe.p, nil, w, []float64{c}))
		if x.changed {
			return x.at
		}
		lo, pLo = x.at, x.p
	}
}

// dayEdges appends to dst, in order, the instants in (f.Now, limit) just
// after a silent customer's recency_days or tenure_days passes one of the
// rules' thresholds on them (a millisecond after, so a comparison in
// either direction has flipped there).
func (s *Scorer) dayEdges(dst []time.Time, f customer.Features, limit time.Time, ct cuts) []time.Time {
	if f.PurchaseDays == 0 {
		return dst
	}
	add := func(from time.Time, cuts []float64) {
		for _, c := range cuts {
			if c <= 0 || c > 1e5 {
				continue
			}
			e := from.Add(durationDays(c)).Add(time.Millisecond)
			if e.After(f.Now) && e.Before(limit) {
				dst = append(dst, e)
			}
		}
	}
	add(f.LastPurchase, ct.recency)
	add(f.FirstPurchase, ct.tenure)
	slices.SortFunc(dst, func(a, b time.Time) int { return a.Compare(b) })
	return dst
}

// narrow finds the first change in (lo, hi] to within the hour, given no
// change at lo and a change at hi, and the churn probabilities pLo and pHi
// there. Where a threshold on recency_days or tenure_days is passed inside
// the bracket (edges, in order), the change is usually that: it is probed
// just after the edge and an hour before, which closes the bracket in two
// probes. Most other changes of a silent customer are the churn
// probability crossing a rule's threshold: when one lies between pLo and
// pHi, the crossing is guessed by interpolating the probability's
// log-odds in time and probed half an hour either side, which usually
// closes the bracket in a few probes where bisection needs a dozen.
// Otherwise, or when a guess did not halve the bracket, it bisects. Every
// probe keeps the bracket (no change at lo, a change at hi), so the result
// is the same kind of instant as bisection's.
func (s *Scorer) narrow(changed func(time.Time) (bool, float64), lo time.Time, pLo float64, hi time.Time, pHi float64, edges []time.Time, w warp, churnCuts []float64) time.Time {
	const half = 30 * time.Minute
	bisect := false
	var last time.Time // the previous guess of a threshold crossing
	moved := 0         // the end the last guess moved: -1 lo, 1 hi
	for elapsed(hi, lo) > time.Hour {
		for len(edges) > 0 && !edges[0].After(lo) {
			edges = edges[1:]
		}
		if len(edges) > 0 && edges[0].Before(hi) {
			e := edges[0]
			edges = edges[1:]
			c, p := changed(e)
			if !c {
				lo, pLo = e, p
				continue
			}
			hi, pHi = e, p
			if b := e.Add(-time.Hour); b.After(lo) {
				if c, p := changed(b); c {
					hi, pHi = b, p
				} else {
					lo, pLo = b, p
				}
			}
			continue
		}
		width := elapsed(hi, lo)
		if g, th, ok := s.crossing(lo, pLo, hi, pHi, w, churnCuts); ok && !bisect && width > 2*time.Hour {
			g = g.Truncate(time.Minute) // tidy instants: whole minutes
			if g.Before(lo.Add(half)) {
				g = lo.Add(half)
			} else if g.After(hi.Add(-half)) {
				g = hi.Add(-half)
			}
			if d := elapsed(g, last); width > 12*time.Hour && (last.IsZero() || d > half || d < -half) {
				// Not settled yet: one probe at the guess (regula falsi).
				// When the same end moves twice in a row the other one is
				// stale; halving its log-odds distance to the threshold
				// (the Illinois rule) keeps the guesses converging from
				// both sides.
				last = g
				if c, p := changed(g); c {
					hi, pHi = g, p
					if moved == 1 {
						pLo = towards(pLo, th)
					}
					moved = 1
				} else {
					lo, pLo = g, p
					if moved == -1 {
						pHi = towards(pHi, th)
					}
					moved = -1
				}
				continue
			}
			// Two guesses within half an hour, or a bracket of at most
			// half a day (where the log-odds are as good as linear):
			// bracket the crossing there.
			if c, p := changed(g.Add(-half)); c {
				hi, pHi = g.Add(-half), p
			} else {
				lo, pLo = g.Add(-half), p
				if c, p := changed(g.Add(half)); c {
					hi, pHi = g.Add(half), p
				} else {
					lo, pLo = g.Add(half), p
				}
			}
			bisect = elapsed(hi, lo) > width/2
			last, moved = time.Time{}, 0
			continue
		}
		mid := lo.Add(width / 2)
		if c, p := changed(mid); c {
			hi, pHi = mid, p
		} else {
			lo, pLo = mid, p
		}
		bisect = false
	}
	return hi
}

// crossing interpolates, on the log-odds scale, when the churn probability
// goes from pLo at lo to pHi at hi through the first churn threshold th
// between them; ok is false when none lies between them.
func (s *Scorer) crossing(lo time.Time, pLo float64, hi time.Time, pHi float64, w warp, churnCuts []float64) (time.Time, float64, bool) {
	var th float64
	found := false
	for _, c := range churnCuts {
		if (pLo < c && c <= pHi && (!found || c < th)) || (pHi < c && c <= pLo && (!found || c > th)) {
			th, found = c, true
		}
	}
	if !found {
		return time.Time{}, 0, false
	}
	a, b, c := logOdds(pLo), logOdds(pHi), logOdds(th)
	if !(math.Abs(b-a) > 1e-12) {
		return time.Time{}, 0, false
	}
	f := (c - a) / (b - a)
	if w.ok() {
		ul, uh := w.u(lo), w.u(hi)
		if g, ok := w.inv(ul + f*(uh-ul)); ok {
			return g, th, true
		}
	}
	return lo.Add(time.Duration(f * float64(elapsed(hi, lo)))), th, true
}

// warp is the time axis on which a silent customer's churn log-odds are
// close to linear, for crossing's interpolation: u(t) = ln(tau + days
// since anchor). Under the BG/NBD family the log-odds of dropping out
// grow with (r+x)·ln(α+T), so the anchor is the first purchase and tau the
// model's α in days; the baseline's risk curve is a power of the recency,
// so there the anchor is the last purchase day and tau 0. It only places
// guesses: every result is still a probed bracket.
type warp struct {
	anchor time.Time
	tau    float64
}

func (w warp) ok() bool { return !w.anchor.IsZero() }

func (w warp) u(t time.Time) float64 { return math.Log(w.tau + elapsed(t, w.anchor).Hours()/24) }

// elapsed is t.Sub(u), on Unix nanoseconds between instants of 1970 to
// 2262 (where they are Sub's result without its overflow check, which
// costs more than the rest of a probe's time arithmetic).
func elapsed(t, u time.Time) time.Duration {
	if a, b := t.Unix(), u.Unix(); min(a, b) >= 0 && max(a, b) < math.MaxInt64/int64(time.Second)-1 {
		return time.Duration(t.UnixNano() - u.UnixNano())
	}
	return t.Sub(u)
}

func (w warp) inv(u float64) (time.Time, bool) {
	d := math.Exp(u) - w.tau
	if math.IsNaN(d) || d < 0 || d > 1e5 {
		return time.Time{}, false
	}
	return w.anchor.Add(durationDays(d)), true
}

// towards moves the probability p halfway to th on the log-odds scale.
func towards(p, th float64) float64 {
	a, c := logOdds(p), logOdds(th)
	return 1 / (1 + math.Exp(-(c + (a-c)/2)))
}

func logOdds(p float64) float64 {
	p = math.Min(math.Max(p, 1e-12), 1-1e-12)
	return math.Log(p / (1 - p))
}

// tierAgeOut is the first instant after now at which the purchases that
// leave the trailing 12 months take the customer out of tier (zero for
// none): the tier is a function of that window's spend, so only its
// age-outs move it without an event.
func (s *Scorer) tierAgeOut(st *customer.State, now time.Time, tier string) time.Time {
	nowMs := now.UnixMilli()
	nowDay := nowMs / (24 * 3600 * 1000)
	var window customer.Total
	first := -1
	for i, d := range st.Days {
		if d.D > nowDay {
			break
		}
		// A day leaves the window 365 days after it starts (UTC days:
		// dayStart(D).AddDate(0, 0, 365) is dayStart(D + 365)).
		if (d.D+365)*24*3600*1000 > nowMs {
			if first < 0 {
				first = i
			}
			window = window.Plus(d.Amount)
		}
	}
	if first < 0 {
		return time.Time{}
	}
	for _, d := range st.Days[first:] {
		if d.D > nowDay {
			break
		}
		window = window.Minus(d.Amount)
		if t12m := window.Int64(); s.cfg.Tiers.Of(float64(t12m)/s.cfg.MinorPerMajor, t12m > 0) != tier {
			return dayStart(d.D + 365)
		}
	}
	return time.Time{}
}

func dayStart(d int64) time.Time { return time.UnixMilli(d * 24 * 3600 * 1000).UTC() }

func durationDays(d float64) time.Duration {
	if d > 1e5 || math.IsNaN(d) || math.IsInf(d, 0) {
		return 1e5 * 24 * time.Hour
	}
	return time.Duration(d * float64(24*time.Hour))
}
