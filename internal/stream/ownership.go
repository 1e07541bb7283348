package stream

import (
	"context"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"
)

// Claim retry pacing: the first retry after 100 ms, doubling to 5 s, so a
// partition whose owner lease is still running (another generation, or an
// owner that died without releasing) is retried a few times a minute, and
// at most one "claim failed" line per partition per 30 s is logged.
const (
	claimBackoffMin = 100 * time.Millisecond
	claimBackoffMax = 5 * time.Second
	claimLogEvery   = 30 * time.Second
)

// backoff is an exponential retry delay: min, doubling after every failure
// up to max, with ±20% jitter so tasks that failed together do not retry in
// step. The zero value is not usable; reset starts over after a success.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max} }

// next returns the delay before the next attempt and doubles the delay.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	}
	d := b.cur
	b.cur = min(2*b.cur, b.max)
	jitter := time.Duration(rand.Int64N(int64(d)/5 + 1))
	if rand.IntN(2) == 0 {
		return d - jitter
	}
	return d + jitter
}

// reset makes the next delay min again.
func (b *backoff) reset() { b.cur = 0 }

// logLimiter lets one line through per interval and counts the others, for
// a condition that repeats while it lasts (a retry loop).
type logLimiter struct {
	every      time.Duration
	last       time.Time
	suppressed int
}

// allow reports whether a line may be logged at now, and how many were
// suppressed since the last one that was.
func (l *logLimiter) allow(now time.Time) (bool, int) {
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return true, n
}

// releaseOwner ends the owner lease of partition p held by gen, after the
// task stopped cleanly, so that a new consumer group (whose generations
// start again at 1) can claim the partition at once. A failure only costs
// that wait (the lease runs out), so it is logged, not returned.
func (s *Service) releaseOwner(p int, gen int32) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	released, err := s.d.Store.Release(ctx, p, gen, s.d.InstanceID)
	if err != nil {
		s.d.Metrics.RedisErrors.WithLabelValues("release").Inc()
		s.log.Warn("owner lease not released; a new consumer group waits for it to expire", zap.Int("partition", p), zap.Int32("generation", gen), zap.Error(err))
		return
	}
	s.log.Debug("owner lease released", zap.Int("partition", p), zap.Int32("generation", gen), zap.Bool("held", released))
}
