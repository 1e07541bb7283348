package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/config"
	"github.com/clvstream/clvstream/internal/stream"
)

// syncBuffer is a bytes.Buffer safe for the demo's writer and the test's
// reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testOptions is a short simulation: enough customers to fit the models
// after 60 simulated days, 100 days in all, as fast as the pipeline goes.
func testOptions(seed uint64) Options {
	return Options{HTTPAddr: "127.0.0.1:0", Customers: 300, Days: 100, DayEvery: time.Millisecond, Seed: seed, Token: "demo-test-token-0123456789"}
}

// finalSummary returns the end-of-simulation block of a demo's output.
func finalSummary(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, "simulation finished")
	if i < 0 {
		t.Fatalf("no final summary:\n%s", out)
	}
	s := out[i:]
	if j := strings.Index(s, "\n\n"); j >= 0 {
		s = s[:j]
	}
	return s
}

// The whole product in one command: customers change segment, the models
// are fitted early and every customer re-scored under them, the simulation
// ends with a summary (predicted CLV, churn risk, dead letters by reason,
// none for clock skew), the API keeps serving with the printed token until
// the context ends (what Ctrl-C does), and the demo then stops cleanly.
func TestDemoShowsTheProductAndStopsCleanly(t *testing.T) {
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- Run(ctx, testOptions(7), out) }()

	// Wait for the end of the simulation (the API keeps serving).
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(out.String(), "the API keeps serving until Ctrl-C") {
		select {
		case err := <-done:
			t.Fatalf("demo ended before the simulation did: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("simulation not finished after 3 minutes:\n%s", out.String())
		}
	}
	t.Logf("simulation of 100 days finished in %s", time.Since(start).Round(time.Millisecond))
	s := out.String()
	m := regexp.MustCompile(`curl -H "Authorization: Bearer (\S+)" (http://127\.0\.0\.1:\d+)/v1/customers/cust-0001`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no ready-to-paste curl with the token:\n%s", s)
	}
	token, base := m[1], m[2]

	sum := finalSummary(t, s)
	for _, want := range []string{"events ", "segment changes ", "model ", "predicted CLV (12 months): mean", "churn risk", "malformed_json"} {
		if !strings.Contains(sum, want) {
			t.Errorf("final summary lacks %q:\n%s", want, sum)
		}
	}
	if strings.Contains(s, "clock_skew") {
		t.Errorf("records dead-lettered for clock skew:\n%s", sum)
	}
	if !regexp.MustCompile(`model v\d+ in force: mbgnbd`).MatchString(s) {
		t.Errorf("the models were never fitted:\n%s", s)
	}
	if !regexp.MustCompile(`segment changes \d+ \(event \d+, scheduled \d+, model \d+\)`).MatchString(sum) {
		t.Errorf("the summary does not show changes by event, time and model:\n%s", sum)
	}
	for _, seg := range []string{"active", "at-risk", "high-value"} {
		if !strings.Contains(sum, " "+seg+" ") {
			t.Errorf("segment %q not in the final summary:\n%s", seg, sum)
		}
	}

	// The API, while the demo serves it: 401 without the token; with it a
	// customer scored by the fitted model, and cohorts.
	get := func(path string, auth bool) (int, map[string]any) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	if code, _ := get("/v1/customers/cust-0001", false); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", code)
	}
	code, c := get("/v1/customers/cust-0001", true)
	if code != http.StatusOK {
		t.Fatalf("GET /v1/customers/cust-0001: %d %v", code, c)
	}
	if mv, _ := c["model_version"].(string); mv == "" || mv == "baseline" {
		t.Errorf("customer scored by model %q, want a fitted version: %v", mv, c)
	}
	if c["clv_percentile"] == nil || c["rfm"] == nil {
		t.Errorf("customer has no CLV percentile or RFM scores under the fitted model: %v", c)
	}
	testkitEventually(t, 20*time.Second, "cohorts in /v1/cohorts", func() bool {
		code, body := get("/v1/cohorts", true)
		cs, _ := body["cohorts"].([]any)
		return code == http.StatusOK && len(cs) > 0
	})

	cancel() // Ctrl-C
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop within 30s of Ctrl-C")
	}
	if !strings.HasSuffix(strings.TrimSpace(out.String()), "stopped cleanly") {
		t.Fatalf("demo did not stop cleanly:\n%s", out.String())
	}
}

// testkitEventually polls cond (the demo cannot import testkit's Redis
// helpers' dependencies cheaply, so a local copy).
func testkitEventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Two runs with the same seed print the same final summary: the same
// events, dead letters, segment changes by cause, tier changes,
// milestones, segments, model and top customers.
func TestDemoDeterministicForASeed(t *testing.T) {
	var sums []string
	for run := 0; run < 2; run++ {
		o := testOptions(11)
		o.ExitWhenDone = true
		var out bytes.Buffer
		if err := Run(context.Background(), o, &out); err != nil {
			t.Fatalf("run %d: %v\n%s", run+1, err, out.String())
		}
		sums = append(sums, finalSummary(t, out.String()))
	}
	if sums[0] != sums[1] {
		t.Errorf("the same seed gave different totals:\n--- run 1\n%s\n--- run 2\n%s", sums[0], sums[1])
	}
	t.Logf("final summary of both runs:\n%s", sums[0])
}

// The generator's records are a function of the options: same seed, same
// records; another seed, other records.
func TestGeneratorIsAFunctionOfTheSeed(t *testing.T) {
	cfg := config.Config{}
	cfg.Kafka = stream.Config{}.WithDefaults()
	records := func(seed uint64) []string {
		g := newGenerator(Options{Customers: 50, Days: 60, Seed: seed}.withDefaults(), cfg)
		var out []string
		for day := 0; day < 60; day++ {
			for _, w := range g.events(day) {
				for _, m := range w.msgs {
					out = append(out, fmt.Sprintf("%s %s %s %s", w.at.Format(time.RFC3339), w.topic, m.Key, m.Value))
				}
			}
		}
		return out
	}
	a, b, c := records(3), records(3), records(4)
	if len(a) < 500 {
		t.Fatalf("only %d records", len(a))
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different records")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("another seed gave the same records")
	}
	// The last day is yesterday: nothing in the future.
	g := newGenerator(Options{Customers: 50, Days: 60, Seed: 3}.withDefaults(), cfg)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for _, w := range g.events(59) {
		if !w.at.Before(today) {
			t.Errorf("a wave at %s, not before today %s", w.at, today)
		}
	}
}
