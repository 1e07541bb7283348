package obstest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/clvstream/clvstream/internal/app"
	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/internal/obs"
	"github.com/clvstream/clvstream/internal/refit"
	"github.com/clvstream/clvstream/internal/stream"
	"github.com/clvstream/clvstream/internal/testkit"
)

// prom is the Prometheus TestMain started (scripts/prometheus.sh).
var prom struct {
	url     string // http://127.0.0.1:19090
	target  string // host:port Prometheus scrapes; the app must listen there
	missing error  // Prometheus could not be installed: skip (or fail when required)
	broken  error  // installed but would not start or stop: fail
}

func TestMain(m *testing.M) {
	script, _ := filepath.Abs(filepath.Join("..", "..", "scripts", "prometheus.sh"))
	port := os.Getenv("CLV_PROMETHEUS_PORT")
	if port == "" {
		port = "19090"
	}
	prom.url = "http://127.0.0.1:" + port
	started := false
	if out, err := exec.Command(script, "install").CombinedOutput(); err != nil {
		prom.missing = fmt.Errorf("scripts/prometheus.sh install: %v\n%s", err, out)
	} else if target, err := freeAddr(); err != nil {
		prom.broken = err
	} else {
		prom.target = target
		// Prometheus needs a static target: the app is started on this
		// address by the test, Prometheus scrapes it from now on.
		if out, err := exec.Command(script, "up", target).CombinedOutput(); err != nil {
			prom.broken = fmt.Errorf("scripts/prometheus.sh up %s: %v\n%s", target, err, out)
		} else {
			started = true
		}
	}
	code := m.Run()
	if started {
		if out, err := exec.Command(script, "down").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "scripts/prometheus.sh down: %v\n%s", err, out)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// freeAddr returns a loopback address with a port that was free a moment
// ago (listen, note the port, close).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func needPrometheus(t *testing.T) {
	t.Helper()
	if prom.broken != nil {
		t.Fatal(prom.broken)
	}
	if prom.missing != nil {
		if os.Getenv("CLV_TEST_REQUIRE_SERVICES") != "" {
			t.Fatalf("Prometheus is required (CLV_TEST_REQUIRE_SERVICES is set) but could not be installed: %v", prom.missing)
		}
		t.Skipf("no Prometheus (it could not be installed from apt): %v", prom.missing)
	}
}

// TestPromtoolCheck runs promtool on the rule file and on prometheus.yml
// (a copy whose rule_files point at the repository's rules).
func TestPromtoolCheck(t *testing.T) {
	needPrometheus(t)
	rules := repo(t, "deployments/prometheus/rules/clvstream.yml")
	if out, err := exec.Command("promtool", "check", "rules", rules).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
	conf := string(readRepo(t, "deployments/prometheus/prometheus.yml"))
	if !strings.Contains(conf, "/etc/prometheus/rules/") {
		t.Fatalf("prometheus.yml does not load rules from /etc/prometheus/rules/ (the docker-compose mount)")
	}
	tmp := filepath.Join(t.TempDir(), "prometheus.yml")
	conf = strings.ReplaceAll(conf, "/etc/prometheus/rules/", filepath.Dir(rules)+"/")
	if err := os.WriteFile(tmp, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("promtool", "check", "config", tmp).CombinedOutput()
	if err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "1 rule files found") {
		t.Errorf("promtool check config did not find the rule file:\n%s", out)
	}
}

