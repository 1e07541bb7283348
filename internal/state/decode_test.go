package state_test

import (
	"errors"
	"testing"

	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/pkg/customer"
)

// A stored state that cannot be decoded leaves the state decoded into
// empty, even one reused from an earlier customer: the task quarantines the
// bytes and starts the customer afresh in it.
func TestFailedDecodeLeavesTheStateEmpty(t *testing.T) {
	st := &customer.State{ID: "earlier", Version: 7, Segment: "loyal", Days: []customer.Day{{D: 20000, N: 1}}}
	data, err := state.EncodeState(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := state.DecodeState(data[:len(data)/2], st); !errors.Is(err, customer.ErrMalformed) {
		t.Fatalf("truncated state: err = %v, want ErrMalformed", err)
	}
	if st.ID != "" || st.Version != 0 || st.Segment != "" || len(st.Days) != 0 || len(st.Orders) != 0 {
		t.Fatalf("state after a failed decode = %+v, want empty", st)
	}
}
