package kpi

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/pkg/customer"
)

// Config configures the KPI job. Zero values mean the defaults.
type Config struct {
	// Interval is how often the snapshot is recomputed (default 1m).
	Interval time.Duration `yaml:"interval"`
	// Period is the retention-rate period (default 720h = 30 days).
	Period time.Duration `yaml:"period"`
	// ActiveWindow: a customer is active while their last purchase is
	// within this window (default 8760h = 365 days).
	ActiveWindow time.Duration `yaml:"active_window"`
	// Cohorts is the number of most recent monthly cohorts reported
	// (default 12).
	Cohorts int `yaml:"cohorts"`
	// SampleSize bounds the customers a snapshot reads (default 100,000):
	// above it the snapshot is computed from a uniform sample of that size
	// and its counts are scaled to the population, so a pass costs the
	// same at 10 million customers as at 100,000 (see Snapshot.Sampled
	// for the error).
	SampleSize int `yaml:"sample_size"`
	// RepeatWindow is the window of the repeat-purchase curve: the share
	// of customers with n purchases who make an (n+1)-th within it
	// (default 2160h = 90 days, the default churn horizon).
	RepeatWindow time.Duration `yaml:"repeat_window"`
	// AttributionWindow is the campaign attribution window (set from
	// Attribution.Window by the service; default 7 days).
	AttributionWindow time.Duration `yaml:"-"`
}

// WithDefaults returns c with zero fields set to defaults.
func (c Config) WithDefaults() Config {
	if c.Interval == 0 {
		c.Interval = time.Minute
	}
	if c.Period == 0 {
		c.Period = 30 * 24 * time.Hour
	}
	if c.ActiveWindow == 0 {
		c.ActiveWindow = 365 * 24 * time.Hour
	}
	if c.Cohorts == 0 {
		c.Cohorts = 12
	}
	if c.SampleSize == 0 {
		c.SampleSize = 100_000
	}
	if c.RepeatWindow == 0 {
		c.RepeatWindow = 90 * 24 * time.Hour
	}
	if c.AttributionWindow == 0 {
		c.AttributionWindow = customer.DefaultAttributionWindow
	}
	return c
}

// Validate names the first invalid field (under "kpi").
func (c Config) Validate() error {
	if c.RepeatWindow < 0 || (c.RepeatWindow > 0 && c.RepeatWindow < 24*time.Hour) {
		return fmt.Errorf("kpi.repeat_window: %s must be at least 24h (0 means the default, 2160h)", c.RepeatWindow)
	}
	if c.Interval < 0 || c.Period < 0 || c.ActiveWindow < 0 {
		return fmt.Errorf("kpi: durations must be positive (0 means the default)")
	}
	if c.Cohorts < 0 || c.Cohorts > 60 {
		return fmt.Errorf("kpi.cohorts: %d must be between 1 and 60", c.Cohorts)
	}
	if c.SampleSize < 0 || (c.SampleSize > 0 && c.SampleSize < 1000) {
		return fmt.Errorf("kpi.sample_size: %d must be at least 1000 (0 means the default, 100000)", c.SampleSize)
	}
	return nil
}

// Cohort is the retention of the customers who first bought in one month:
// Retention[k] is the share of them who bought in month k after it
// (Retention[0] is 1).
type Cohort struct {
	Month     string    `json:"month"`
	Size      int       `json:"size"`
	Retention []float64 `json:"retention"`
}

// Bucket is one cumulative bucket of the predicted-CLV distribution.
type Bucket struct {
	LE    float64 `json:"le"`
	Count int     `json:"count"`
}