// promResult is an instant query's answer; a scalar answer (time(), a
// literal) is returned as one unlabelled sample.
type promResult struct {
	Status    string `json:"status"`
	Error     string `json:"error"`
	ErrorType string `json:"errorType"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Raw        json.RawMessage `json:"result"`
		Result     []sample        `json:"-"`
	} `json:"data"`
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (r promResult) values() []float64 {
	var out []float64
	for _, s := range r.Data.Result {
		if v, ok := s.Value[1].(string); ok {
			f, _ := strconv.ParseFloat(v, 64)
			out = append(out, f)
		}
	}
	return out
}

var httpc = &http.Client{Timeout: 10 * time.Second}

func promQuery(t testing.TB, expr string) promResult {
	t.Helper()
	resp, err := httpc.PostForm(prom.url+"/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		t.Fatalf("query %q: %v", expr, err)
	}
	defer resp.Body.Close()
	var r promResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("query %q: decode: %v", expr, err)
	}
	switch r.Data.ResultType {
	case "vector":
		err = json.Unmarshal(r.Data.Raw, &r.Data.Result)
	case "scalar":
		var v [2]any
		err = json.Unmarshal(r.Data.Raw, &v)
		r.Data.Result = []sample{{Value: v}}
	}
	if err != nil {
		t.Fatalf("query %q: decode %s: %v", expr, r.Data.ResultType, err)
	}
	return r
}

func promGet(t testing.TB, path string, into any) {
	t.Helper()
	resp, err := httpc.Get(prom.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: decode: %v", path, err)
	}
}

// waitQuery polls expr until it returns at least one sample for which ok
// holds (any sample when ok is nil).
func waitQuery(t testing.TB, timeout time.Duration, expr string, ok func(float64) bool) {
	t.Helper()
	testkit.Eventually(t, timeout, "Prometheus: "+expr, func() bool {
		for _, v := range promQuery(t, expr).values() {
			if ok == nil || ok(v) {
				return true
			}
		}
		return false
	})
}

// service names the topics and keys of the test instance, for appliedAll.
type service struct {
	brokers []string
	prefix  string
	parts   int
	topics  stream.Topics
}

// TestDashboardAndRulesOnPrometheus runs clvstream against the test Redis
// and Kafka with a simulated year of traffic, lets Prometheus scrape it,
// and asks every dashboard query and every alert's signals for data.
func TestDashboardAndRulesOnPrometheus(t *testing.T) {
	needPrometheus(t)
	began := time.Now()
	rdb, prefix := testkit.Redis(t) // skips (or fails when required) without Redis
	brokers, real := testkit.Kafka(t)
	if !real {
		t.Log("WARNING: the in-process kfake broker stands in for Kafka (CLV_TEST_KAFKA_BROKERS is not set)")
	}
	const parts = 4
	base := testkit.Unique("obs")
	topics := stream.Topics{Purchases: base + ".purchases", Tickets: base + ".tickets", Emails: base + ".emails",
		SegmentChanges: base + ".segment-changes", DeadLetter: base + ".dead-letter"}
	testkit.CreateTopics(t, brokers, parts, topics.Purchases, topics.Tickets, topics.Emails, topics.SegmentChanges, topics.DeadLetter)

	// Redis through a proxy, to make it fail for a moment (Redis errors
	// must show on the dashboard and in the alert).
	proxy := newFlakyProxy(t, rdb.Options().Addr)

	var cfg config.Config
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.Topics = topics
	cfg.Kafka.GroupID = base + "-group"
	cfg.Kafka.BatchSize = 200
	cfg.Kafka.FlushInterval = 50 * time.Millisecond
	cfg.Kafka.RescoreInterval = 100 * time.Millisecond
	cfg.Kafka.SessionTimeout = 6 * time.Second
	cfg.Kafka.RebalanceTimeout = 6 * time.Second
	cfg.Kafka.ShutdownTimeout = 10 * time.Second
	cfg.Redis.Addr = proxy.addr()
	cfg.Redis.KeyPrefix = prefix
	cfg.HTTP.Addr = prom.target
	cfg.Input.Rates = map[string]string{"EUR": "1.10"}
	cfg.HTTP.APITokens = []string{apiToken}
	cfg.KPI.Interval = 5 * time.Second
	cfg.Log.Level = "warn"
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)), obs.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.Run(ctx); err != nil {
			t.Errorf("clvstream run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	appURL := "http://" + prom.target
	testkit.Eventually(t, 60*time.Second, "clvstream /readyz", func() bool { return httpStatus(appURL+"/readyz") == 200 })
	started := time.Now()
	// Prometheus has scraped the instance: counters seen from here on
	// have a sample before their increments.
	waitQuery(t, 30*time.Second, `up{job="clvstream"}`, func(v float64) bool { return v == 1 })

	// A simulated year, time-ordered per topic, then the bad records.
	part, _ := stream.NewPartitioner(cfg.Kafka.Partitioner)
	gen := newTraffic(topics, part, parts, 400)
	year := gen.year()
	n := 0
	for _, ms := range year {
		n += len(ms)
	}
	prod := newProducer(t, brokers, part)
	pctx, pcancel := context.WithTimeout(ctx, 90*time.Second)
	defer pcancel()
	if err := prod.write(pctx, year); err != nil {
		t.Fatal(err)
	}
	if err := prod.write(pctx, gen.bad(time.Now())); err != nil {
		t.Fatal(err)
	}
	t.Logf("produced %d events of a simulated year in %s", n, time.Since(started).Round(time.Millisecond))
	svc := service{brokers: brokers, prefix: prefix, parts: parts, topics: topics}
	testkit.Eventually(t, 90*time.Second, "the year applied and the outboxes drained", func() bool {
		return testkit.AppliedAll(t, rdb, svc.prefix, svc.brokers, svc.topics.Inputs(), svc.parts)
	})
	t.Logf("applied after %s", time.Since(started).Round(time.Millisecond))

	// Live traffic from now on: a few events every 200 ms, and a bad
	// record now and then, until the end of the test.
	liveCtx, stopLive := context.WithCancel(ctx)
	liveDone := make(chan struct{})
	go func() {
		defer close(liveDone)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-liveCtx.Done():
				return
			case <-tick.C:
			}
			batch := gen.live(time.Now())
			if i%150 == 0 {
				for topic, ms := range gen.bad(time.Now()) {
					batch[topic] = append(batch[topic], ms[0])
				}
			}
			if err := prod.write(liveCtx, batch); err != nil && liveCtx.Err() == nil {
				t.Errorf("live traffic: %v", err)
				return
			}
		}
	}()
	defer func() { stopLive(); <-liveDone }()

	// A model fit on the year (the baseline was published at start-up,
	// with no customers yet).
	models := refit.NewStore(rdb, prefix)
	if err := models.RequestRefit(ctx); err != nil {
		t.Fatal(err)
	}
	var rec *model.Record
	testkit.Eventually(t, 60*time.Second, "a fitted model published", func() bool {
		rec, err = models.Current(ctx)
		return err == nil && rec.Fitted()
	})
	t.Logf("model %s published after %s (holdout error %.3f)", rec.Label(), time.Since(started).Round(time.Millisecond), holdoutError(rec))

	// The KPI job runs every 5 s here (kpi.interval): wait for a
	// snapshot with the customers in it, as Prometheus sees it.
	waitQuery(t, 150*time.Second, `max(clvstream_customers)`, func(v float64) bool { return v > 100 })
	waitQuery(t, 10*time.Second, `count(clvstream_cohort_retention_ratio{month="1"})`, nil)
	t.Logf("KPI snapshot scraped after %s", time.Since(started).Round(time.Millisecond))

	// Redis fails for five seconds; the pipeline retries and recovers.
	proxy.outage(5 * time.Second)
	waitQuery(t, 20*time.Second, `sum(clvstream_redis_errors_total)`, func(v float64) bool { return v > 0 })
	testkit.Eventually(t, 30*time.Second, "clvstream ready again after the Redis outage", func() bool { return httpStatus(appURL+"/readyz") == 200 })
	// Some API traffic: probes, and the query API with and without the
	// token (200s, 401s, a 404).
	for i := 0; i < 5; i++ {
		httpStatus(appURL + "/healthz")
		httpStatus(appURL + "/readyz")
		for _, path := range []string{"/v1/customers/c-0001", "/v1/customers/nobody", "/v1/kpis", "/v1/model", "/v1/segments", "/v1/cohorts"} {
			httpStatus(appURL+path, "Authorization", "Bearer "+apiToken)
		}
		httpStatus(appURL + "/v1/kpis")
	}

	time.Sleep(3 * time.Second) // a few more scrapes and rule evaluations
	for _, expr := range []string{
		`sum by (op) (clvstream_redis_errors_total)`,
		`sum by (op) (rate(clvstream_redis_errors_total[1m]))`,
		`sum(rate(clvstream_dead_letter_total[10m])) / sum(rate(clvstream_records_total[10m]))`,
		`sum by (reason) (clvstream_dead_letter_total)`,
		`sum(clvstream_records_total)`,
		`max by (segment) (clvstream_customers_by_segment)`,
		`sum by (cause) (clvstream_segment_transitions_total)`,
	} {
		t.Logf("%s = %s", expr, brief(promQuery(t, expr)))
	}

	t.Run("dashboard", func(t *testing.T) {
		for _, q := range dashboardQueries(t) {
			r := promQuery(t, q.Expr)
			switch {
			case r.Status != "success":
				t.Errorf("%s: %s: %s\n  %s", q.From, r.ErrorType, r.Error, q.Expr)
			case len(r.Data.Result) == 0:
				t.Errorf("%s: no data\n  %s", q.From, q.Expr)
			default:
				if vs := r.values(); len(vs) > 0 && allNaN(vs) {
					t.Logf("%s: NaN (no observations in the window)\n  %s", q.From, q.Expr)
				}
			}
		}
		d := loadDashboard(t)
		for _, a := range d.Annotations.List {
			if r := promQuery(t, grafanaVars(a.Expr)); r.Status != "success" {
				t.Errorf("annotation %q: %s: %s\n  %s", a.Name, r.ErrorType, r.Error, a.Expr)
			}
		}
		// The $instance variable: label_values(up{job="clvstream"}, instance).
		var lv struct {
			Data []string `json:"data"`
		}
		promGet(t, "/api/v1/label/instance/values?match[]="+url.QueryEscape(`up{job="clvstream"}`), &lv)
		if !contains(lv.Data, prom.target) {
			t.Errorf("variable instance: label_values(up{job=\"clvstream\"}, instance) = %v, want %s among them", lv.Data, prom.target)
		}
	})

	t.Run("rules", func(t *testing.T) {
		rules := loadRules(t)
		for _, r := range rules {
			name := r.Alert + r.Record
			res := promQuery(t, r.Expr)
			if res.Status != "success" {
				t.Errorf("%s: %s: %s\n  %s", name, res.ErrorType, res.Error, r.Expr)
				continue
			}
			if r.Record != "" && len(res.Data.Result) == 0 {
				t.Errorf("recording rule %s: no data\n  %s", name, r.Expr)
			}
			sigs := signals(r.Expr)
			if len(sigs) == 0 {
				t.Errorf("%s: no signal found in the expression\n  %s", name, r.Expr)
			}
			for _, s := range sigs {
				res := promQuery(t, s)
				switch {
				case res.Status != "success":
					t.Errorf("%s: signal %s: %s: %s", name, s, res.ErrorType, res.Error)
				case len(res.Data.Result) == 0:
					t.Errorf("%s: signal returns no data\n  %s", name, s)
				}
			}
		}
		// Prometheus loaded and evaluates the same rules, without errors.
		var rr struct {
			Data struct {
				Groups []struct {
					Name  string `json:"name"`
					Rules []struct {
						Name      string `json:"name"`
						Health    string `json:"health"`
						LastError string `json:"lastError"`
						State     string `json:"state"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		promGet(t, "/api/v1/rules", &rr)
		loaded := map[string]string{}
		for _, g := range rr.Data.Groups {
			for _, r := range g.Rules {
				loaded[r.Name] = r.State
				if r.Health != "ok" {
					t.Errorf("Prometheus evaluates %s with health %q: %s", r.Name, r.Health, r.LastError)
				}
			}
		}
		for _, r := range rules {
			if _, ok := loaded[r.Alert+r.Record]; !ok {
				t.Errorf("Prometheus did not load %s", r.Alert+r.Record)
			}
		}
		// The Redis outage and the misrouted records must have tripped
		// their alerts; a healthy instance must not trip the others.
		for _, name := range []string{"ClvstreamRedisErrors", "ClvstreamMisroutedRecords"} {
			if s := loaded[name]; s != "pending" && s != "firing" {
				t.Errorf("%s is %q after the Redis outage and misrouted records, want pending or firing", name, s)
			}
		}
		for _, name := range []string{"ClvstreamInstanceDown", "ClvstreamNoInstanceUp", "ClvstreamNoPartitionsAssigned",
			"ClvstreamConsumerLagGrowing", "ClvstreamOutboxBacklog", "ClvstreamDeadLetterRatio", "ClvstreamModelStale",
			"ClvstreamKPISnapshotStale", "ClvstreamModelFitsRejected"} {
			if s := loaded[name]; s != "inactive" {
				t.Errorf("%s is %q on a healthy instance, want inactive", name, s)
			}
		}
	})

	t.Run("exposition documented", func(t *testing.T) {
		// Every clvstream_* family the running service exposes (this
		// includes the HTTP server's) is in docs/metrics.md with its type.
		docs := docMetrics(t)
		for name, typ := range exposedFamilies(t, appURL+"/metrics") {
			if !strings.HasPrefix(name, "clvstream_") {
				continue
			}
			d, ok := docs[name]
			switch {
			case !ok:
				t.Errorf("docs/metrics.md: %s (%s) is exposed but not documented", name, typ)
			case d.Type != typ:
				t.Errorf("docs/metrics.md: %s is documented as %s, exposed as %s", name, d.Type, typ)
			}
		}
	})
	t.Logf("whole test: %s", time.Since(began).Round(time.Second))
}

// brief renders a query result as "{labels} value, ..." for logs.
func brief(r promResult) string {
	var parts []string
	for _, smp := range r.Data.Result {
		var ls []string
		for k, v := range smp.Metric {
			ls = append(ls, k+"="+v)
		}
		sort.Strings(ls)
		parts = append(parts, fmt.Sprintf("{%s} %v", strings.Join(ls, ","), smp.Value[1]))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func holdoutError(r *model.Record) float64 {
	if r.Holdout == nil {
		return math.NaN()
	}
	return r.Holdout.Error
}

func allNaN(vs []float64) bool {
	for _, v := range vs {
		if !math.IsNaN(v) {
			return false
		}
	}
	return true
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// apiToken is the bearer token of the test instance's query API.
const apiToken = "obstest-0123456789abcdef"

// httpStatus GETs u with the given header name/value pairs and returns the
// status code (0 when the request failed).
func httpStatus(u string, headers ...string) int {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return 0
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// exposedFamilies reads the text exposition and returns family -> type.
func exposedFamilies(t testing.TB, u string) map[string]string {
	t.Helper()
	resp, err := httpc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = f[3]
		}
	}
	return out
}
