package obstest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"github.com/clvstream/clvstream/internal/kpi"
	"github.com/clvstream/clvstream/internal/refit"
	"github.com/clvstream/clvstream/internal/stream"
)

// repo returns the path of a file of the repository.
func repo(t testing.TB, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readRepo(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(repo(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// metricInfo is a metric as the code registers it.
type metricInfo struct {
	Name   string
	Type   string // counter, gauge, histogram
	Labels []string
}

// capture is a Registerer that records what is registered on it.
type capture struct{ metrics []metricInfo }

var (
	descName   = regexp.MustCompile(`fqName: "([^"]+)"`)
	descLabels = regexp.MustCompile(`variableLabels: \{([^}]*)\}\}$`)
)

func (c *capture) Register(col prometheus.Collector) error {
	typ := "untyped"
	switch col.(type) {
	case *prometheus.CounterVec:
		typ = "counter"
	case *prometheus.GaugeVec:
		typ = "gauge"
	case *prometheus.HistogramVec:
		typ = "histogram"
	case prometheus.Histogram:
		typ = "histogram"
	case prometheus.Gauge:
		typ = "gauge"
	case prometheus.Counter:
		typ = "counter"
	}
	ch := make(chan *prometheus.Desc, 16)
	go func() { col.Describe(ch); close(ch) }()
	for d := range ch {
		s := d.String()
		m := metricInfo{Name: descName.FindStringSubmatch(s)[1], Type: typ}
		if l := descLabels.FindStringSubmatch(s); l != nil && l[1] != "" {
			m.Labels = strings.Split(l[1], ",")
		}
		c.metrics = append(c.metrics, m)
	}
	return nil
}

func (c *capture) MustRegister(cs ...prometheus.Collector) {
	for _, col := range cs {
		_ = c.Register(col)
	}
}

func (c *capture) Unregister(prometheus.Collector) bool { return false }

// codeMetrics returns the metrics the pipeline, the model and the KPI job
// register (the HTTP server's are checked against the live /metrics).
func codeMetrics(t testing.TB) []metricInfo {
	t.Helper()
	c := &capture{}
	stream.NewMetrics(c)
	refit.NewMetrics(c)
	kpi.NewJob(kpi.Config{}, nil, nil, nil, nil, nil, "", zap.NewNop(), c)
	sort.Slice(c.metrics, func(i, j int) bool { return c.metrics[i].Name < c.metrics[j].Name })
	if len(c.metrics) < 30 {
		t.Fatalf("only %d metrics captured: %+v", len(c.metrics), c.metrics)
	}
	return c.metrics
}

// docMetric is a row of the tables in docs/metrics.md:
// | `name` | type | `label`, `label` | unit | meaning |
type docMetric struct {
	Type   string
	Labels []string
}

var backticked = regexp.MustCompile("`([^`]+)`")

func docMetrics(t testing.TB) map[string]docMetric {
	t.Helper()
	out := map[string]docMetric{}
	for _, line := range strings.Split(string(readRepo(t, "docs/metrics.md")), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`clvstream_") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		var labels []string
		for _, m := range backticked.FindAllStringSubmatch(cells[3], -1) {
			labels = append(labels, m[1])
		}
		if _, dup := out[name]; dup {
			t.Errorf("docs/metrics.md: %s has two rows", name)
		}
		out[name] = docMetric{Type: strings.TrimSpace(cells[2]), Labels: labels}
	}
	return out
}

// TestMetricsDocumented: every metric the code registers has a row in
// docs/metrics.md with its type and labels, and every row is a metric.
func TestMetricsDocumented(t *testing.T) {
	docs := docMetrics(t)
	code := map[string]bool{}
	for _, m := range codeMetrics(t) {
		code[m.Name] = true
		d, ok := docs[m.Name]
		if !ok {
			t.Errorf("docs/metrics.md: %s (%s, labels %v) is not documented", m.Name, m.Type, m.Labels)
			continue
		}
		if d.Type != m.Type {
			t.Errorf("docs/metrics.md: %s is documented as %s, the code registers a %s", m.Name, d.Type, m.Type)
		}
		if !slices.Equal(sorted(d.Labels), sorted(m.Labels)) {
			t.Errorf("docs/metrics.md: %s is documented with labels %v, the code has %v", m.Name, d.Labels, m.Labels)
		}
	}
	for name := range docs {
		if !code[name] && !strings.HasPrefix(name, "clvstream_http_") {
			t.Errorf("docs/metrics.md documents %s, which the code does not register", name)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Name string `json:"name"`
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID      int     `json:"id"`
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"` // collapsed rows
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// query is one PromQL expression of the dashboard or the rules, with where
// it comes from.
type query struct {
	From string
	Expr string
}

func loadDashboard(t testing.TB) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readRepo(t, "deployments/grafana/dashboards/clvstream.json"), &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	return d
}

// dashboardQueries returns every panel target's expression with the
// Grafana variables replaced: the interval variables by 1m, $instance by
// ".*" (its All value).
func dashboardQueries(t testing.TB) []query {
	t.Helper()
	d := loadDashboard(t)
	var out []query
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				out = append(out, query{From: fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID), Expr: grafanaVars(tg.Expr)})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	if len(out) < 20 {
		t.Fatalf("only %d dashboard queries found", len(out))
	}
	return out
}

var grafanaVar = regexp.MustCompile(`\$\{?[A-Za-z_]+\}?`)

func grafanaVars(expr string) string {
	r := strings.NewReplacer(
		"$__rate_interval", "1m", "${__rate_interval}", "1m",
		"$__interval", "1m", "${__interval}", "1m",
		"$__range", "1m", "${__range}", "1m",
		"$instance", ".*", "${instance}", ".*",
	)
	return r.Replace(expr)
}

// rule is an alerting rule of the rule file.
type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadRules(t testing.TB) []rule {
	t.Helper()
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(readRepo(t, "deployments/prometheus/rules/clvstream.yml"), &f); err != nil {
		t.Fatalf("rules YAML: %v", err)
	}
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatal("no rules in deployments/prometheus/rules/clvstream.yml")
	}
	return out
}

// exposedName maps a series name to its metric family: histogram series
// carry _bucket, _sum and _count.
func exposedName(series string, known map[string]metricInfo) (string, bool) {
	if _, ok := known[series]; ok {
		return series, true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(series, suf); ok {
			if m, ok := known[base]; ok && m.Type == "histogram" {
				return base, true
			}
		}
	}
	return "", false
}

// TestQueriesUseExistingMetrics: every clvstream_* series a dashboard panel
// or an alert selects is a metric the code registers (or one of the HTTP
// server's), so a renamed metric breaks this test rather than a graph.
func TestQueriesUseExistingMetrics(t *testing.T) {
	known := map[string]metricInfo{}
	for _, m := range codeMetrics(t) {
		known[m.Name] = m
	}
	known["clvstream_http_requests_total"] = metricInfo{Type: "counter"}
	known["clvstream_http_request_duration_seconds"] = metricInfo{Type: "histogram"}
	qs := dashboardQueries(t)
	for _, r := range loadRules(t) {
		qs = append(qs, query{From: "rule " + r.Alert + r.Record, Expr: r.Expr})
	}
	for _, q := range qs {
		for _, name := range metricNames(q.Expr) {
			if !strings.HasPrefix(name, "clvstream_") {
				continue
			}
			if _, ok := exposedName(name, known); !ok {
				t.Errorf("%s: %s is not a clvstream metric\n  %s", q.From, name, q.Expr)
			}
		}
	}
}

// TestAlertsAnnotatedAndLinked: every alert has a known severity, a summary,
// a description and a runbook_url whose anchor is a heading of
// docs/operations.md.
func TestAlertsAnnotatedAndLinked(t *testing.T) {
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(readRepo(t, "docs/operations.md")), "\n") {
		if strings.HasPrefix(line, "#") {
			anchors[githubAnchor(strings.TrimLeft(line, "# "))] = true
		}
	}
	const base = "https://github.com/clvstream/clvstream/blob/main/docs/operations.md#"
	seen := map[string]bool{}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		if seen[r.Alert] {
			t.Errorf("alert %s defined twice", r.Alert)
		}
		seen[r.Alert] = true
		if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
			t.Errorf("%s: severity %q, want critical, warning or info", r.Alert, s)
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s: annotation %s missing", r.Alert, a)
			}
		}
		u := r.Annotations["runbook_url"]
		anchor, ok := strings.CutPrefix(u, base)
		if !ok {
			t.Errorf("%s: runbook_url %q does not point into docs/operations.md (%s...)", r.Alert, u, base)
			continue
		}
		if anchor != strings.ToLower(r.Alert) {
			t.Errorf("%s: runbook anchor %q, want %q (the alert name in lower case)", r.Alert, anchor, strings.ToLower(r.Alert))
		}
		if !anchors[anchor] {
			t.Errorf("%s: docs/operations.md has no heading with anchor #%s", r.Alert, anchor)
		}
		if _, err := url.Parse(u); err != nil {
			t.Errorf("%s: runbook_url: %v", r.Alert, err)
		}
	}
	// The runbook's own links to its sections resolve too.
	for _, m := range localLink.FindAllStringSubmatch(string(readRepo(t, "docs/operations.md")), -1) {
		if !anchors[m[1]] {
			t.Errorf("docs/operations.md links to #%s, which is not a heading", m[1])
		}
	}
}

