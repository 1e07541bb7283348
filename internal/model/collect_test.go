package model_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/model"
	"github.com/clvstream/clvstream/pkg/customer"
	"github.com/clvstream/clvstream/pkg/event"
)

// pop is a population of buyers that can be sampled: every k-th state.
type pop struct {
	states []*customer.State
	asked  int
}

func (p *pop) Each(_ context.Context, fn func(int, *customer.State) error) error {
	for _, st := range p.states {
		if err := fn(0, st); err != nil {
			return err
		}
	}
	return nil
}

func (p *pop) Sample(_ context.Context, max int, fn func(int, *customer.State) error) (int, error) {
	p.asked = max
	k := (len(p.states) + max - 1) / max
	for i := 0; i < len(p.states); i += k {
		if err := fn(0, p.states[i]); err != nil {
			return 0, err
		}
	}
	return len(p.states), nil
}

// A refit reads at most model.max_customers states when the store can
// sample.
func TestCollectReadsABoundedSample(t *testing.T) {
	day0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &pop{}
	for i := 0; i < 5000; i++ {
		id := fmt.Sprint("c", i)
		st := &customer.State{ID: id}
		for o := 0; o <= i%3; o++ {
			st.Apply(event.Event{ID: fmt.Sprint(id, o), Type: event.Purchase, CustomerID: id, OrderID: fmt.Sprint(o),
				OccurredAt: day0.AddDate(0, 0, i%200+40*o), Amount: 2500}, 0.3)
		}
		p.states = append(p.states, st)
	}
	in, err := model.Collect(context.Background(), p, day0.AddDate(1, 0, 0), model.Config{MaxCustomers: 1000}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if p.asked != 1000 || len(in.Full) != 1000 {
		t.Fatalf("asked for %d, collected %d summaries; want a sample of 1000", p.asked, len(in.Full))
	}
}
