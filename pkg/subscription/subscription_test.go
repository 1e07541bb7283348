package subscription

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/clvstream/clvstream/pkg/clv"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

var t0 = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)

var month = event.PeriodMonth.Duration()

// betaSample draws from Beta(a, b) as X/(X+Y) with gamma variates
// (Marsaglia–Tsang, with the a < 1 boost).
func betaSample(r *rand.Rand, a, b float64) float64 {
	x, y := gammaSample(r, a), gammaSample(r, b)
	return x / (x + y)
}

func gammaSample(r *rand.Rand, a float64) float64 {
	if a < 1 {
		return gammaSample(r, a+1) * math.Pow(r.Float64(), 1/a)
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		if u := r.Float64(); math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

// simulate returns the states, as of end, of n monthly subscribers who
// start uniformly over the first 24 months, renew each month with
// probability 1 − θ, θ ~ Beta(a, b), and cancel (an explicit event, a few
// days into the last period) otherwise. Renewal events arrive up to a day
// late and one in ten is lost. The lives are drawn to month 40 whatever
// end is, so the same seed gives the same subscribers at every end.
func simulate(seed uint64, n int, a, b float64, end time.Time) []*customer.State {
	r := rand.New(rand.NewPCG(seed, 5))
	horizon := t0.Add(40 * month)
	var out []*customer.State
	for i := 0; i < n; i++ {
		id := fmt.Sprint("c", i)
		st := &customer.State{ID: id}
		theta := betaSample(r, a, b)
		start := t0.Add(time.Duration(r.Float64() * float64(24*month)))
		apply := func(typ event.Type, at time.Time, sub event.Subscription) {
			if at.After(end) {
				return
			}
			sub.ID = "s-" + id
			st.Apply(event.Event{ID: fmt.Sprint(id, typ, at.Unix()), Type: typ, CustomerID: id, OccurredAt: at, Subscription: sub}, 0.3)
		}
		apply(event.SubscriptionStarted, start, event.Subscription{Plan: "pro", Period: event.PeriodMonth, Price: 1990, HasPrice: true})
		for k := 1; ; k++ {
			cancel := r.Float64() < theta
			late, lost, day := time.Duration(r.IntN(24))*time.Hour, r.IntN(10) == 0, time.Duration(r.IntN(20)+1)*24*time.Hour
			if cancel {
				apply(event.SubscriptionCancelled, start.Add(time.Duration(k-1)*month+day), event.Subscription{})
				break
			}
			at := start.Add(time.Duration(k) * month)
			if at.After(horizon) {
				break
			}
			if !lost {
				apply(event.SubscriptionRenewed, at.Add(late), event.Subscription{})
			}
		}
		out = append(out, st)
	}
	return out
}

func rowsOf(sts []*customer.State, asOf time.Time) []Row {
	var rows []Row
	for _, st := range sts {
		rows = Rows(st, asOf, rows)
	}
	return rows
}

// TestFitRecoversSimulatedPopulation: on 4,000 simulated monthly
// subscribers with θ ~ Beta(0.8, 2.5), with late and lost renewal events,
// the fit on the states recovers α and β within 15 %.
func TestFitRecoversSimulatedPopulation(t *testing.T) {
	end := t0.Add(30 * month)
	sts := simulate(1, 4000, 0.8, 2.5, end)
	m, err := Fit(context.Background(), rowsOf(sts, end), Config{})
	if err != nil {
		t.Fatal(err)
	}
	f, ok := m.Periods[event.PeriodMonth]
	if !ok {
		t.Fatalf("no monthly fit: %+v", m)
	}
	t.Logf("monthly fit: %+v", f)
	if math.Abs(f.Alpha-0.8)/0.8 > 0.15 || math.Abs(f.Beta-2.5)/2.5 > 0.15 {
		t.Errorf("α=%.3f β=%.3f, want 0.8 and 2.5 within 15%%", f.Alpha, f.Beta)
	}
}

// TestHoldoutBeatsConstantRetention: fitted on the states as of month 20,
// the model predicts how many of the then active subscribers are still
// subscribed at month 26 better than a constant renewal rate estimated on
// the same data (renewals ÷ renewal decisions), which ignores that the
// subscribers still there are the loyal ones.
func TestHoldoutBeatsConstantRetention(t *testing.T) {
	cal, end := t0.Add(20*month), t0.Add(26*month)
	var errModel, errBase float64
	for seed := uint64(1); seed <= 3; seed++ {
		past := simulate(seed+10, 3000, 0.7, 1.6, cal)
		full := simulate(seed+10, 3000, 0.7, 1.6, end)
		m, err := Fit(context.Background(), rowsOf(past, cal), Config{})
		if err != nil {
			t.Fatal(err)
		}
		sbg, ok := m.For(event.PeriodMonth)
		if !ok {
			t.Fatalf("no fit: %+v", m)
		}
		var decisions, renewals float64
		for _, r := range rowsOf(past, cal) {
			renewals += float64(r.Periods)
			decisions += float64(r.Periods)
			if r.Churned {
				renewals--
			}
		}
		keep := renewals / decisions
		var predModel, predBase, actual float64
		for i, st := range past {
			sc := Evaluate(st, cal, m, end.Sub(cal), Config{})
			if sc.Status != customer.SubActive {
				continue
			}
			k := renewalsWithin(&st.Subscriptions[sc.Primary], cal.UnixMilli(), end.Sub(cal).Milliseconds())
			predModel += sbg.Survival(sc.Renewals+k) / sbg.Survival(sc.Renewals)
			predBase += math.Pow(keep, float64(k))
			if s := full[i].SubscriptionFeatures(end); s.Status == customer.SubActive {
				actual++
			}
		}
		t.Logf("seed %d: still subscribed after 6 months: actual %.0f, sBG %.0f, constant rate %.3f → %.0f", seed, actual, predModel, keep, predBase)
		errModel += math.Abs(predModel-actual) / actual
		errBase += math.Abs(predBase-actual) / actual
	}
	t.Logf("mean relative error: sBG %.3f, constant retention %.3f", errModel/3, errBase/3)
	if errModel >= errBase || errModel/3 > 0.1 {
		t.Errorf("holdout error sBG %.3f, baseline %.3f: want sBG below the baseline and under 10%%", errModel/3, errBase/3)
	}
}

// TestEvaluate checks the scores of one subscriber against the closed
// forms, through its life.
func TestEvaluate(t *testing.T) {
	m := &Model{Periods: map[event.Period]PeriodFit{event.PeriodMonth: {Alpha: 0.7041, Beta: 1.1820, Converged: true}}}
	sbg, _ := m.For(event.PeriodMonth)
	st := &customer.State{ID: "c1"}
	ev := func(typ event.Type, at time.Time, sub event.Subscription) {
		sub.ID = "s1"
		st.Apply(event.Event{ID: fmt.Sprint(typ, at.Unix()), Type: typ, CustomerID: "c1", OccurredAt: at, Subscription: sub}, 0.3)
	}
	if sc := Evaluate(st, t0, m, 90*24*time.Hour, Config{}); sc.Status != customer.SubNone || sc.ChurnProbability != 0 || !math.IsNaN(sc.RenewalProbability) {
		t.Errorf("no subscription: %+v", sc)
	}
	ev(event.SubscriptionStarted, t0, event.Subscription{Plan: "pro", Period: event.PeriodMonth, Price: 1000, HasPrice: true})
	ev(event.SubscriptionRenewed, t0.Add(month), event.Subscription{})
	ev(event.SubscriptionRenewed, t0.Add(2*month), event.Subscription{})
	now := t0.Add(2*month + 10*24*time.Hour)
	sc := Evaluate(st, now, m, 90*24*time.Hour, Config{})
	// 2 renewals; renewal dates in the next 90 days: months 3, 4 and 5.
	wantChurn := 1 - sbg.Survival(5)/sbg.Survival(2)
	d := math.Pow(1.1, 1.0/12) - 1
	if sc.Status != customer.SubActive || sc.Renewals != 2 || sc.Plan != "pro" || math.Abs(sc.RenewalProbability-(1.182+2)/(0.7041+1.182+2)) > 1e-12 ||
		math.Abs(sc.ChurnProbability-wantChurn) > 1e-12 || math.Abs(sc.ResidualValue-1000*sbg.DERL(2, d)) > 1e-6 ||
		math.Abs(sc.ExpectedRenewals-sbg.ExpectedRenewalsWithin(2, 36)) > 1e-12 || sc.MonthlyRevenue != 1000 {
		t.Errorf("active: %+v (want churn %v)", sc, wantChurn)
	}
	t.Logf("active after 2 renewals: renewal %.3f, churn in 90 days %.3f, expected renewals in 3 years %.2f, residual value %.0f (DERL %.2f at %.4f/month)",
		sc.RenewalProbability, sc.ChurnProbability, sc.ExpectedRenewals, sc.ResidualValue, sbg.DERL(2, d), d)
	if sc := Evaluate(st, now, nil, 90*24*time.Hour, Config{}); !math.IsNaN(sc.ChurnProbability) || sc.ResidualValue != 0 || sc.Modelled {
		t.Errorf("without a model: %+v", sc)
	}
	ev(event.SubscriptionCancelled, now, event.Subscription{})
	if sc := Evaluate(st, now.Add(time.Hour), m, 90*24*time.Hour, Config{}); sc.Status != customer.SubCancelling || sc.ChurnProbability != 1 || sc.ResidualValue != 0 {
		t.Errorf("cancelling: %+v", sc)
	}
	if e := Edges(st, now); len(e) != 2 || !e[0].Equal(t0.Add(3*month).Truncate(time.Millisecond)) {
		t.Errorf("edges %v", e)
	}
	if sc := Evaluate(st, t0.Add(4*month), m, 90*24*time.Hour, Config{}); sc.Status != customer.SubCancelled || sc.ChurnProbability != 1 {
		t.Errorf("cancelled: %+v", sc)
	}
}

// TestFitSkips: too few subscriptions or no cancellation yet is a reason,
// not an error.
func TestFitSkips(t *testing.T) {
	rows := []Row{{Period: event.PeriodYear, SBGRow: clv.SBGRow{Periods: 1}}}
	for i := 0; i < 40; i++ {
		rows = append(rows, Row{Period: event.PeriodMonth, SBGRow: clv.SBGRow{Periods: i % 5}})
	}
	m, err := Fit(context.Background(), rows, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Periods) != 0 || m.Skipped[event.PeriodYear] == "" || m.Skipped[event.PeriodMonth] == "" {
		t.Errorf("%+v", m)
	}
	t.Logf("skipped: %v", m.Skipped)
	if m, _ := Fit(context.Background(), nil, Config{}); m != nil {
		t.Errorf("no rows: %+v", m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rows = append(rows, Row{Period: event.PeriodMonth, SBGRow: clv.SBGRow{Periods: 2, Churned: true}})
	if _, err := Fit(ctx, rows, Config{}); err == nil {
		t.Error("cancelled context: no error")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).WithDefaults().Validate("scoring.subscriptions."); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{{AnnualDiscount: -1, Horizon: 24 * time.Hour, MinSubscribers: 2}, {AnnualDiscount: 0.1, Horizon: time.Hour, MinSubscribers: 2}, {AnnualDiscount: 0.1, Horizon: 24 * time.Hour, MinSubscribers: 1}} {
		if err := c.Validate("scoring.subscriptions."); err == nil {
			t.Errorf("%+v: no error", c)
		} else {
			t.Log(err)
		}
	}
}

// BenchmarkEvaluate: the scores of a monthly subscriber after 12 renewals,
// with the residual value (a scoring) and without (a due-time probe).
func BenchmarkEvaluate(b *testing.B) {
	m := &Model{Periods: map[event.Period]PeriodFit{event.PeriodMonth: {Alpha: 0.7041, Beta: 1.1820, Converged: true}}}
	st := &customer.State{ID: "c1"}
	for k := 0; k <= 12; k++ {
		typ := event.SubscriptionRenewed
		if k == 0 {
			typ = event.SubscriptionStarted
		}
		st.Apply(event.Event{ID: fmt.Sprint(k), Type: typ, CustomerID: "c1", OccurredAt: t0.Add(time.Duration(k) * month),
			Subscription: event.Subscription{ID: "s", Plan: "pro", Period: event.PeriodMonth, Price: 1990, HasPrice: true}}, 0.3)
	}
	now := t0.Add(12*month + 24*time.Hour)
	for _, c := range []struct {
		name string
		fn   func(*customer.State, time.Time, *Model, time.Duration, Config) Score
	}{{"score", Evaluate}, {"probe", EvaluateStatus}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				c.fn(st, now, m, 90*24*time.Hour, Config{})
			}
		})
	}
}
