package stream

import (
	"context"
	"sync"
	"time"

	"github.com/clvstream/clvstream/internal/core"
)

// merger holds the fetched records of a task's input partitions and hands
// them out in event-time order: the next record is the earliest head among
// the partitions (ties by topic order). A partition with nothing buffered
// that is not known to be caught up may still hold earlier records, so the
// merger waits for it, at most maxWait; that bounded wait keeps one topic
// from dragging the clock ahead of another, as Kafka Streams does.
//
// Each partition's buffer is bounded on its own (a full partition blocks
// only its own fetcher), so a partition the merge waits for can always
// deliver. push is called by the fetchers, everything else by the task's
// goroutine; the methods are safe for that concurrent use.
type merger struct {
	mu       sync.Mutex
	queues   [][]*core.Decoded
	caughtUp []bool
	space    []chan struct{} // tokens: free buffer slots per partition
	n        int
	maxWait  time.Duration
	blocked  time.Time // since when a behind partition holds the merge
	wake     chan struct{}
}

func newMerger(sources, perSource int, maxWait time.Duration) *merger {
	m := &merger{queues: make([][]*core.Decoded, sources), caughtUp: make([]bool, sources), maxWait: maxWait,
		space: make([]chan struct{}, sources), wake: make(chan struct{}, 1)}
	for i := range m.space {
		m.space[i] = make(chan struct{}, perSource)
		for j := 0; j < perSource; j++ {
			m.space[i] <- struct{}{}
		}
	}
	return m
}

// push adds a record of partition src (nil: only the news whether it is
// caught up), waiting for buffer space; it returns false when ctx ended.
func (m *merger) push(ctx context.Context, src int, rec *core.Decoded, caughtUp bool) bool {
	if rec != nil {
		select {
		case <-m.space[src]:
		case <-ctx.Done():
			return false
		}
	}
	m.mu.Lock()
	if rec != nil {
		m.queues[src] = append(m.queues[src], rec)
		m.n++
	}
	m.caughtUp[src] = caughtUp
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return true
}

// len is the number of buffered records.
func (m *merger) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// idle reports whether every partition is caught up and nothing is
// buffered.
func (m *merger) idle() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n > 0 {
		return false
	}
	for _, c := range m.caughtUp {
		if !c {
			return false
		}
	}
	return true
}

// take appends to out up to limit records in merge order. It stops early
// at a partition that is behind with nothing buffered, unless it has
// waited maxWait for it already (then waited reports true).
func (m *merger) take(out []core.Decoded, limit int, now time.Time) (_ []core.Decoded, waited bool) {
	limit += len(out)
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(out) < limit && m.n > 0 {
		best := -1
		var bestAt int64
		stall := false
		for i, q := range m.queues {
			if len(q) == 0 {
				if !m.caughtUp[i] {
					stall = true
				}
				continue
			}
			// A dead letter has no event time: it goes first, it
			// cannot change any state.
			at := q[0].At()
			if best < 0 || at < bestAt {
				best, bestAt = i, at
			}
		}
		if stall {
			if m.blocked.IsZero() {
				m.blocked = now
			}
			if now.Sub(m.blocked) < m.maxWait {
				return out, waited
			}
			waited = true
		} else {
			m.blocked = time.Time{}
		}
		q := m.queues[best]
		out = append(out, *q[0])
		q[0] = nil
		m.queues[best] = q[1:]
		m.n--
		m.space[best] <- struct{}{}
	}
	return out, waited
}
