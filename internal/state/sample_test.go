package state_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/testkit"
	"github.com/clvstream/clvstream/pkg/customer"
)

// A sample reads about max states, spread over the partitions by their
// sizes, and is uniform: the share of customers with a property (one in
// four here, by id) comes out within a few standard errors.
func TestSampleIsBoundedAndUniform(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	ctx := context.Background()
	s := state.New(rdb, prefix, time.Minute)
	sizes := map[int]int{0: 6000, 1: 3000, 2: 1000}
	for p, n := range sizes {
		if _, err := s.Claim(ctx, p, 1, "a"); err != nil {
			t.Fatal(err)
		}
		b := state.Batch{Gen: 1, Offsets: map[string]state.OffsetRange{"purchases": {From: -1, To: 1}}}
		for i := 0; i < n; i++ {
			seg := "active"
			if i%4 == 0 {
				seg = "loyal"
			}
			b.States = append(b.States, &customer.State{ID: fmt.Sprintf("p%d-c%d", p, i), Version: 1, Segment: seg})
		}
		if err := s.Commit(ctx, p, b); err != nil {
			t.Fatal(err)
		}
	}
	read := map[int]int{}
	loyal := 0
	total, err := s.Sample(ctx, 2000, func(p int, st *customer.State) error {
		read[p]++
		if st.Segment == "loyal" {
			loyal++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != 10000 {
		t.Fatalf("population %d, want 10000", total)
	}
	for p, n := range sizes {
		if want := n / 5; read[p] != want {
			t.Errorf("partition %d gave %d states, want its share %d", p, read[p], want)
		}
	}
	n := read[0] + read[1] + read[2]
	share := float64(loyal) / float64(n)
	se := math.Sqrt(0.25 * 0.75 / float64(n) * (1 - float64(n)/10000))
	if math.Abs(share-0.25) > 4*se {
		t.Errorf("share of loyal customers in the sample %.4f, want 0.25 ± %.4f", share, 4*se)
	}
	// Below the bound every state is read.
	all := 0
	if _, err := s.Sample(ctx, 20000, func(int, *customer.State) error { all++; return nil }); err != nil || all != 10000 {
		t.Fatalf("read %d of 10000 (%v)", all, err)
	}
}
