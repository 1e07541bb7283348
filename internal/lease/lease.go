package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease is one lease key as seen by one holder (its token). A Lease is safe
// for concurrent use; it keeps no state besides its configuration, so what
// Redis stores is the only truth about who holds it.
type Lease struct {
	rdb   redis.UniversalClient
	key   string
	token string
	ttl   time.Duration
}

// New returns the lease key for the holder token with time to live ttl
// (rounded to milliseconds; at least 1 ms). Build token with Token.
func New(rdb redis.UniversalClient, key, token string, ttl time.Duration) *Lease {
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	return &Lease{rdb: rdb, key: key, token: token, ttl: ttl}
}

// Token returns a holder token: owner (an instance name, for people reading
// the key) followed by 64 random bits, so that two holders with the same
// owner name never share a token.
func Token(owner string) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return owner + "/" + hex.EncodeToString(b[:])
}

// Key returns the Redis key of the lease.
func (l *Lease) Key() string { return l.key }

// Token returns the holder token the lease is taken with.
func (l *Lease) Token() string { return l.token }

// TTL returns the time to live set by Acquire and Renew.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Acquire takes the lease if nobody holds it (SET NX PX) and reports whether
// it did. It reports false when the lease is held, by another holder or by
// this one (use Keep to take or extend).
func (l *Lease) Acquire(ctx context.Context) (bool, error) {
	err := l.rdb.Do(ctx, "SET", l.key, l.token, "NX", "PX", l.ttl.Milliseconds()).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, redis.Nil):
		return false, nil
	default:
		return false, fmt.Errorf("acquire lease %s: %w", l.key, err)
	}
}

var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Renew extends the lease to a full time to live from now if this holder
// holds it, and reports whether it did. A lease held by another, or expired,
// is left alone.
func (l *Lease) Renew(ctx context.Context) (bool, error) {
	n, err := renewScript.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("renew lease %s: %w", l.key, err)
	}
	return n == 1, nil
}

// Keep renews the lease if this holder holds it, else tries to acquire it;
// it reports whether the holder holds it afterwards. It is what a periodic
// job calls at each tick. Both steps are atomic, so between them another
// holder can at most take the lease, never share it.
func (l *Lease) Keep(ctx context.Context) (bool, error) {
	if ok, err := l.Renew(ctx); err != nil || ok {
		return ok, err
	}
	return l.Acquire(ctx)
}

// Release deletes the lease if this holder holds it, and reports whether it
// did. Releasing a lease held by another (or expired) does nothing.
func (l *Lease) Release(ctx context.Context) (bool, error) {
	n, err := releaseScript.Run(ctx, l.rdb, []string{l.key}, l.token).Int()
	if err != nil {
		return false, fmt.Errorf("release lease %s: %w", l.key, err)
	}
	return n == 1, nil
}

// ReleaseTimeout releases the lease on a fresh context bounded by timeout:
// for deferred calls at shutdown, when the caller's context is already done.
func (l *Lease) ReleaseTimeout(timeout time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return l.Release(ctx)
}

// Holder returns the token holding the lease, "" when nobody does.
func (l *Lease) Holder(ctx context.Context) (string, error) {
	v, err := l.rdb.Get(ctx, l.key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read lease %s: %w", l.key, err)
	}
	return v, nil
}