var localLink = regexp.MustCompile(`\]\(#([^)]+)\)`)

// githubAnchor is GitHub's heading anchor: lower case, punctuation other
// than '-' and '_' dropped, spaces to '-'.
func githubAnchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestDashboardStructure checks what Grafana would otherwise only show at
// run time: unique panel ids, every panel and target on the provisioned
// Prometheus datasource (uid "prometheus"), panels inside the 24-column
// grid and not overlapping, every query with a refId, and every variable a
// query uses defined.
func TestDashboardStructure(t *testing.T) {
	var d struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID         int    `json:"id"`
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource *struct {
				Type string `json:"type"`
				UID  string `json:"uid"`
			} `json:"datasource"`
			GridPos struct{ X, Y, W, H int } `json:"gridPos"`
			Targets []struct {
				RefID      string `json:"refId"`
				Expr       string `json:"expr"`
				Datasource *struct {
					UID string `json:"uid"`
				} `json:"datasource"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(readRepo(t, "deployments/grafana/dashboards/clvstream.json"), &d); err != nil {
		t.Fatal(err)
	}
	if d.UID != "clvstream" {
		t.Errorf("dashboard uid %q, want clvstream", d.UID)
	}
	if ds := string(readRepo(t, "deployments/grafana/provisioning/datasources/prometheus.yml")); !strings.Contains(ds, "uid: prometheus") {
		t.Errorf("the provisioned datasource no longer has uid prometheus, which the dashboard uses")
	}
	vars := map[string]bool{"__rate_interval": true, "__interval": true, "__range": true}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	ids := map[int]bool{}
	for i, p := range d.Panels {
		name := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if ids[p.ID] {
			t.Errorf("%s: duplicate id", name)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("%s: gridPos %+v outside the 24-column grid", name, g)
		}
		for _, q := range d.Panels[:i] {
			o := q.GridPos
			if g.X < o.X+o.W && o.X < g.X+g.W && g.Y < o.Y+o.H && o.Y < g.Y+g.H {
				t.Errorf("%s overlaps panel %d %q", name, q.ID, q.Title)
			}
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "prometheus" {
			t.Errorf("%s: datasource %+v, want uid prometheus", name, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no query", name)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] || strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s: target %q has no unique refId or no expr", name, tg.RefID)
			}
			refs[tg.RefID] = true
			if tg.Datasource != nil && tg.Datasource.UID != "prometheus" {
				t.Errorf("%s: target %s datasource %q", name, tg.RefID, tg.Datasource.UID)
			}
			for _, v := range grafanaVar.FindAllString(tg.Expr, -1) {
				if n := strings.Trim(v, "${}"); !vars[n] {
					t.Errorf("%s: target %s uses undefined variable %s", name, tg.RefID, v)
				}
			}
		}
	}
}