// Snapshot holds the population figures as of AsOf. Money is in major
// units of the base currency.
type Snapshot struct {
	ComputedAt   time.Time `json:"computed_at"`
	AsOf         time.Time `json:"as_of"`
	ModelVersion string    `json:"model_version"`
	// Customers have bought at least once; Prospects have not; Erased
	// were erased.
	Customers int `json:"customers"`
	Prospects int `json:"prospects"`
	Erased    int `json:"erased"`

	PeriodStart      time.Time `json:"period_start"`
	ActiveAtStart    int       `json:"active_at_start"`
	ActiveAtEnd      int       `json:"active_at_end"`
	NewCustomers     int       `json:"new_customers"`
	RetentionRate    float64   `json:"retention_rate"`
	ChurnRate        float64   `json:"churn_rate"`
	AverageOrder     float64   `json:"average_order_value"`
	PurchaseFreq     float64   `json:"purchase_frequency"`
	RepeatRate       float64   `json:"repeat_purchase_rate"`
	AverageCLV       float64   `json:"average_predicted_clv"`
	AverageHistoric  float64   `json:"average_historic_clv"`
	AverageChurnRisk float64   `json:"average_churn_risk"`
	CSAT             float64   `json:"csat_average"`
	CSATCustomers    int       `json:"csat_customers"`

	Segments    map[string]int `json:"segments"`
	ChurnLevels map[string]int `json:"churn_levels"`
	Tiers       map[string]int `json:"tiers"`
	CLV         []Bucket       `json:"clv_distribution"`
	Cohorts     []Cohort       `json:"cohorts,omitempty"`
	// Surveys are the NPS, CSAT, CES and response-rate figures (surveys.go).
	Surveys SurveySnapshot `json:"surveys"`
	// Channels are the messaging figures per channel (email, sms, push)
	// and OptedOut the customers opted out of at least one (channels.go).
	Channels map[string]ChannelKPIs `json:"channels"`
	OptedOut int                    `json:"opted_out_customers"`
	// RepeatCurve is the repeat-purchase curve (repeat.go).
	RepeatCurve RepeatCurve `json:"repeat_curve"`
	// Campaigns are the purchases attributed to campaigns, largest
	// attributed revenue first (campaigns.go; served by /v1/campaigns).
	Campaigns []CampaignKPIs `json:"campaigns,omitempty"`
	// AttributionWindowDays is the attribution window of Campaigns.
	AttributionWindowDays float64 `json:"attribution_window_days"`

	// Subscriptions and Acquisition are the subscription and acquisition
	// KPIs (acquisition.go); nil while no customer has any. From a sample,
	// their counts and sums are scaled like the others.
	Subscriptions *SubscriptionKPIs `json:"subscriptions,omitempty"`
	Acquisition   *AcquisitionKPIs  `json:"acquisition,omitempty"`
	// Sampled is the number of stored customers the snapshot read when it
	// was computed from a sample (0: from every customer). The counts
	// above are then scaled to the population (Customers + Prospects +
	// Erased); rates, shares and averages are the sample's. For a share
	// p the standard error is √(p(1−p)/Sampled·(1−Sampled/population)):
	// at most 0.16 percentage points with 100,000 sampled.
	Sampled int `json:"sampled,omitempty"`
}

