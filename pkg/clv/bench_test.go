package clv

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	bench1MOnce sync.Once
	bench1M     []Customer
	benchContMu sync.Mutex
	benchCont   []Customer
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

// simulateSpend gives each repeat buyer of data a mean spend drawn from the
// Gamma-Gamma model with the CDNOW estimates (p = 6.25, q = 3.74,
// γ = 15.44): ν ~ Gamma(q, γ), and the mean of x purchases of
// Gamma(p, ν) values is Gamma(p·x, ν·x).
func simulateSpend(data []Customer, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed^0x51ed27))
	const p, q, gamma = 6.25, 3.74, 15.44
	for i := range data {
		if data[i].X == 0 {
			continue
		}
		nu := gammaVariate(rng, q) / gamma
		data[i].M = gammaVariate(rng, p*data[i].X) / (nu * data[i].X)
	}
}

// BenchmarkFit1MContinuous is the speed target: fit MBG/NBD and
// Gamma-Gamma to 1,000,000 customers with continuous times (no two rows
// share an age, so grouping cannot help) and continuous spends. The data
// are generated once (CDNOW-like parameters, ages 27–39 weeks); the timed
// part is both fits, including the grouping. It reports seconds per fit
// (wall clock), CPU seconds per fit (user + system of the process: on a
// shared machine the wall clock also counts other processes' load), and
// the peak heap in use (MB, the generated input included, sampled every
// 20 ms from runtime.MemStats).
//
//	go test ./pkg/clv/ -run '^$' -bench Fit1MContinuous -benchtime 3x
func BenchmarkFit1MContinuous(b *testing.B) {
	benchContMu.Lock()
	if benchCont == nil {
		benchCont = simulate(1_000_000, Params{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614}, 27, 39, true, false, 43)
		simulateSpend(benchCont, 44)
	}
	data := benchCont
	benchContMu.Unlock()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	peak := uint64(0)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // sample the heap every 20 ms while fitting
		defer close(done)
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak {
				peak = ms.HeapInuse
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	cpu0 := cpuSeconds()
	b.ResetTimer()
	var pm PurchaseModel
	var pr, gr FitResult
	var g GammaGamma
	for i := 0; i < b.N; i++ {
		var err error
		pm, pr, err = FitMBGNBD(data, FitOptions{})
		if err != nil {
			b.Fatal(err)
		}
		g, gr, err = FitGammaGamma(data, FitOptions{})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := (cpuSeconds() - cpu0) / float64(b.N)
	close(stop)
	<-done
	secs := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(secs, "s/fit")
	b.ReportMetric(cpu, "cpu-s/fit")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(before.HeapInuse)/(1<<20), "input-heap-MB")
	if !pr.Converged || !gr.Converged {
		b.Errorf("not converged: purchase %+v, spend %+v", pr, gr)
	}
	b.Logf("mbgnbd %+v %+v; gamma-gamma %+v %+v", pm.Params(), pr, g, gr)
}

// cpuSeconds is the user plus system CPU time of this process.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
