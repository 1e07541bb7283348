package scoring

import (
	"math"
	"time"

	"github.com/clvstream/clvstream/pkg/churn"
	"github.com/clvstream/clvstream/pkg/clv"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/segment"
)

// Config parameterises the scorer. Zero values mean the documented defaults.
type Config struct {
	// DefaultMargin is the gross margin rate used when a purchase carries
	// no margin (default 0.3).
	DefaultMargin float64 `yaml:"default_margin"`
	// LifespanYears is the expected customer lifespan of the classic CLV
	// formula (default 3).
	LifespanYears float64 `yaml:"lifespan_years"`
	// MinTenureDays stretches short tenures when estimating purchases per
	// year (default 30), so a first purchase does not extrapolate wildly.
	MinTenureDays float64 `yaml:"min_tenure_days"`
	// EmailHalfLife is the half-life of the decayed email counters
	// (default 720h = 30 days).
	EmailHalfLife time.Duration `yaml:"email_half_life"`
	// PopulationGapDays is the mean gap between purchases assumed until the
	// partition has seen MinPopulationRepeats repeat purchases (default 60).
	PopulationGapDays float64 `yaml:"population_gap_days"`
	// MinPopulationRepeats is the number of repeat purchases after which the
	// observed population gap replaces PopulationGapDays (default 30).
	MinPopulationRepeats int64 `yaml:"min_population_repeats"`
	// MaxRescoreInterval bounds the time between two re-scorings of a
	// customer (default 168h = 7 days of the scoring clock).
	MaxRescoreInterval time.Duration `yaml:"max_rescore_interval"`
	// Churn holds the churn level bounds.
	Churn churn.Levels `yaml:"churn_levels"`
	// Segments holds the thresholds of the default segment rules.
	Segments segment.Thresholds `yaml:"segments"`
	// Tiers are the loyalty tiers (default bronze/silver/gold/platinum).
	Tiers segment.Tiers `yaml:"tiers"`
	// MinorPerMajor is 10^exponent of the base currency (set by the
	// service from the base currency; default 100).
	MinorPerMajor float64 `yaml:"-"`
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
	def(&c.Churn.Medium, 0.3)
	def(&c.Churn.High, 0.6)
	d := segment.DefaultThresholds
	def(&c.Segments.AtRiskRisk, d.AtRiskRisk)
	def(&c.Segments.LapsedRisk, d.LapsedRisk)
	def(&c.Segments.HighValue, d.HighValue)
	def(&c.Segments.LoyalTenureDays, d.LoyalTenureDays)
	def(&c.Segments.NewDays, d.NewDays)
	if c.Segments.LoyalDays == 0 {
		c.Segments.LoyalDays = d.LoyalDays
	}
	if c.MinPopulationRepeats == 0 {
		c.MinPopulationRepeats = 30
	}
	if c.EmailHalfLife == 0 {
		c.EmailHalfLife = 30 * 24 * time.Hour
	}
	if c.MaxRescoreInterval == 0 {
		c.MaxRescoreInterval = 7 * 24 * time.Hour
	}
	if len(c.Tiers) == 0 {
		c.Tiers = segment.DefaultTiers
	}
	return c
}

// Population is the partition-wide aggregate the baseline churn model
// compares a customer with: the sum over customers of the span between
// first and last purchase day (days) and of repeat purchase days.
type Population struct {
	SpanDays int64
	Repeats  int64
}

// Contribution is one state's share of the Population aggregate.
func Contribution(s *customer.State) Population {
	if s.Erased || len(s.Days) < 2 {
		return Population{}
	}
	return Population{SpanDays: s.Days[len(s.Days)-1].D - s.Days[0].D, Repeats: int64(len(s.Days) - 1)}
}

// Result is the scoring of one customer.
type Result struct {
	Features       customer.Features
	HistoricCLV    int64   // net revenue, minor units
	HistoricMargin int64   // net margin, minor units
	PredictedCLV   float64 // classic formula, minor units
	ChurnRisk      float64
	ChurnLevel     string
	Tier           string
	Segment        string
	Reason         segment.Reason
	// NextDue is when the customer must be re-scored; zero for none.
	NextDue time.Time
}

// Scorer scores customers. It is immutable and safe for concurrent use.
type Scorer struct {
	cfg   Config
	rules []segment.Rule
	model churn.Baseline
}

