package query

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/clvstream/clvstream/internal/core"
	"github.com/clvstream/clvstream/internal/kpi"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

// Errors of the Service. Their messages are safe to show to API clients.
var (
	// ErrInvalidID: the customer id is not 1..128 bytes of UTF-8 text
	// without control characters (the rule of the input events).
	ErrInvalidID = errors.New("invalid customer id")
	// ErrErased: the customer was erased (right to erasure); nothing but
	// that fact is kept.
	ErrErased = errors.New("customer erased")
	// ErrNotReady: the data asked for does not exist yet (no KPI snapshot,
	// the service never recorded its partition count).
	ErrNotReady = errors.New("not ready")
	// ErrStore: Redis failed or returned what could not be decoded. The
	// wrapped error has the detail, for logs.
	ErrStore = errors.New("state store error")
)

// ModelSource gives the model in force (refit.Watcher). Current must be
// safe for concurrent use and cheap: it is called on every request.
type ModelSource interface{ Current() *model.Record }

// KPISource gives the latest KPI snapshot (kpi.Job), nil before the first.
// Latest must be safe for concurrent use and cheap.
type KPISource interface{ Latest() *kpi.Snapshot }

// Deps are what a Service reads from.
type Deps struct {
	// Store holds the customer states and the partition count.
	Store *state.Store
	// PartitionOf maps a customer id to its partition among n under the
	// input topics' partitioner (kafka.partitioner).
	PartitionOf func(id string, n int) int
	// Scorer scores the states (the pipeline's scorer and configuration).
	Scorer *scoring.Scorer
	// Rules are the segment rules the Scorer was built with, for the rule
	// list and its descriptions.
	Rules segment.RuleSet
	// Models and KPIs give the model in force and the latest snapshot.
	Models ModelSource
	KPIs   KPISource
	// Clock is the service's scoring clock (wall clock, or the event-time
	// watermark during a backfill). It is read at most once a second.
	Clock func(context.Context) time.Time
	// BaseCurrency is the ISO 4217 code money is reported in (default
	// USD); MinorPerMajor is 10^its exponent (default: the scorer's).
	BaseCurrency  string
	MinorPerMajor float64
}

// Service answers read-only queries. It is safe for concurrent use.
type Service struct {
	d        Deps
	digits   int
	format   core.Format
	segments []SegmentInfo
	clock    atomic.Pointer[clockReading]
}

// clockReading is a cached reading of Deps.Clock.
type clockReading struct {
	value, readAt time.Time
}

// clockTTL bounds how long a clock reading is reused. The service clock
// scans every partition's watermark in Redis; reading it once a second at
// most keeps that off the request path under load (the pipeline's due-set
// ticker has the same one-second granularity).
const clockTTL = time.Second

// now returns the service clock, read at most once per clockTTL.
func (s *Service) now(ctx context.Context) time.Time {
	wall := time.Now()
	if c := s.clock.Load(); c != nil && wall.Sub(c.readAt) < clockTTL && !wall.Before(c.readAt) {
		return c.value
	}
	v := s.d.Clock(ctx).UTC()
	s.clock.Store(&clockReading{value: v, readAt: wall})
	return v
}

// New checks d and returns a service.
func New(d Deps) (*Service, error) {
	switch {
	case d.Store == nil:
		return nil, errors.New("query: Store is required")
	case d.PartitionOf == nil:
		return nil, errors.New("query: PartitionOf is required")
	case d.Scorer == nil:
		return nil, errors.New("query: Scorer is required")
	case d.Models == nil:
		return nil, errors.New("query: Models is required")
	case d.KPIs == nil:
		return nil, errors.New("query: KPIs is required")
	case d.Clock == nil:
		return nil, errors.New("query: Clock is required")
	}
	if _, err := segment.Compile(d.Rules); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	if d.BaseCurrency == "" {
		d.BaseCurrency = "USD"
	}
	if d.MinorPerMajor == 0 {
		d.MinorPerMajor = d.Scorer.Config().MinorPerMajor
	}
	digits := 0
	for m := d.MinorPerMajor; m >= 10; m /= 10 {
		digits++
	}
	s := &Service{d: d, digits: digits, format: core.NewFormat(d.MinorPerMajor, d.BaseCurrency)}
	for i, r := range d.Rules.Rules {
		s.segments = append(s.segments, SegmentInfo{Name: r.Name, Description: r.Description, Order: i + 1})
	}
	return s, nil
}

