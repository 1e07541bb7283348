package lease_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/clvstream/clvstream/internal/lease"
	"github.com/clvstream/clvstream/internal/testkit"
)

// A held lease refuses every other holder: acquire, renew and release by a
// non-owner do nothing, and the owner's release frees it at once.
func TestLeaseOwnerOnly(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	ctx := context.Background()
	key := "{" + prefix + ":lease}:lock"
	a := lease.New(rdb, key, lease.Token("a"), time.Minute)
	b := lease.New(rdb, key, lease.Token("b"), time.Minute)

	mustBe(t, "a acquires a free lease", a.Acquire, true)
	mustBe(t, "a acquires again (already held)", a.Acquire, false)
	mustBe(t, "b acquires a held lease", b.Acquire, false)
	mustBe(t, "b keeps a lease a holds", b.Keep, false)
	mustBe(t, "b renews a lease a holds", b.Renew, false)
	mustBe(t, "b releases a lease a holds", b.Release, false)
	if h, err := a.Holder(ctx); err != nil || h != a.Token() {
		t.Fatalf("holder after b's attempts = %q, %v; want a's token %q", h, err, a.Token())
	}
	mustBe(t, "a keeps its lease", a.Keep, true)
	if ms := rdb.PTTL(ctx, key).Val(); ms < 59*time.Second {
		t.Fatalf("ttl after a's renewal = %v, want about a minute", ms)
	}
	mustBe(t, "a releases", a.Release, true)
	if n := rdb.Exists(ctx, key).Val(); n != 0 {
		t.Fatal("released lease key still exists")
	}
	mustBe(t, "a releases again", a.Release, false)
	mustBe(t, "b acquires the released lease at once", b.Acquire, true)
}

// An unrenewed lease expires; the old holder can then neither renew nor
// release the new holder's lease.
func TestLeaseExpiry(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	key := "{" + prefix + ":lease}:lock"
	a := lease.New(rdb, key, lease.Token("a"), 150*time.Millisecond)
	b := lease.New(rdb, key, lease.Token("b"), time.Minute)
	mustBe(t, "a acquires", a.Acquire, true)
	mustBe(t, "b before expiry", b.Keep, false)
	time.Sleep(250 * time.Millisecond)
	mustBe(t, "a renews an expired lease", a.Renew, false)
	mustBe(t, "b acquires the expired lease", b.Keep, true)
	mustBe(t, "a renews b's lease", a.Renew, false)
	mustBe(t, "a releases b's lease", a.Release, false)
	mustBe(t, "a keeps (b holds)", a.Keep, false)
	if h, _ := b.Holder(context.Background()); h != b.Token() {
		t.Fatalf("holder = %q, want b", h)
	}
}

// Holders sharing an owner name get distinct tokens.
func TestTokenUnique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		tok := lease.Token("host/1")
		if seen[tok] {
			t.Fatalf("token %q repeated", tok)
		}
		seen[tok] = true
	}
}

// Eight contenders hammer one short lease with Keep (renew or acquire),
// pausing up to a little over the ttl between calls so that renewals race
// with the expiry, and sometimes release it, for two seconds. Each success means the
// caller holds the lease from the moment the call returned until ttl after
// the call started (Redis expires the key ttl after the write, which is
// after the start) or until it starts a release. No two such holding
// intervals of different contenders may overlap.
func TestLeaseContendersNeverBothHold(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	key := "{" + prefix + ":lease}:contended"
	const ttl = 40 * time.Millisecond
	type span struct {
		who      int
		from, to time.Time
	}
	var (
		mu    sync.Mutex
		spans []span
		wg    sync.WaitGroup
	)
	deadline := time.Now().Add(2 * time.Second)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := lease.New(rdb, key, lease.Token("c"), ttl)
			ctx := context.Background()
			var mine []span
			for i := 0; time.Now().Before(deadline); i++ {
				start := time.Now()
				ok, err := l.Keep(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mine = append(mine, span{who: w, from: time.Now(), to: start.Add(ttl)})
					if i%5 == 0 {
						// A release ends every hold of this contender
						// when the call starts.
						time.Sleep(time.Millisecond)
						rel := time.Now()
						for k := range mine {
							if rel.Before(mine[k].to) {
								mine[k].to = rel
							}
						}
						if _, err := l.Release(ctx); err != nil {
							t.Error(err)
							return
						}
					}
				}
				// Pauses from 0 to a little over the ttl, so that many
				// renewals race with the expiry.
				time.Sleep(time.Duration(rand.Int64N(int64(ttl + 5*time.Millisecond))))
			}
			mu.Lock()
			spans = append(spans, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	holders := map[int]bool{}
	for _, s := range spans {
		holders[s.who] = true
	}
	if len(spans) < 50 || len(holders) < 2 {
		t.Fatalf("only %d successful holds by %d contenders: the test did not contend", len(spans), len(holders))
	}
	overlaps := 0
	for i := range spans {
		for j := range spans {
			a, b := spans[i], spans[j]
			if a.who != b.who && a.from.Before(b.to) && b.from.Before(a.to) {
				if overlaps == 0 {
					t0 := spans[0].from
					t.Logf("overlap: %d [%v,%v] and %d [%v,%v]", a.who, a.from.Sub(t0), a.to.Sub(t0), b.who, b.from.Sub(t0), b.to.Sub(t0))
				}
				overlaps++
			}
		}
	}
	if overlaps > 0 {
		t.Fatalf("%d overlapping holds by different contenders out of %d", overlaps/2, len(spans))
	}
	t.Logf("%d holds by %d contenders, no overlap", len(spans), len(holders))
}

func mustBe(t *testing.T, what string, op func(context.Context) (bool, error), want bool) {
	t.Helper()
	got, err := op(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got != want {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}
