package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/clvstream/clvstream/internal/kpi"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/query"
	"github.com/clvstream/clvstream/internal/refit"
	"github.com/clvstream/clvstream/internal/scoring"
	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/internal/testkit"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

const testToken = "test-token-0123456789abcdef"

type okReady struct{}

func (okReady) Ready(context.Context) error { return nil }

// stubQuery answers every query with nothing, or panics.
type stubQuery struct{ panics atomic.Bool }

func (s *stubQuery) Customer(context.Context, string) (*query.CustomerView, error) {
	if s.panics.Load() {
		var m map[string]int
		m["boom"]++ // a nil-map write: a real defect, not a deliberate panic(...)
	}
	return nil, nil
}
func (s *stubQuery) Segments(context.Context) (*query.SegmentsView, error) {
	return &query.SegmentsView{Segments: []query.SegmentInfo{}}, nil
}
func (s *stubQuery) Model(context.Context) (*query.ModelView, error) { return nil, nil }
func (s *stubQuery) KPIs(context.Context) (*query.KPIView, error) {
	return nil, errors.New("unexpected failure with internal detail")
}
func (s *stubQuery) Cohorts(context.Context) (*query.CohortsView, error) {
	return nil, query.ErrStore
}
func (s *stubQuery) Campaigns(context.Context) (*query.CampaignsView, error) {
	return nil, query.ErrStore
}

// stubKPIs is a KPI source whose snapshot the test sets.
type stubKPIs struct{ p atomic.Pointer[kpi.Snapshot] }

func (s *stubKPIs) Latest() *kpi.Snapshot { return s.p.Load() }

// exchange is one HTTP request and its answer.
type exchange struct {
	code   int
	header http.Header
	body   []byte
}

func (r exchange) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// client talks to a served Server.
type client struct {
	t    testing.TB
	base string
	spec *openAPI
}

// do sends method path with the Authorization header auth (none when
// empty). route is the template the path must match, for the OpenAPI
// check of /v1 responses ("" for none).
func (c *client) do(method, path, auth, route string) exchange {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := exchange{code: resp.StatusCode, header: resp.Header, body: b}
	if strings.HasPrefix(path, "/v1/") {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			c.t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
		if route != "" && method == http.MethodGet {
			c.spec.conforms(c.t, method, route, r.code, b)
		}
	}
	return r
}

func (c *client) get(path, route string) exchange {
	return c.do("GET", path, "Bearer "+testToken, route)
}

// start serves srv on a free port and stops it at cleanup.
func start(t testing.TB, srv *Server) *client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &client{t: t, base: "http://" + ln.Addr().String(), spec: loadSpec(t)}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func purchase(cust, order, when string, minor int64) event.Event {
	return event.Event{ID: "e-" + order, Type: event.Purchase, CustomerID: cust, OccurredAt: at(when), OrderID: order, Amount: minor, Currency: "USD"}
}

// fixture is a Redis holding customer states committed as the pipeline
// commits them, and the query service over it.
type fixture struct {
	store  *state.Store
	scorer *scoring.Scorer
	part   stream.Partitioner
	models *refit.Store
	watch  *refit.Watcher
	kpis   *stubKPIs
	q      *query.Service
	now    time.Time
	parts  int
	states map[string]*customer.State
}

const partitions = 4

