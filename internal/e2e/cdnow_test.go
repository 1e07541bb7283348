package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/refit"
	"github.com/clvstream/clvstream/internal/testkit"
	"github.com/clvstream/clvstream/pkg/event"
)

// readCSV returns the rows of a CSV file keyed by its first column with
// leading zeros trimmed.
func readCSV(t *testing.T, data []byte) (header []string, rows map[string][]string) {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	all, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows = map[string][]string{}
	for _, row := range all[1:] {
		rows[strings.TrimLeft(row[0], "0")] = row
	}
	return all[0], rows
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return v
}

// The CDNOW benchmark reproduced through the stream: backfill the 1/10
// sample into Kafka, let the service consume it, export the summary as of
// the end of the calibration period and compare it with the published
// summaries (lifetimes' cdnow_customers_summary*.csv) for all 2,357
// customers. Then replay the same data twice (a new consumer group reading
// from the earliest offset, and the whole file published again): the
// export is unchanged and no segment change is published.
func TestCDNOWBackfillReproducesPublishedSummary(t *testing.T) {
	e := newEnv(t, 4)
	backfill := append([]string{"backfill", "--transactions", "../../testdata/cdnow/CDNOW_sample.txt",
		"--customer-col", "2", "--date-col", "3", "--amount-col", "5", "--date-format", "20060102"}, e.sets()...)
	cli(t, backfill...)
	stop := e.start(e.config(), "svc")
	e.waitSettled(120 * time.Second)
	stop()

	export := func() []byte {
		return cli(t, append([]string{"export", "--as-of", "1997-09-30", "--time-unit", "week", "--format", "summary"}, e.sets()...)...)
	}
	out := export()
	header, got := readCSV(t, out)
	if strings.Join(header, ",") != "customer_id,frequency,recency,T,monetary_value" {
		t.Fatalf("export header = %v", header)
	}
	wantF, _ := os.ReadFile("../../testdata/cdnow/cdnow_customers_summary.csv")
	_, want := readCSV(t, wantF)
	wantM, _ := os.ReadFile("../../testdata/cdnow/cdnow_customers_summary_with_transactions.csv")
	_, wantMon := readCSV(t, wantM)
	if len(want) != 2357 || len(got) != 2357 {
		t.Fatalf("customers: exported %d, published %d, want 2357 both", len(got), len(want))
	}
	var maxRec, maxT, maxMon float64
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Fatalf("customer %s missing from the export", id)
		}
		if g[1] != w[1] {
			t.Fatalf("customer %s: frequency %s, published %s", id, g[1], w[1])
		}
		maxRec = math.Max(maxRec, math.Abs(num(t, g[2])-num(t, w[2])))
		maxT = math.Max(maxT, math.Abs(num(t, g[3])-num(t, w[3])))
		maxMon = math.Max(maxMon, math.Abs(num(t, g[4])-num(t, wantMon[id][4])))
	}
	// The published files are rounded to 2 decimals: 0.005 of rounding.
	if maxRec > 0.01 || maxT > 0.01 || maxMon > 0.01 {
		t.Fatalf("max abs differences: recency %.4f, T %.4f, monetary %.4f; want <= 0.01", maxRec, maxT, maxMon)
	}
	t.Logf("2357 customers match: max |Δrecency| %.4f, |ΔT| %.4f, |Δmonetary| %.4f (weeks, dollars)", maxRec, maxT, maxMon)

	changes, _ := e.changes()
	if len(changes) == 0 {
		t.Fatal("no segment changes published")
	}
	e.checkChangeLog(e.states())

	// Replay 1: a new consumer group from the earliest offset.
	cfg := e.config()
	cfg.Kafka.GroupID = e.group + "-replay"
	stop = e.start(cfg, "replay")
	time.Sleep(3 * time.Second)
	e.waitSettled(60 * time.Second)
	stop()
	// Replay 2: the same file published again (new offsets, same orders).
	cli(t, backfill...)
	stop = e.start(e.config(), "svc2")
	e.waitSettled(120 * time.Second)
	stop()

	if again := export(); !bytes.Equal(again, out) {
		t.Fatal("export changed after replaying the same data")
	}
	after, _ := e.changes()
	if len(after) != len(changes) {
		for _, c := range after[len(changes):] {
			t.Logf("new record: %+v", c)
		}
		t.Fatalf("replay published %d new segment changes", len(after)-len(changes))
	}

	// The models fitted from the live state equal the fits of the published
	// summary: BG/NBD (Fader, Hardie & Lee 2005) and MBG/NBD (the same CLI
	// on the file) within 1e-3.
	fitJSON := func(args ...string) batchReport {
		var r batchReport
		if err := json.Unmarshal(cli(t, append(append([]string{"fit", "--json"}, args...), e.sets()...)...), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	live := fitJSON("--from-redis", "--as-of", "1997-09-30", "--time-unit", "week", "--model", "bgnbd")
	published := batchReport{}
	published.Params.R, published.Params.Alpha, published.Params.A, published.Params.B, published.LogLikelihood = 0.2426, 4.4135, 0.7929, 2.4258, -9582.43
	assertSameFit(t, "bgnbd live vs published", live, published)
	liveM := fitJSON("--from-redis", "--as-of", "1997-09-30", "--time-unit", "week", "--model", "mbgnbd")
	fileM := fitJSON("--input", "../../testdata/cdnow/cdnow_customers_summary_with_transactions.csv", "--model", "mbgnbd")
	assertSameFit(t, "mbgnbd live vs file", liveM, fileM)
	if liveM.NCustomers != 2357 || liveM.GammaGamma == nil || rel(liveM.GammaGamma.P, 6.25) > 1e-3 {
		t.Fatalf("live fit: %+v", liveM)
	}

	// The service's fitter, asked for a refit, publishes a fitted model and
	// every customer is re-scored under it (cause "model"); the change log
	// stays consistent.
	cli(t, append([]string{"model", "refit"}, e.sets()...)...)
	stop = e.start(e.config(), "svc3")
	var version int64
	testkit.Eventually(t, 60*time.Second, "a fitted model", func() bool {
		rec, err := refit.NewStore(e.rdb, e.prefix).Current(context.Background())
		if err == nil && rec != nil && rec.Fitted() {
			version = rec.Version
			return true
		}
		return false
	})
	testkit.Eventually(t, 60*time.Second, "every customer re-scored under the new model", func() bool {
		for _, st := range e.states() {
			if st.ModelVersion != version {
				return false
			}
		}
		return true
	})
	e.waitSettled(60 * time.Second)
	stop()
	per := e.checkChangeLog(e.states())
	byModel := 0
	for _, cs := range per {
		for _, c := range cs {
			if c.Cause == event.CauseModel && c.ModelVersion == fmt.Sprintf("mbgnbd-v%d", version) {
				byModel++
			}
		}
	}
	if byModel == 0 {
		t.Fatal("the new model moved no customer to another segment")
	}
	t.Logf("model v%d re-scored 2357 customers; %d changed segment (cause model)", version, byModel)
}

// batchReport is the JSON of `clvstream fit --json`.
type batchReport struct {
	Model  string `json:"model"`
	Params struct {
		R     float64 `json:"r"`
		Alpha float64 `json:"alpha"`
		A     float64 `json:"a"`
		B     float64 `json:"b"`
	} `json:"params"`
	LogLikelihood float64 `json:"log_likelihood"`
	NCustomers    int     `json:"n_customers"`
	Converged     bool    `json:"converged"`
	GammaGamma    *struct {
		P, Q, V float64
	} `json:"gamma_gamma"`
}

func rel(a, b float64) float64 { return math.Abs(a-b) / math.Abs(b) }

func assertSameFit(t *testing.T, what string, got, want batchReport) {
	t.Helper()
	for _, p := range [][2]float64{{got.Params.R, want.Params.R}, {got.Params.Alpha, want.Params.Alpha}, {got.Params.A, want.Params.A}, {got.Params.B, want.Params.B}} {
		if rel(p[0], p[1]) > 1e-3 {
			t.Fatalf("%s: params %+v, want %+v (1e-3 relative)", what, got.Params, want.Params)
		}
	}
	if rel(got.LogLikelihood, want.LogLikelihood) > 1e-3 {
		t.Fatalf("%s: log-likelihood %v, want %v", what, got.LogLikelihood, want.LogLikelihood)
	}
}

// waitSettled waits until all input is applied, the outboxes are empty and
// no customer is due at the partition's clock.
func (e *env) waitSettled(timeout time.Duration) {
	e.t.Helper()
	ctx := context.Background()
	s := e.store()
	cfg := e.config()
	e.waitApplied(timeout)
	deadline := time.Now().Add(timeout)
	for p := 0; p < e.parts; p++ {
		for {
			// Settled: the task's clock reached the latest event time
			// (an idle replay) or is live, and nothing is due by it.
			wm, _ := e.rdb.HGet(ctx, s.Keys(p).Meta, "wm").Int64()
			clk, _ := e.rdb.HGet(ctx, s.Keys(p).Meta, "clk").Int64()
			historic := wm > 0 && time.Since(time.UnixMilli(wm)) > cfg.Kafka.ReplayThreshold
			due, err := s.Timers(ctx, p, 1, clk, 1)
			if err == nil && len(due) == 0 && (!historic || clk >= wm) {
				break
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("partition %d: not settled after %s (clock %d, latest event %d, due %v)", p, timeout, clk, wm, due)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// ... and every customer has been re-scored under the model in force.
	testkit.Eventually(e.t, timeout, "model re-scoring complete", func() bool {
		rec, err := refit.NewStore(e.rdb, e.prefix).Current(ctx)
		if err != nil || rec == nil {
			return err == nil
		}
		for _, st := range e.states() {
			if !st.Erased && st.ModelVersion != rec.Version {
				return false
			}
		}
		return true
	})
	e.waitApplied(timeout)
}
