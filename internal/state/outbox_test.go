package state

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// A packed entry decodes to the records it was built from, and every
// truncation of it, or a wrong record count, is an error, never a
// shorter list.
func TestPackedOutboxRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for range 200 {
		recs := make([]OutboxRecord, 1+rng.IntN(20))
		for i := range recs {
			recs[i] = OutboxRecord{Key: strings.Repeat("k", rng.IntN(40)), Value: []byte(strings.Repeat("v", rng.IntN(300)))}
			if rng.IntN(4) == 0 {
				recs[i].Dest = DestReferrals
			}
		}
		b := AppendOutbox(nil, recs)
		got, err := parseOutbox(b, len(recs))
		if err != nil || len(got) != len(recs) {
			t.Fatalf("parse = %d records, %v; want %d", len(got), err, len(recs))
		}
		for i := range recs {
			if got[i].Key != recs[i].Key || string(got[i].Value) != string(recs[i].Value) || got[i].Dest != recs[i].Dest {
				t.Fatalf("record %d = %+v, want %+v", i, got[i], recs[i])
			}
		}
		if _, err := parseOutbox(b[:rng.IntN(len(b))], len(recs)); !errors.Is(err, errPacked) {
			t.Fatalf("truncated entry: err = %v, want errPacked", err)
		}
		if _, err := parseOutbox(b, len(recs)+1); !errors.Is(err, errPacked) {
			t.Fatalf("wrong count: err = %v, want errPacked", err)
		}
	}
}