// clvBounds are the upper bounds of the CLV distribution buckets.
var clvBounds = []float64{0, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

// StateSource yields every stored customer state.
type StateSource interface {
	Each(ctx context.Context, fn func(p int, st *customer.State) error) error
}

// Sampler yields a uniform sample of at most max stored customer states
// (every state when there are no more) and returns how many are stored.
type Sampler interface {
	Sample(ctx context.Context, max int, fn func(p int, st *customer.State) error) (population int, err error)
}

// ComputeSample is Compute over a sample of at most c.SampleSize
// customers, with its counts scaled to the population.
func ComputeSample(ctx context.Context, src Sampler, sc *scoring.Scorer, rec *model.Record, asOf time.Time, c Config) (Snapshot, error) {
	c = c.WithDefaults()
	var population int
	s, err := Compute(ctx, eachOf(func(ctx context.Context, fn func(p int, st *customer.State) error) error {
		var err error
		population, err = src.Sample(ctx, c.SampleSize, fn)
		return err
	}), sc, rec, asOf, c)
	if err != nil {
		return s, err
	}
	if read := s.Customers + s.Prospects + s.Erased; read < population && read > 0 {
		s.scale(read, population)
	}
	return s, nil
}

// eachOf adapts a function to StateSource.
type eachOf func(ctx context.Context, fn func(p int, st *customer.State) error) error

func (e eachOf) Each(ctx context.Context, fn func(p int, st *customer.State) error) error {
	return e(ctx, fn)
}

// scale turns the counts of a snapshot computed from read customers into
// estimates for population customers.
func (s *Snapshot) scale(read, population int) {
	f := float64(population) / float64(read)
	n := func(v *int) { *v = int(math.Round(float64(*v) * f)) }
	for _, v := range []*int{&s.Customers, &s.Prospects, &s.Erased, &s.ActiveAtStart, &s.ActiveAtEnd, &s.NewCustomers, &s.CSATCustomers} {
		n(v)
	}
	for _, m := range []map[string]int{s.Segments, s.ChurnLevels, s.Tiers} {
		for k, v := range m {
			n(&v)
			m[k] = v
		}
	}
	for i := range s.CLV {
		n(&s.CLV[i].Count)
	}
	for i := range s.Cohorts {
		n(&s.Cohorts[i].Size)
	}
	s.Surveys.scale(n)
	s.RepeatCurve.scale(n)
	for i := range s.Campaigns {
		k := &s.Campaigns[i]
		for _, v := range []*int{&k.Orders, &k.OrdersByClick, &k.Customers, &k.Retained, &k.Repeaters} {
			n(v)
		}
		k.Revenue, k.GrossRevenue = k.Revenue*float64(population)/float64(read), k.GrossRevenue*float64(population)/float64(read)
	}
	n(&s.OptedOut)
	for name, k := range s.Channels {
		n(&k.EngagedCustomers)
		n(&k.OptedOut)
		s.Channels[name] = k
	}
	s.scaleToolkit(n, f)
	s.Sampled = read
}

// Compute walks every state and computes the snapshot as of asOf, scoring
// each customer against rec with sc (closed form, no I/O).
func Compute(ctx context.Context, src StateSource, sc *scoring.Scorer, rec *model.Record, asOf time.Time, c Config) (Snapshot, error) {
	c = c.WithDefaults()
	major := sc.Config().MinorPerMajor
	s := Snapshot{ComputedAt: time.Now().UTC(), AsOf: asOf, ModelVersion: rec.Label(),
		Segments: map[string]int{}, ChurnLevels: map[string]int{}, Tiers: map[string]int{}}
	s.PeriodStart = asOf.Add(-c.Period)
	var gross, margin, clvSum, riskSum, csatSum float64
	var days, repeaters int
	counts := make([]int, len(clvBounds))
	type cohortAcc struct {
		size   int
		active []int
	}
	cohorts := map[string]*cohortAcc{}
	firstMonth := monthIndex(asOf) - c.Cohorts + 1
	surveys := newSurveyAcc()
	var channels channelAcc
	repeats := newRepeatAcc(c.RepeatWindow, asOf)
	campaigns := newCampaignAcc(c.AttributionWindow, c.ActiveWindow, asOf, major)
	active := func(st *customer.State, at time.Time) bool {
		f := st.Derive(at, 0)
		return f.PurchaseDays > 0 && at.Sub(f.LastPurchase) <= c.ActiveWindow
	}
	horizon := 0
	if rec != nil {
		horizon = rec.HorizonMonths
	}
	tk := newToolkitAcc(major, horizon, asOf, s.PeriodStart, c.Cohorts)
	err := src.Each(ctx, func(_ int, st *customer.State) error {
		if st.Erased {
			s.Erased++
			return nil
		}
		r := sc.Snapshot(st, asOf, rec)
		tk.add(st, &r)
		f := r.Features
		s.Segments[r.Segment]++
		surveys.add(&r, cohortOf(f, firstMonth))
		channels.add(&r)
		if f.PurchaseDays == 0 {
			s.Prospects++
			return nil
		}
		s.Customers++
		repeats.add(st.Days, cohortOf(f, firstMonth), st.Acquisition.Channel)
		campaigns.add(st, &f)
		s.ChurnLevels[r.ChurnLevel]++
		s.Tiers[r.Tier]++
		gross += float64(f.Gross) / major
		margin += float64(f.Margin) / major
		days += f.PurchaseDays
		if f.PurchaseDays >= 2 {
			repeaters++
		}
		v := r.PredictedCLV / major
		clvSum += v
		riskSum += r.ChurnRisk
		for i, b := range clvBounds {
			if v <= b {
				counts[i]++
			}
		}
		if f.CSAT > 0 {
			csatSum += f.CSAT
			s.CSATCustomers++
		}
		if active(st, asOf) {
			s.ActiveAtEnd++
		}
		if active(st, s.PeriodStart) {
			s.ActiveAtStart++
		}
		if f.FirstPurchase.After(s.PeriodStart) {
			s.NewCustomers++
		}
		m0 := monthIndex(f.FirstPurchase)
		if m0 >= firstMonth {
			key := f.FirstPurchase.Format("2006-01")
			acc := cohorts[key]
			if acc == nil {
				acc = &cohortAcc{active: make([]int, monthIndex(asOf)-m0+1)}
				cohorts[key] = acc
			}
			acc.size++
			seen := map[int]bool{}
			for _, d := range st.Days {
				at := time.UnixMilli(d.D * 24 * 3600 * 1000).UTC()
				k := monthIndex(at) - m0
				if at.After(asOf) || k < 0 || k >= len(acc.active) || seen[k] {
					continue
				}
				seen[k] = true
				acc.active[k]++
			}
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	if s.ActiveAtStart > 0 {
		s.RetentionRate = float64(s.ActiveAtEnd-s.NewCustomers) / float64(s.ActiveAtStart)
		s.ChurnRate = 1 - s.RetentionRate
	}
	if days > 0 {
		s.AverageOrder = gross / float64(days)
	}
	if s.Customers > 0 {
		n := float64(s.Customers)
		s.PurchaseFreq = float64(days) / n
		s.RepeatRate = float64(repeaters) / n
		s.AverageCLV = clvSum / n
		s.AverageHistoric = margin / n
		s.AverageChurnRisk = riskSum / n
	}
	if s.CSATCustomers > 0 {
		s.CSAT = csatSum / float64(s.CSATCustomers)
	}
	for i, b := range clvBounds {
		s.CLV = append(s.CLV, Bucket{LE: b, Count: counts[i]})
	}
	for month, acc := range cohorts {
		co := Cohort{Month: month, Size: acc.size, Retention: make([]float64, len(acc.active))}
		for k, n := range acc.active {
			co.Retention[k] = float64(n) / float64(acc.size)
		}
		s.Cohorts = append(s.Cohorts, co)
	}
	sort.Slice(s.Cohorts, func(i, j int) bool { return s.Cohorts[i].Month < s.Cohorts[j].Month })
	s.Surveys = surveys.finish()
	s.Channels, s.OptedOut = channels.finish()
	s.RepeatCurve = repeats.finish()
	s.Campaigns, s.AttributionWindowDays = campaigns.finish(), c.AttributionWindow.Hours()/24
	tk.finish(&s)
	return s, nil
}

// cohortOf is the month cohort ("2006-01") of a customer among the
// reported ones, "" when none.
func cohortOf(f customer.Features, firstMonth int) string {
	if f.PurchaseDays == 0 || monthIndex(f.FirstPurchase) < firstMonth {
		return ""
	}
	return f.FirstPurchase.Format("2006-01")
}

func monthIndex(t time.Time) int { return t.Year()*12 + int(t.Month()) - 1 }
