package customer

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/clvstream/clvstream/pkg/event"
)

// BenchmarkApply applies the events of 1,000 customers of the benchmark mix
// and reports the cost per event.
func BenchmarkApply(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	var custs [][]event.Event
	events := 0
	for i := 0; i < 1000; i++ {
		evs := mixEvents(r, fmt.Sprintf("cust-%07d", i))
		custs = append(custs, evs)
		events += len(evs)
	}
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		for _, evs := range custs {
			s := State{ID: "c"}
			for _, e := range evs {
				s.Apply(e, 0.3)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*events), "cpu-ns/event")
}
