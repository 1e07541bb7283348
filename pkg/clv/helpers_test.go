package clv

import (
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// cdnowDir holds the CDNOW test data (see testdata/cdnow/README.md).
var cdnowDir = filepath.Join("..", "..", "testdata", "cdnow")

// readCSV parses a CSV file with a header row into records of floats,
// taking the columns in cols (0-based) in that order.
func readCSV(t testing.TB, name string, cols ...int) [][]float64 {
	t.Helper()
	f, err := os.Open(filepath.Join(cdnowDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]float64, 0, len(recs)-1)
	for i, r := range recs[1:] {
		row := make([]float64, len(cols))
		for j, c := range cols {
			v, err := strconv.ParseFloat(r[c], 64)
			if err != nil {
				t.Fatalf("%s line %d column %d: %v", name, i+2, c+1, err)
			}
			row[j] = v
		}
		out = append(out, row)
	}
	return out
}

// loadBTYD loads BTYD's cdnowSummary$cbs (full precision, weeks):
// customer_id,x,t_x,T_cal,x_star,m_x.
func loadBTYD(t testing.TB) []Customer {
	rows := readCSV(t, "btyd_cdnow_cbs.csv", 1, 2, 3, 5)
	out := make([]Customer, len(rows))
	for i, r := range rows {
		out[i] = Customer{X: r[0], TX: r[1], T: r[2], M: r[3]}
	}
	if len(out) != 2357 {
		t.Fatalf("btyd_cdnow_cbs.csv: %d customers, want 2357", len(out))
	}
	return out
}

// loadLifetimes loads lifetimes' cdnow_customers_summary_with_transactions.csv
// (weeks and dollars rounded to 2 decimals): ID,x,t_x,T,zbar.
func loadLifetimes(t testing.TB) []Customer {
	rows := readCSV(t, "cdnow_customers_summary_with_transactions.csv", 1, 2, 3, 4)
	out := make([]Customer, len(rows))
	for i, r := range rows {
		out[i] = Customer{X: r[0], TX: r[1], T: r[2], M: r[3]}
	}
	if len(out) != 2357 {
		t.Fatalf("cdnow_customers_summary_with_transactions.csv: %d customers, want 2357", len(out))
	}
	return out
}

// relErr returns |got−want|/|want|.
func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Abs(want) }

// cdnowParams are the BG/NBD estimates for CDNOW of Fader & Hardie's note
// "Implementing the BG/NBD Model for Customer Base Analysis in Excel" (2005),
// r = 0.2426, α = 4.4135, a = 0.7929, b = 2.4258 (the paper, FHL 2005
// Marketing Science, prints 0.243, 4.414, 0.793, 2.426).
var cdnowParams = Params{R: 0.2426, Alpha: 4.4135, A: 0.7929, B: 2.4258}

// gammaVariate draws from Gamma(shape, scale 1) with Marsaglia & Tsang's
// (2000) squeeze method, boosting shapes below 1 by U^(1/shape).
func gammaVariate(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return gammaVariate(rng, shape+1) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

// simulateCustomer draws one customer of age T from the BG/NBD (or, with
// modified, MBG/NBD) generative process: λ ~ Gamma(r, α), p ~ Beta(a, b);
// purchases arrive at Poisson rate λ and after each one (and, for MBG/NBD,
// also at time 0) the customer drops out with probability p. It returns the
// number of repeat purchases and the time of the last one.
func simulateCustomer(rng *rand.Rand, p Params, T float64, modified bool) (x, tx float64) {
	lambda := gammaVariate(rng, p.R) / p.Alpha
	g1 := gammaVariate(rng, p.A)
	drop := g1 / (g1 + gammaVariate(rng, p.B))
	if modified && rng.Float64() < drop {
		return 0, 0
	}
	var t float64
	for {
		t += rng.ExpFloat64() / lambda
		if t > T {
			return x, tx
		}
		x++
		tx = t
		if rng.Float64() < drop {
			return x, tx
		}
	}
}

// simulate draws n customers with ages uniform in [tMin, tMax] from a
// PCG generator seeded with seed. If dayRes, times are in weeks but
// truncated to whole days (T to a whole number of days, tx down to a day).
func simulate(n int, p Params, tMin, tMax float64, modified, dayRes bool, seed uint64) []Customer {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]Customer, n)
	for i := range out {
		T := tMin + (tMax-tMin)*rng.Float64()
		if dayRes {
			T = math.Round(T*7) / 7
		}
		x, tx := simulateCustomer(rng, p, T, modified)
		if dayRes {
			tx = math.Min(math.Floor(tx*7)/7, T)
		}
		out[i] = Customer{X: x, TX: tx, T: T}
	}
	return out
}