// New returns a scorer for c (defaults applied).
func New(c Config) *Scorer {
	c = c.WithDefaults()
	return &Scorer{cfg: c, rules: segment.DefaultRules(c.Segments)}
}

// Config returns the scorer's configuration with defaults applied.
func (s *Scorer) Config() Config { return s.cfg }

// populationGap returns the population gap in days.
func (s *Scorer) populationGap(p Population) float64 {
	if p.Repeats < s.cfg.MinPopulationRepeats || p.SpanDays <= 0 {
		return s.cfg.PopulationGapDays
	}
	return float64(p.SpanDays) / float64(p.Repeats)
}

// Score scores st as of now.
func (s *Scorer) Score(st *customer.State, now time.Time, pop Population) Result {
	if st.Erased {
		return Result{Segment: segment.Erased, Tier: "none", ChurnLevel: "low", Reason: segment.Reason{Rule: "erasure"}}
	}
	f := st.Derive(now, s.cfg.EmailHalfLife)
	r := Result{Features: f, HistoricCLV: f.Net, HistoricMargin: f.Margin}
	marginRate := s.cfg.DefaultMargin
	if f.Gross > 0 {
		marginRate = float64(f.Margin) / float64(f.Net)
		if f.Net <= 0 {
			marginRate = 0
		}
	}
	perYear := clv.PurchasesPerYear(f.PurchaseDays, f.TenureDays, s.cfg.MinTenureDays)
	r.PredictedCLV = clv.Classic(f.AOV(), perYear, s.cfg.LifespanYears, marginRate)
	popGap := s.populationGap(pop)
	if f.PurchaseDays > 0 {
		r.ChurnRisk = s.model.Risk(f.RecencyDays, f.MeanGapDays(), f.Frequency, popGap)
	}
	r.ChurnLevel = s.cfg.Churn.Level(r.ChurnRisk)
	major := s.cfg.MinorPerMajor
	r.Tier = s.cfg.Tiers.Of(float64(f.T12M)/major, f.T12M > 0)
	r.Segment, r.Reason = segment.Evaluate(s.rules, segment.Input{
		PurchaseDays:    f.PurchaseDays,
		TenureDays:      f.TenureDays,
		RecencyDays:     f.RecencyDays,
		NetRevenue:      float64(f.Net) / major,
		PredictedCLV:    r.PredictedCLV / major,
		ChurnRisk:       r.ChurnRisk,
		Tier:            r.Tier,
		OpenTickets:     f.OpenTickets,
		TrailingYearSum: float64(f.T12M) / major,
	})
	r.NextDue = s.nextDue(st, f, popGap)
	return r
}

// nextDue is the earliest instant after f.Now at which the score can change
// without a new event (see the package doc).
func (s *Scorer) nextDue(st *customer.State, f customer.Features, popGap float64) time.Time {
	now := f.Now
	due := now.Add(s.cfg.MaxRescoreInterval)
	consider := func(t time.Time) {
		if t.After(now) && t.Before(due) {
			due = t
		}
	}
	if f.PurchaseDays == 0 {
		// Only a future-dated purchase day could change a prospect.
		for _, d := range st.Days {
			consider(dayStart(d.D))
		}
		return due
	}
	for _, p := range []float64{s.cfg.Churn.Medium, s.cfg.Churn.High, s.cfg.Segments.AtRiskRisk, s.cfg.Segments.LapsedRisk} {
		if p <= 0 || p >= 1 {
			continue
		}
		rec := s.model.RecencyAt(p, f.MeanGapDays(), f.Frequency, popGap)
		consider(f.LastPurchase.Add(durationDays(rec)))
	}
	consider(f.FirstPurchase.Add(durationDays(s.cfg.Segments.NewDays)))
	consider(f.FirstPurchase.Add(durationDays(s.cfg.Segments.LoyalTenureDays)))
	nowDay := now.UnixMilli() / (24 * 3600 * 1000)
	for _, d := range st.Days {
		if d.D > nowDay {
			consider(dayStart(d.D)) // a future-dated purchase becomes visible
			break
		}
		consider(dayStart(d.D + 366)) // leaves the trailing-12-month window
	}
	return due
}

func dayStart(d int64) time.Time { return time.UnixMilli(d * 24 * 3600 * 1000).UTC() }

func durationDays(d float64) time.Duration {
	if d > 1e5 || math.IsNaN(d) || math.IsInf(d, 0) {
		return 1e5 * 24 * time.Hour
	}
	return time.Duration(d * float64(24*time.Hour))
}