// ValidateID checks a customer id as the input events' customer_id is
// checked: 1..128 bytes of valid UTF-8, no control characters, not blank.
// The error wraps ErrInvalidID and says what is wrong (without echoing
// the id).
func ValidateID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty", ErrInvalidID)
	}
	if len(id) > event.MaxIDBytes {
		return fmt.Errorf("%w: must be at most %d bytes, got %d", ErrInvalidID, event.MaxIDBytes, len(id))
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("%w: must be valid UTF-8", ErrInvalidID)
	}
	blank := true
	for i, r := range id {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: must not contain control characters, found %U at byte %d", ErrInvalidID, r, i)
		}
		if !unicode.IsSpace(r) {
			blank = false
		}
	}
	if blank {
		return fmt.Errorf("%w: must not be blank", ErrInvalidID)
	}
	return nil
}

// Customer returns the customer id scored as of the service clock (or
// their latest fact, when later), nil (and no error) when no state is
// stored for them, or an error wrapping ErrInvalidID, ErrErased,
// ErrNotReady or ErrStore.
func (s *Service) Customer(ctx context.Context, id string) (*CustomerView, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	n, err := s.d.Store.Partitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: read the partition count: %w", ErrStore, err)
	}
	if n <= 0 {
		return nil, fmt.Errorf("%w: the input partition count is not recorded yet (the pipeline has not started)", ErrNotReady)
	}
	p := s.d.PartitionOf(id, n)
	states, err := s.d.Store.Load(ctx, p, []string{id})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	st := states[id]
	if st == nil || unknown(st) {
		return nil, nil
	}
	if st.Erased {
		return nil, ErrErased
	}
	now := s.now(ctx)
	if latest := st.LatestAt(); latest > now.UnixMilli() {
		now = time.UnixMilli(latest).UTC()
	}
	rec := s.d.Models.Current()
	res := s.d.Scorer.Score(st, now, rec)
	return s.view(st, res, rec, now), nil
}

// unknown reports whether st is the fresh state Load returns for a
// customer with nothing stored.
func unknown(st *customer.State) bool {
	return st.Version == 0 && !st.Erased && st.Segment == "" && len(st.Days) == 0 && len(st.Orders) == 0 &&
		len(st.Refunds) == 0 && len(st.Tickets) == 0 && len(st.Emails) == 0 && len(st.Surveys) == 0 && st.Consent == customer.State{}.Consent
}

func (s *Service) money(minor int64) string { return event.FormatMinor(minor, s.digits) }

func (s *Service) moneyF(minor float64) string {
	if math.IsNaN(minor) || math.IsInf(minor, 0) || math.Abs(minor) > 9e18 {
		minor = 0
	}
	return s.money(int64(math.Round(minor)))
}

func (s *Service) view(st *customer.State, r scoring.Result, rec *model.Record, now time.Time) *CustomerView {
	f := r.Features
	cfg := s.d.Scorer.Config()
	fig := s.format.Figures(r, rec)
	v := &CustomerView{
		CustomerID: st.ID, Version: st.Version, ScoredAt: now, ModelVersion: r.ModelVersion,
		CLV: fig.CLV, CLVPercentile: fig.CLVPercentile, ExpectedPurchases: fig.ExpectedPurchases,
		PAlive:                round4(r.PAlive),
		ExpectedPurchasesDays: cfg.ExpectedPurchasesHorizon.Hours() / 24,
		ChurnRisk:             fig.ChurnRisk,
		LoyaltyTier:           r.Tier,
		Purchases: Purchases{
			PurchaseDays: f.PurchaseDays, Frequency: f.Frequency,
			RecencyDays: round4(f.RecencyDays), TenureDays: round4(f.TenureDays),
			GrossRevenue: s.money(f.Gross), NetRevenue: s.money(f.Net),
			AverageOrderValue: s.moneyF(f.AOV()), Trailing12MSpend: s.money(f.T12M),
		},
		NextOrder: NextOrder{ReplenishmentDue: r.ReplenishmentDue},
		Support: Support{OpenTickets: f.OpenTickets, ReopenedTickets: f.Reopened, ResolvedTickets: f.Resolved,
			MeanResolutionHours: round4(f.MeanResolveHours)},
		Email: Email{Sends: round4(f.EmailSends), Opens: round4(f.EmailOpens), Clicks: round4(f.EmailClicks),
			HalfLifeDays: cfg.EmailHalfLife.Hours() / 24},
		Surveys:  surveysView(&f.Surveys, cfg.SurveyHalfLife),
		Channels: channelsView(&f),
	}
	v.Subscription, v.Acquisition = s.subscriptionViews(st, r)
	v.Referrals = st.ReferralCount()
	v.Segment = Segment{Name: st.Segment, Reason: fig.Reason}
	if st.Segment == "" {
		v.Segment.Name = r.Segment
	} else {
		since := time.UnixMilli(st.SegmentSince).UTC()
		v.Segment.Since = &since
		if r.Segment != st.Segment {
			v.Segment.Pending = ptr(r.Segment)
		}
	}
	if r.R > 0 {
		v.RFM = &RFM{R: r.R, F: r.F, M: r.M, Score: r.R + r.F + r.M}
	}
	if f.PurchaseDays > 0 {
		v.Purchases.FirstPurchase = ptr(f.FirstPurchase.Format(time.DateOnly))
		v.Purchases.LastPurchase = ptr(f.LastPurchase.Format(time.DateOnly))
	}
	if r.AvgDaysBetweenOrders > 0 {
		v.NextOrder.AverageDaysBetweenOrders = ptr(round4(r.AvgDaysBetweenOrders))
		v.NextOrder.ExpectedDate = ptr(r.NextOrderAt.UTC().Format(time.DateOnly))
	}
	if f.CSAT > 0 {
		v.Support.CSAT = ptr(round4(f.CSAT))
	}
	return v
}

