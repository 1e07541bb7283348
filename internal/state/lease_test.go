package state_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/state"
	"github.com/clvstream/clvstream/internal/testkit"
)

// A released owner lease lets a generation from a new consumer group
// (which starts again at 1) claim at once; a release by anyone but the
// owning generation and member does nothing.
func TestReleaseLetsANewGroupClaim(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	ctx := context.Background()
	s := state.New(rdb, prefix, time.Hour)
	if _, err := s.Claim(ctx, 2, 7, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, 2, state.Batch{Gen: 7, Offsets: map[string]state.OffsetRange{"purchases": {From: -1, To: 42}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, 2, 1, "b"); !errors.Is(err, state.ErrFenced) {
		t.Fatalf("new group's claim during the lease: err = %v, want ErrFenced", err)
	}
	for _, c := range []struct {
		gen   int32
		owner string
	}{{6, "a"}, {8, "a"}, {7, "b"}, {1, "b"}} {
		ok, err := s.Release(ctx, 2, c.gen, c.owner)
		if err != nil || ok {
			t.Fatalf("release by generation %d of %q (not the owner) = %v, %v; want false", c.gen, c.owner, ok, err)
		}
	}
	if _, err := s.Claim(ctx, 2, 1, "b"); !errors.Is(err, state.ErrFenced) {
		t.Fatalf("claim after non-owner releases: err = %v, want ErrFenced", err)
	}
	if ok, err := s.Release(ctx, 2, 7, "a"); err != nil || !ok {
		t.Fatalf("owner release = %v, %v; want true", ok, err)
	}
	cp, err := s.Claim(ctx, 2, 1, "b")
	if err != nil {
		t.Fatalf("new group's claim after the release: %v", err)
	}
	if cp.Offsets["purchases"] != 42 {
		t.Fatalf("checkpoint offsets after release = %v, want purchases at 42", cp.Offsets)
	}
	// The old owner's late release must not end the new owner's lease.
	if ok, err := s.Release(ctx, 2, 7, "a"); err != nil || ok {
		t.Fatalf("old owner's release after the new claim = %v, %v; want false", ok, err)
	}
	if _, err := s.Claim(ctx, 2, 0, "c"); !errors.Is(err, state.ErrFenced) {
		t.Fatalf("older generation's claim while the new owner's lease runs: err = %v, want ErrFenced", err)
	}
	if err := s.Commit(ctx, 2, state.Batch{Gen: 1, Offsets: map[string]state.OffsetRange{"purchases": {From: 42, To: 43}}}); err != nil {
		t.Fatalf("new owner's commit: %v", err)
	}
}
