package perf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"

	"github.com/clvstream/clvstream/pkg/event"
)

// naiveState is the naive processor's per-customer state: a few counters,
// stored as JSON under one key per customer.
type naiveState struct {
	Orders  int     `json:"orders"`
	Spend   float64 `json:"spend"`
	Refunds float64 `json:"refunds"`
	Tickets int     `json:"tickets"`
	Emails  int     `json:"emails"`
	Opens   int     `json:"opens"`
	Last    string  `json:"last"`
}

// naive is the baseline a team writes first: per record, decode the JSON,
// GET the customer's state, update it, SET it back. One worker per
// partition (fed by that partition of every topic) keeps one writer per
// customer, as the service does; no batching, no idempotency.
func naive(ctx context.Context, brokers []string, ends map[string][]int64, partitions int, rdb redis.UniversalClient, prefix string) (int64, error) {
	var n atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for p := 0; p < partitions; p++ {
		in := make(chan kafka.Message, 256)
		var readers sync.WaitGroup
		for topic, parts := range ends {
			readers.Add(1)
			go func() {
				defer readers.Done()
				err := partitionReader(ctx, brokers, topic, p, parts[p], func(m kafka.Message) error {
					select {
					case in <- m:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				})
				if err != nil && ctx.Err() == nil {
					fail(err)
					cancel()
				}
			}()
		}
		go func() { readers.Wait(); close(in) }()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range in {
				if err := naiveApply(ctx, rdb, prefix, m.Value); err != nil {
					if ctx.Err() == nil {
						fail(err)
						cancel()
					}
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return n.Load(), errors.Join(errs...)
}

// naiveApply processes one record: decode, GET, update, SET.
func naiveApply(ctx context.Context, rdb redis.UniversalClient, prefix string, value []byte) error {
	var r event.Record
	if err := json.Unmarshal(value, &r); err != nil {
		return fmt.Errorf("naive: decode: %w", err)
	}
	key := prefix + ":" + r.CustomerID
	var st naiveState
	b, err := rdb.Get(ctx, key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return fmt.Errorf("naive: get: %w", err)
	default:
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("naive: state: %w", err)
		}
	}
	amount, _ := strconv.ParseFloat(r.Amount, 64)
	switch r.Type {
	case event.Purchase:
		st.Orders++
		st.Spend += amount
	case event.Refund:
		st.Refunds += amount
	case event.TicketOpened, event.TicketResolved, event.TicketUpdated, event.TicketReopened:
		st.Tickets++
	case event.EmailOpened, event.EmailClicked:
		st.Opens++
	default:
		st.Emails++
	}
	if r.OccurredAt > st.Last {
		st.Last = r.OccurredAt
	}
	b, _ = json.Marshal(st)
	if err := rdb.Set(ctx, key, b, 0).Err(); err != nil {
		return fmt.Errorf("naive: set: %w", err)
	}
	return nil
}

// deleteKeys removes every key matching pattern (best effort, in pages).
func deleteKeys(ctx context.Context, rdb redis.UniversalClient, pattern string) (int, error) {
	n := 0
	var batch []string
	iter := rdb.Scan(ctx, 0, pattern, 2000).Iterator()
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
				return n, err
			}
			n += len(batch)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
			return n, err
		}
		n += len(batch)
	}
	if err := iter.Err(); err != nil {
		return n, err
	}
	// Let lazy freeing finish before memory is sampled again.
	time.Sleep(100 * time.Millisecond)
	return n, nil
}