func newFixture(t *testing.T) *fixture {
	t.Helper()
	rdb, prefix := testkit.Redis(t)
	// MinPopulationRepeats 1: the baseline churn model uses the observed
	// population gap of the model in force, so the test sees whether the
	// API uses it.
	scorer, err := scoring.New(scoring.Config{MinPopulationRepeats: 1}, segment.DefaultRuleSet())
	if err != nil {
		t.Fatal(err)
	}
	part, err := stream.NewPartitioner("murmur2")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		store: state.New(rdb, prefix, time.Minute), scorer: scorer, part: part,
		models: refit.NewStore(rdb, prefix), kpis: &stubKPIs{},
		now: at("2026-06-01T12:00:00Z"), parts: partitions, states: map[string]*customer.State{},
	}
	f.watch = refit.NewWatcher(f.models, time.Hour, zap.NewNop(), refit.NewMetrics(prometheus.NewRegistry()))
	f.q, err = query.New(query.Deps{
		Store: f.store, PartitionOf: func(id string, n int) int { return stream.PartitionOf(part, id, n) },
		Scorer: scorer, Rules: segment.DefaultRuleSet(),
		Models: f.watch, KPIs: f.kpis, Clock: func(context.Context) time.Time { return f.now },
		BaseCurrency: "USD", MinorPerMajor: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// commit applies the events to fresh states, scores them as the pipeline
// does (segment, entry time, tier, version) and commits them, one batch per
// partition.
func (f *fixture) commit(t *testing.T, evs ...event.Event) {
	t.Helper()
	ctx := context.Background()
	batches := map[int]*state.Batch{}
	for _, e := range evs {
		st := f.states[e.CustomerID]
		if st == nil {
			st = &customer.State{ID: e.CustomerID}
			f.states[e.CustomerID] = st
		}
		if st.Apply(e, 0.3) == customer.Applied {
			st.Version++
		}
	}
	for id, st := range f.states {
		p := stream.PartitionOf(f.part, id, f.parts)
		b := batches[p]
		if b == nil {
			b = &state.Batch{Gen: 1}
			batches[p] = b
		}
		res := f.scorer.Score(st, f.now, nil)
		st.Segment, st.SegmentSince, st.Tier = res.Segment, f.now.Add(-48*time.Hour).UnixMilli(), res.Tier
		b.States = append(b.States, st)
	}
	for p, b := range batches {
		if _, err := f.store.Claim(ctx, p, 1, "test"); err != nil {
			t.Fatal(err)
		}
		if err := f.store.Commit(ctx, p, *b); err != nil {
			t.Fatal(err)
		}
	}
}

// baseline publishes a baseline model carrying the population aggregate of
// the fixture's customers, as the fitter does, and returns it.
func (f *fixture) baseline(t *testing.T) *model.Record {
	t.Helper()
	ctx := context.Background()
	rec := model.Record{Kind: model.KindBaseline, Reason: "test"}
	for _, st := range f.states {
		if n := len(st.Days); n > 1 {
			rec.PopulationSpanDays += st.Days[n-1].D - st.Days[0].D
			rec.PopulationRepeats += int64(n - 1)
		}
	}
	if ok, err := f.models.Lock(ctx, "fitter", time.Minute); err != nil || !ok {
		t.Fatalf("model lock: %v %v", ok, err)
	}
	if _, err := f.models.Publish(ctx, rec, "fitter"); err != nil {
		t.Fatal(err)
	}
	if err := f.models.Unlock(ctx, "fitter"); err != nil {
		t.Fatal(err)
	}
	if err := f.watch.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	return f.watch.Current()
}

func TestQueryAPIOverHTTPAgainstRedis(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const slashID = "shop/c 7" // a slash and a space: must be URL-encoded
	f.commit(t,
		purchase("alice", "o-1", "2026-01-10T10:00:00Z", 10000),
		purchase("alice", "o-2", "2026-02-10T10:00:00Z", 5000),
		purchase("alice", "o-3", "2026-03-10T10:00:00Z", 8000),
		event.Event{ID: "e-r1", Type: event.Refund, CustomerID: "alice", OccurredAt: at("2026-02-12T10:00:00Z"), OrderID: "o-2", RefundID: "r-1", Amount: 3000, Currency: "USD"},
		event.Event{ID: "e-t1", Type: event.TicketOpened, CustomerID: "alice", OccurredAt: at("2026-05-20T09:00:00Z"), TicketID: "t-1"},
		event.Event{ID: "e-m1", Type: event.EmailSent, CustomerID: "alice", OccurredAt: at("2026-05-25T09:00:00Z"), MessageID: "m-1"},
		event.Event{ID: "e-m2", Type: event.EmailOpened, CustomerID: "alice", OccurredAt: at("2026-05-25T10:00:00Z"), MessageID: "m-1"},
		event.Event{ID: "e-m3", Type: event.EmailSent, CustomerID: "alice", OccurredAt: at("2026-05-28T09:00:00Z"), MessageID: "m-2"},
		purchase("bob", "o-9", "2026-01-05T10:00:00Z", 20000),
		event.Event{ID: "e-x", Type: event.CustomerErased, CustomerID: "bob", OccurredAt: at("2026-04-01T00:00:00Z")},
		purchase(slashID, "o-20", "2026-05-30T10:00:00Z", 1234),
	)

	reg := prometheus.NewRegistry()
	// Before the pipeline recorded its partition count, customers cannot be
	// located: 503, not 404.
	srv, err := NewAPI("unused", reg, okReady{}, f.q, Auth{Enabled: true, Tokens: []string{"another-token-abcdefgh", testToken}}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	c := start(t, srv)
	const route = "/v1/customers/{id}"
	if r := c.get("/v1/customers/alice", route); r.code != 503 || r.header.Get("Retry-After") == "" {
		t.Fatalf("before SetPartitions: %d %s", r.code, r.body)
	}
	if err := f.store.SetPartitions(ctx, f.parts); err != nil {
		t.Fatal(err)
	}

	t.Run("auth", func(t *testing.T) {
		r := c.do("GET", "/v1/customers/alice", "", route)
		if r.code != 401 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") || r.json(t)["error"] == "" {
			t.Fatalf("no token: %d %v %s", r.code, r.header, r.body)
		}
		for _, auth := range []string{"Bearer wrong-token-0123456789", "Bearer " + testToken + "x", "Bearer " + testToken[:10], "Basic " + testToken, testToken, "Bearer"} {
			r := c.do("GET", "/v1/customers/alice", auth, route)
			if r.code != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("Authorization %q: %d %v %s", auth, r.code, r.header, r.body)
			}
		}
		for _, p := range []string{"/v1/segments", "/v1/model", "/v1/kpis", "/v1/cohorts", "/v1/nothing-here"} {
			if r := c.do("GET", p, "", ""); r.code != 401 {
				t.Errorf("%s without token: %d", p, r.code)
			}
		}
		if r := c.do("GET", "/v1/customers/alice", "bearer "+testToken, route); r.code != 200 {
			t.Errorf("lower-case scheme: %d %s", r.code, r.body)
		}
		if r := c.do("GET", "/v1/customers/alice", "Bearer another-token-abcdefgh", route); r.code != 200 {
			t.Errorf("second token: %d %s", r.code, r.body)
		}
		for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
			if r := c.do("GET", p, "", ""); r.code != 200 {
				t.Errorf("%s must stay open: %d", p, r.code)
			}
		}
	})

	t.Run("known customer", func(t *testing.T) {
		rec := f.baseline(t)
		r := c.get("/v1/customers/alice", route)
		if r.code != 200 {
			t.Fatalf("%d %s", r.code, r.body)
		}
		var v query.CustomerView
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatal(err)
		}
		st := f.states["alice"]
		want := f.scorer.Score(st, f.now, rec)
		if v.CustomerID != "alice" || v.Version != st.Version || v.Erased || !v.ScoredAt.Equal(f.now) || v.ModelVersion != "baseline" {
			t.Errorf("header fields: %+v", v)
		}
		if v.CLV != (query.CLV{Historic: "200.00", HistoricMargin: "60.00", Predicted: v.CLV.Predicted, Currency: "USD"}) || v.CLV.Predicted == "" {
			t.Errorf("clv = %+v, want net revenue 200.00 (230 - 30 refunded) and margin 60.00 (0.3 default)", v.CLV)
		}
		p := v.Purchases
		if p.NetRevenue != "200.00" || p.GrossRevenue != "230.00" || p.PurchaseDays != 3 || p.Frequency != 2 ||
			*p.FirstPurchase != "2026-01-10" || *p.LastPurchase != "2026-03-10" || p.Trailing12MSpend != "230.00" || p.AverageOrderValue != "76.67" {
			t.Errorf("purchases = %+v", p)
		}
		if v.Segment.Name != st.Segment || v.Segment.Since == nil || v.Segment.Since.UnixMilli() != st.SegmentSince || v.Segment.Reason.Rule == "" {
			t.Errorf("segment = %+v, stored %q since %d", v.Segment, st.Segment, st.SegmentSince)
		}
		if v.LoyaltyTier != "bronze" {
			t.Errorf("tier %q, want bronze (230 in 12 months)", v.LoyaltyTier)
		}
		// The model's population gap is used (29.5 days, not the default 60).
		if v.ChurnRisk.Probability != round4(want.ChurnRisk) || v.ChurnRisk.Level != want.ChurnLevel {
			t.Errorf("churn = %+v, want %v %s", v.ChurnRisk, want.ChurnRisk, want.ChurnLevel)
		}
		if noPop := f.scorer.Score(st, f.now, nil); round4(noPop.ChurnRisk) == v.ChurnRisk.Probability {
			t.Errorf("test is blind: the population does not change the churn risk")
		}
		names := map[string]bool{}
		for _, fc := range v.ChurnRisk.Factors {
			names[fc.Name] = true
		}
		// Before a fit the churn model is the identity (its signal weights
		// are fitted with the model, docs/churn.md): the purchase history
		// alone explains the risk.
		if !names["purchase_inactivity"] || len(v.ChurnRisk.Factors) != 1 {
			t.Errorf("factors = %+v", v.ChurnRisk.Factors)
		}
		if v.CLVPercentile != nil || v.ExpectedPurchases != nil || v.RFM != nil {
			t.Errorf("model figures without a model: %v %v %v", v.CLVPercentile, v.ExpectedPurchases, v.RFM)
		}
		if v.Support.OpenTickets != 1 || v.Support.CSAT != nil || v.Email.Sends <= 0 || v.Email.Opens <= 0 || v.Email.HalfLifeDays != 30 {
			t.Errorf("support %+v email %+v", v.Support, v.Email)
		}
		if v.NextOrder.AverageDaysBetweenOrders == nil || *v.NextOrder.AverageDaysBetweenOrders != 29.5 || *v.NextOrder.ExpectedDate != "2026-04-08" {
			t.Errorf("next order = %+v", v.NextOrder)
		}
		if v.PAlive <= 0 || v.PAlive >= 1 || v.ExpectedPurchasesDays != 90 {
			t.Errorf("p_alive %v days %v", v.PAlive, v.ExpectedPurchasesDays)
		}
	})

	t.Run("ids", func(t *testing.T) {
		if r := c.get("/v1/customers/"+url.PathEscape(slashID), route); r.code != 200 || r.json(t)["customer_id"] != slashID {
			t.Errorf("escaped id: %d %s", r.code, r.body)
		}
		if r := c.get("/v1/customers/nobody", route); r.code != 404 || r.json(t)["error"] != "customer not found" {
			t.Errorf("unknown: %d %s", r.code, r.body)
		}
		if r := c.get("/v1/customers/"+strings.Repeat("x", 128), route); r.code != 404 {
			t.Errorf("128 bytes: %d %s", r.code, r.body)
		}
		for _, bad := range []string{strings.Repeat("x", 200), "a%01b", "%7F", "%20%20", "%FF%FE", "a%0Ab"} {
			r := c.get("/v1/customers/"+bad, route)
			if r.code != 400 || !strings.HasPrefix(r.json(t)["error"].(string), "invalid customer id") {
				t.Errorf("id %q: %d %s", bad, r.code, r.body)
			}
		}
		if r := c.get("/v1/customers/", ""); r.code != 400 {
			t.Errorf("empty id: %d %s", r.code, r.body)
		}
	})

	t.Run("erased", func(t *testing.T) {
		r := c.get("/v1/customers/bob", route)
		m := r.json(t)
		if r.code != 410 || m["erased"] != true || len(m) != 2 {
			t.Fatalf("erased: %d %s", r.code, r.body)
		}
		for _, leak := range []string{"200", "2026", "bob", "version"} {
			if strings.Contains(string(r.body), leak) {
				t.Errorf("erased answer discloses %q: %s", leak, r.body)
			}
		}
	})

	t.Run("model", func(t *testing.T) {
		if r := c.get("/v1/model", "/v1/model"); r.code != 200 || r.json(t)["kind"] != "baseline" {
			t.Fatalf("with the baseline published by the known-customer test: %d %s", r.code, r.body)
		}
		if ok, err := f.models.Lock(ctx, "fitter", time.Minute); err != nil || !ok {
			t.Fatalf("lock: %v %v", ok, err)
		}
		cuts := make([]float64, 99)
		for i := range cuts {
			cuts[i] = float64(i+1) * 5
		}
		rec := model.Record{
			Kind: model.KindMBGNBD, FittedAt: f.now, AsOf: f.now, WindowStart: at("2025-01-01T00:00:00Z"), TimeUnitDays: 7,
			Params: model.Params{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614}, LogLikelihood: -9582.4, Converged: true, Iterations: 31,
			GammaGamma: &model.GammaGamma{P: 6.25, Q: 3.74, V: 15.44}, Customers: 2357, RepeatBuyers: 946,
			Holdout: &model.Holdout{Days: 273, Predicted: 1653.4, Actual: 1882, Error: 0.12},
			RFM:     model.CutPoints{Recency: [4]float64{30, 60, 120, 240}, Frequency: [4]float64{0, 1, 2, 4}, Monetary: [4]float64{20, 50, 100, 200}},
			CLVCuts: cuts, HorizonMonths: 12, MonthlyDiscount: 0.01,
		}
		if _, err := f.models.Publish(ctx, rec, "fitter"); err != nil {
			t.Fatal(err)
		}
		if err := f.watch.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		r := c.get("/v1/model", "/v1/model")
		m := r.json(t)
		if r.code != 200 || m["label"] != "mbgnbd-v2" || m["kind"] != "mbgnbd" || m["version"] != 2.0 {
			t.Fatalf("after publish: %d %s", r.code, r.body)
		}
		// Customers are now scored against it.
		var v query.CustomerView
		r = c.get("/v1/customers/alice", route)
		if err := json.Unmarshal(r.body, &v); err != nil || r.code != 200 {
			t.Fatalf("%d %v %s", r.code, err, r.body)
		}
		if v.ModelVersion != "mbgnbd-v2" || v.CLVPercentile == nil || v.ExpectedPurchases == nil || v.RFM == nil || v.RFM.Score != v.RFM.R+v.RFM.F+v.RFM.M {
			t.Errorf("scored with the model: %s", r.body)
		}
	})

	t.Run("kpis, cohorts and segments", func(t *testing.T) {
		for _, p := range []string{"/v1/kpis", "/v1/cohorts", "/v1/campaigns"} {
			r := c.get(p, p)
			if r.code != 503 || r.header.Get("Retry-After") == "" || !strings.Contains(r.json(t)["error"].(string), "no KPI snapshot") {
				t.Errorf("%s before a snapshot: %d %s", p, r.code, r.body)
			}
		}
		r := c.get("/v1/segments", "/v1/segments")
		m := r.json(t)
		segs := m["segments"].([]any)
		first := segs[0].(map[string]any)
		if r.code != 200 || len(segs) != 12 || first["name"] != "cancelling" || first["order"] != 1.0 || first["customers"] != nil ||
			first["description"] == "" || m["computed_at"] != nil {
			t.Errorf("segments before a snapshot: %d %s", r.code, r.body)
		}
		snap, err := kpi.Compute(ctx, f.store, f.scorer, f.watch.Current(), f.now, kpi.Config{})
		if err != nil {
			t.Fatal(err)
		}
		f.kpis.p.Store(&snap)
		r = c.get("/v1/kpis", "/v1/kpis")
		m = r.json(t)
		if r.code != 200 || m["customers"] != 2.0 || m["erased"] != 1.0 || m["currency"] != "USD" {
			t.Errorf("kpis: %d %s", r.code, r.body)
		}
		if _, ok := m["cohorts"]; ok {
			t.Errorf("kpis carry the cohorts: %s", r.body)
		}
		r = c.get("/v1/cohorts", "/v1/cohorts")
		if m = r.json(t); r.code != 200 || len(m["cohorts"].([]any)) == 0 {
			t.Errorf("cohorts: %d %s", r.code, r.body)
		}
		r = c.get("/v1/campaigns", "/v1/campaigns")
		if m = r.json(t); r.code != 200 || m["window_days"] != 7.0 || m["campaigns"] == nil {
			t.Errorf("campaigns: %d %s", r.code, r.body)
		}
		r = c.get("/v1/segments", "/v1/segments")
		m = r.json(t)
		total := 0.0
		for _, s := range m["segments"].([]any) {
			n, _ := s.(map[string]any)["customers"].(float64)
			total += n
		}
		if r.code != 200 || total != 2 || m["erased_customers"] != 1.0 || m["computed_at"] == nil {
			t.Errorf("segments with a snapshot: %d %s", r.code, r.body)
		}
	})

	t.Run("routing", func(t *testing.T) {
		r := c.do("POST", "/v1/model", "Bearer "+testToken, "")
		if r.code != 405 || r.header.Get("Allow") == "" || r.json(t)["error"] == "" {
			t.Errorf("POST: %d %v %s", r.code, r.header, r.body)
		}
		if r := c.get("/v1/nothing-here", ""); r.code != 404 || r.json(t)["error"] == "" {
			t.Errorf("unknown path: %d %s", r.code, r.body)
		}
		if r := c.get("/v1/customers/a/b", ""); r.code != 404 {
			t.Errorf("two segments: %d %s", r.code, r.body)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		r := c.do("GET", "/metrics", "", "")
		for _, want := range []string{
			`clvstream_http_requests_total{code="401",route="GET /v1/customers/{id}"}`,
			`clvstream_http_requests_total{code="200",route="GET /v1/customers/{id}"}`,
			`clvstream_http_requests_total{code="410",route="GET /v1/customers/{id}"}`,
			`clvstream_http_requests_total{code="503",route="GET /v1/kpis"}`,
			`clvstream_http_requests_total{code="404",route="/v1/"}`,
			`clvstream_http_request_duration_seconds_count{route="GET /v1/model"}`,
		} {
			if !strings.Contains(string(r.body), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if strings.Contains(string(r.body), `route="/v1/customers/alice"`) {
			t.Error("a raw path is a metric label")
		}
	})
}

func round4(x float64) float64 { return float64(int64(x*1e4+0.5)) / 1e4 }

func TestQueryAPIWithAuthDisabled(t *testing.T) {
	f := newFixture(t)
	f.commit(t, purchase("carol", "o-1", "2026-05-01T10:00:00Z", 4200))
	if err := f.store.SetPartitions(context.Background(), f.parts); err != nil {
		t.Fatal(err)
	}
	srv, err := NewAPI("unused", prometheus.NewRegistry(), okReady{}, f.q, Auth{Enabled: false}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	c := start(t, srv)
	r := c.do("GET", "/v1/customers/carol", "", "/v1/customers/{id}")
	if r.code != 200 || r.json(t)["clv"].(map[string]any)["historic"] != "42.00" {
		t.Fatalf("auth off: %d %s", r.code, r.body)
	}
	// A token is ignored, not rejected.
	if r := c.do("GET", "/v1/segments", "Bearer whatever", "/v1/segments"); r.code != 200 {
		t.Fatalf("auth off with a token: %d %s", r.code, r.body)
	}
}

func TestAuthConfigurationIsChecked(t *testing.T) {
	for _, a := range []Auth{
		{Enabled: true},
		{Enabled: true, Tokens: []string{"short"}},
		{Enabled: true, Tokens: []string{"has a space in the middle!"}},
		{Enabled: true, Tokens: []string{testToken, ""}},
	} {
		if _, err := NewAPI("unused", prometheus.NewRegistry(), okReady{}, &stubQuery{}, a, zap.NewNop()); err == nil {
			t.Errorf("%+v accepted", a)
		}
	}
	if _, err := NewAPI("unused", prometheus.NewRegistry(), okReady{}, nil, Auth{}, zap.NewNop()); err == nil {
		t.Error("nil query accepted")
	}
}

func TestPanicsAndUnexpectedErrorsAreGeneric500s(t *testing.T) {
	q := &stubQuery{}
	q.panics.Store(true)
	reg := prometheus.NewRegistry()
	srv, err := NewAPI("unused", reg, okReady{}, q, Auth{Enabled: true, Tokens: []string{testToken}}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	c := start(t, srv)
	r := c.get("/v1/customers/x", "/v1/customers/{id}")
	if r.code != 500 || r.json(t)["error"] != "internal error" {
		t.Fatalf("panic: %d %s", r.code, r.body)
	}
	// The server lives on; an unexpected error shows no detail; a store
	// error is a retryable 503.
	r = c.get("/v1/kpis", "/v1/kpis")
	if r.code != 500 || strings.Contains(string(r.body), "detail") {
		t.Fatalf("unexpected error: %d %s", r.code, r.body)
	}
	if r := c.get("/v1/cohorts", "/v1/cohorts"); r.code != 503 || r.header.Get("Retry-After") == "" {
		t.Fatalf("store error: %d %s", r.code, r.body)
	}
	q.panics.Store(false)
	if r := c.get("/v1/customers/x", "/v1/customers/{id}"); r.code != 404 {
		t.Fatalf("after the panic: %d %s", r.code, r.body)
	}
	// Two servers on one registry share the HTTP metrics.
	if _, err := NewAPI("unused", reg, okReady{}, q, Auth{}, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
}
