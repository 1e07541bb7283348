package clv

import (
	"sync"
	"testing"
)

var (
	bench1MOnce sync.Once
	bench1M     []Customer
)

// BenchmarkFitBGNBD1M fits BG/NBD to 1,000,000 customers simulated from the
// CDNOW parameters with ages of 27 to 39 weeks at day resolution (times in
// weeks, multiples of 1/7), so that grouping identical (x, tx, T) rows pays
// off. The timed part includes the grouping. Run with
//
//	go test ./pkg/clv/ -run '^$' -bench FitBGNBD1M -benchtime 3x
func BenchmarkFitBGNBD1M(b *testing.B) {
	bench1MOnce.Do(func() { bench1M = simulate(1_000_000, cdnowParams, 27, 39, false, true, 42) })
	b.ResetTimer()
	var res FitResult
	var m PurchaseModel
	for i := 0; i < b.N; i++ {
		var err error
		m, res, err = FitBGNBD(bench1M, FitOptions{})
		if err != nil {
			b.Fatal(err)
		}
	}
	secs := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(secs, "s/fit")
	b.ReportMetric(float64(len(bench1M))/secs, "customers/s")
	if !res.Converged {
		b.Errorf("fit did not converge: %+v", res)
	}
	b.Logf("params %+v, %+v", m.Params(), res)
}
