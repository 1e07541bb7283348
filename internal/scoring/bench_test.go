package scoring

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/pkg/churn"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
	"github.com/clvstream/clvstream/pkg/segment"
)

// benchStates are customers like the benchmark mix's: mostly one to five
// purchases over two years, some with e-mail and tickets.
func benchStates(n int) ([]*customer.State, []time.Time) {
	rng := rand.New(rand.NewPCG(1, 2))
	sts := make([]*customer.State, n)
	nows := make([]time.Time, n)
	for i := range sts {
		id := fmt.Sprintf("c%d", i)
		st := &customer.State{ID: id}
		at := day0.Add(time.Duration(rng.IntN(300*24)) * time.Hour)
		for o := 0; o < 1+rng.IntN(6); o++ {
			st.Apply(event.Event{ID: fmt.Sprint("p", o), Type: event.Purchase, CustomerID: id, OrderID: fmt.Sprint(o), OccurredAt: at, Amount: int64(500 + rng.IntN(20000))}, 0.3)
			if rng.IntN(2) == 0 {
				st.Apply(event.Event{ID: fmt.Sprint("s", o), Type: event.EmailSent, CustomerID: id, MessageID: fmt.Sprint(o), OccurredAt: at.Add(time.Hour)}, 0)
				st.Apply(event.Event{ID: fmt.Sprint("o", o), Type: event.EmailOpened, CustomerID: id, MessageID: fmt.Sprint(o), OccurredAt: at.Add(2 * time.Hour)}, 0)
			}
			at = at.Add(time.Duration(24*(3+rng.IntN(90))) * time.Hour)
		}
		sts[i], nows[i] = st, at.Add(time.Duration(rng.IntN(60*24))*time.Hour)
	}
	return sts, nows
}

func benchRecord() *model.Record {
	cuts := make([]float64, 99)
	for i := range cuts {
		cuts[i] = float64(i+1) * 5
	}
	return &model.Record{Version: 3, Kind: model.KindMBGNBD, TimeUnitDays: 7,
		Params:        model.Params{R: 0.525, Alpha: 6.183, A: 0.891, B: 1.614},
		GammaGamma:    &model.GammaGamma{P: 6.25, Q: 3.74, V: 15.44},
		HorizonMonths: 12, MonthlyDiscount: 0.01, CLVCuts: cuts,
		RFM:   model.CutPoints{Recency: [4]float64{30, 60, 120, 240}, Frequency: [4]float64{1, 2, 3, 5}, Monetary: [4]float64{20, 40, 80, 160}},
		Churn: &churn.Model{HorizonDays: 90, Slope: 1, Weights: []churn.Weight{{Name: churn.FeatureOpen, Weight: 0.8}, {Name: churn.FeatureCSAT, Weight: 0.5, Mean: -1}}}}
}

// BenchmarkScore is one scoring with its next due time, the unit of work
// of every record and every fired timer.
func BenchmarkScore(b *testing.B) {
	s, err := New(Config{}, segment.DefaultRuleSet())
	if err != nil {
		b.Fatal(err)
	}
	sts, nows := benchStates(1000)
	for _, c := range []struct {
		name string
		rec  *model.Record
	}{{"baseline", nil}, {"mbgnbd", benchRecord()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				k := i % len(sts)
				s.Score(sts[k], nows[k], c.rec)
			}
		})
	}
}

// BenchmarkSnapshot is one scoring without the next due time: what one
// due-time probe costs at most.
func BenchmarkSnapshot(b *testing.B) {
	s, err := New(Config{}, segment.DefaultRuleSet())
	if err != nil {
		b.Fatal(err)
	}
	sts, nows := benchStates(1000)
	rec := benchRecord()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		k := i % len(sts)
		s.Snapshot(sts[k], nows[k], rec)
	}
}