// Segments returns the rule list with the counts of the latest snapshot.
func (s *Service) Segments(context.Context) (*SegmentsView, error) {
	v := &SegmentsView{Segments: make([]SegmentInfo, len(s.segments))}
	copy(v.Segments, s.segments)
	snap := s.d.KPIs.Latest()
	if snap == nil {
		return v, nil
	}
	v.ComputedAt, v.AsOf, v.ErasedCustomers = ptr(snap.ComputedAt), ptr(snap.AsOf), ptr(snap.Erased)
	known := map[string]bool{}
	for i := range v.Segments {
		known[v.Segments[i].Name] = true
		v.Segments[i].Customers = ptr(snap.Segments[v.Segments[i].Name])
	}
	for _, name := range slices.Sorted(maps.Keys(snap.Segments)) {
		if !known[name] {
			v.Segments = append(v.Segments, SegmentInfo{Name: name, Description: "not a rule of this instance's rule set", Customers: ptr(snap.Segments[name])})
		}
	}
	return v, nil
}

// Model returns the model record in force, nil when none was published.
func (s *Service) Model(context.Context) (*ModelView, error) {
	rec := s.d.Models.Current()
	if rec == nil {
		return nil, nil
	}
	return &ModelView{Label: rec.Label(), Record: *rec}, nil
}

var errNoSnapshot = fmt.Errorf("%w: no KPI snapshot has been computed yet (the first one is computed within a minute of the service's start)", ErrNotReady)

// KPIs returns the latest snapshot's figures (ErrNotReady before the first).
func (s *Service) KPIs(context.Context) (*KPIView, error) {
	snap := s.d.KPIs.Latest()
	if snap == nil {
		return nil, errNoSnapshot
	}
	v := &KPIView{Snapshot: *snap, Currency: s.d.BaseCurrency}
	v.Cohorts = nil   // served by /v1/cohorts
	v.Campaigns = nil // served by /v1/campaigns
	for _, f := range []*float64{&v.RetentionRate, &v.ChurnRate, &v.AverageOrder, &v.PurchaseFreq, &v.RepeatRate,
		&v.AverageCLV, &v.AverageHistoric, &v.AverageChurnRisk, &v.CSAT} {
		*f = finite(*f)
	}
	v.Segments, v.ChurnLevels, v.Tiers = nonNil(snap.Segments), nonNil(snap.ChurnLevels), nonNil(snap.Tiers)
	v.CLV = append([]kpi.Bucket{}, snap.CLV...)
	return v, nil
}

// Cohorts returns the latest snapshot's cohorts (ErrNotReady before the first).
func (s *Service) Cohorts(context.Context) (*CohortsView, error) {
	snap := s.d.KPIs.Latest()
	if snap == nil {
		return nil, errNoSnapshot
	}
	v := &CohortsView{ComputedAt: snap.ComputedAt, AsOf: snap.AsOf, Cohorts: make([]kpi.Cohort, 0, len(snap.Cohorts))}
	for _, c := range snap.Cohorts {
		r := make([]float64, len(c.Retention))
		for i, x := range c.Retention {
			r[i] = finite(x)
		}
		v.Cohorts = append(v.Cohorts, kpi.Cohort{Month: c.Month, Size: c.Size, Retention: r})
	}
	return v, nil
}

func ptr[T any](v T) *T { return &v }

// finite maps NaN and ±Inf (which JSON cannot carry) to 0.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

func round4(x float64) float64 { return finite(math.Round(x*1e4) / 1e4) }

func nonNil(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}
