package state

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clvstream/clvstream/pkg/customer"
)

// ErrFenced means another generation owns the partition: the caller must
// stop working on it. It is permanent for the caller.
var ErrFenced = errors.New("state: partition owned by another generation")

// ErrOffsetConflict means the stored offsets are not where the batch started:
// someone else applied records. Permanent for the caller's task.
var ErrOffsetConflict = errors.New("state: stored offset differs from the batch's start")

// Store reads and writes task state in Redis. It is safe for concurrent use;
// the single-writer rule per partition is enforced by the fence, not by the
// Store.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	lease  time.Duration
	now    func() time.Time
	// beforeExec, when set (by tests), runs between a commit's checks and
	// its EXEC.
	beforeExec func()
}

// New returns a store with key prefix prefix (e.g. "clv") and owner lease
// lease (how long a silent owner keeps the partition against a claim from
// an older or unrelated generation).
func New(rdb redis.UniversalClient, prefix string, lease time.Duration) *Store {
	return &Store{rdb: rdb, prefix: prefix, lease: lease, now: time.Now}
}

// Keys are the Redis keys of one partition.
type Keys struct{ Meta, Customers, Due, Outbox, OutboxLen, Quarantine string }

// Keys returns the keys of partition p.
func (s *Store) Keys(p int) Keys {
	tag := fmt.Sprintf("{%s:%d}", s.prefix, p)
	return Keys{Meta: tag + ":meta", Customers: tag + ":customers", Due: tag + ":due", Outbox: tag + ":outbox", OutboxLen: tag + ":outboxlen", Quarantine: tag + ":quarantine"}
}

// Checkpoint is what a task resumes from.
type Checkpoint struct {
	// Offsets maps input topic to the next offset to apply; a topic with
	// no entry has never been applied.
	Offsets map[string]int64
	// Watermark is the latest event time applied and Clock the scoring
	// clock (Unix ms), both 0 when nothing was applied.
	Watermark int64
	Clock     int64
	// ModelDone identifies the scoring (model version and scoring
	// configuration, as the stream task writes it) every stored customer
	// was last re-scored under ("" for none), so a restart under the same
	// scoring does not walk the partition again.
	ModelDone string
}

var claimScript = redis.NewScript(`
local gen = tonumber(ARGV[1])
local now = tonumber(ARGV[3])
local cur = redis.call('HGET', KEYS[1], 'gen')
local lease = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0')
if cur and tonumber(cur) > gen and lease > now then
  return redis.error_reply('FENCED partition owned by generation ' .. cur)
end
redis.call('HSET', KEYS[1], 'gen', gen, 'owner', ARGV[2], 'lease_until', now + tonumber(ARGV[4]))
return redis.call('HGETALL', KEYS[1])
`)

// Stored returns the generation and applied offsets stored for partition
// p (one HGETALL of the meta hash), for a task to check that Redis still
// holds what it committed.
func (s *Store) Stored(ctx context.Context, p int) (gen int32, offsets map[string]int64, err error) {
	m, err := s.rdb.HGetAll(ctx, s.Keys(p).Meta).Result()
	if err != nil {
		return 0, nil, fmt.Errorf("read the checkpoint of partition %d: %w", p, err)
	}
	offsets = map[string]int64{}
	for f, v := range m {
		n, _ := strconv.ParseInt(v, 10, 64)
		switch {
		case strings.HasPrefix(f, "off:"):
			offsets[strings.TrimPrefix(f, "off:")] = n
		case f == "gen":
			gen = int32(n)
		}
	}
	return gen, offsets, nil
}

// Claim makes generation gen (of member owner) the owner of partition p and
// returns the checkpoint to resume from. It returns ErrFenced while a newer
// generation holds an unexpired lease.
func (s *Store) Claim(ctx context.Context, p int, gen int32, owner string) (Checkpoint, error) {
	k := s.Keys(p)
	res, err := claimScript.Run(ctx, s.rdb, []string{k.Meta}, gen, owner, s.now().UnixMilli(), s.lease.Milliseconds()).StringSlice()
	if err != nil {
		if strings.Contains(err.Error(), "FENCED") {
			return Checkpoint{}, fmt.Errorf("claim partition %d: %w: %v", p, ErrFenced, err)
		}
		return Checkpoint{}, fmt.Errorf("claim partition %d: %w", p, err)
	}
	cp := Checkpoint{Offsets: map[string]int64{}}
	for i := 0; i+1 < len(res); i += 2 {
		f, v := res[i], res[i+1]
		n, _ := strconv.ParseInt(v, 10, 64)
		switch {
		case strings.HasPrefix(f, "off:"):
			cp.Offsets[strings.TrimPrefix(f, "off:")] = n
		case f == "wm":
			cp.Watermark = n
		case f == "clk":
			cp.Clock = n
		case f == "model_done":
			cp.ModelDone = v
		}
	}
	return cp, nil
}

// Load returns the stored states of ids in partition p; unknown customers
// get a fresh State.
func (s *Store) Load(ctx context.Context, p int, ids []string) (map[string]*customer.State, error) {
	out := make(map[string]*customer.State, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, s.Keys(p).Customers, ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("load %d customers of partition %d: %w", len(ids), p, err)
	}
	for i, v := range vals {
		st := &customer.State{ID: ids[i]}
		if str, ok := v.(string); ok {
			if err := DecodeState([]byte(str), st); err != nil {
				return nil, fmt.Errorf("decode state of customer in partition %d: %w", p, err)
			}
		}
		out[ids[i]] = st
	}
	return out, nil
}

// LoadRaw returns the stored encodings of ids in partition p, nil for an
// unknown customer, and the stored due times of dueIDs (Unix ms, 0 for
// none), in one round trip (HMGET and ZMSCORE, Redis 6.2 or later): a
// known due time that did not change is not written again. A caller that
// knows a customer's due time already (a timer read from the due-set)
// leaves it out of dueIDs.
func (s *Store) LoadRaw(ctx context.Context, p int, ids, dueIDs []string) ([][]byte, []int64, error) {
	out, dues := make([][]byte, len(ids)), make([]int64, len(dueIDs))
	if len(ids) == 0 && len(dueIDs) == 0 {
		return out, dues, nil
	}
	k := s.Keys(p)
	var vals *redis.SliceCmd
	var scores *redis.FloatSliceCmd
	if _, err := s.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		if len(ids) > 0 {
			vals = pl.HMGet(ctx, k.Customers, ids...)
		}
		if len(dueIDs) > 0 {
			scores = pl.ZMScore(ctx, k.Due, dueIDs...)
		}
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("load %d customers of partition %d: %w", len(ids), p, err)
	}
	if vals != nil {
		for i, v := range vals.Val() {
			if str, ok := v.(string); ok {
				out[i] = []byte(str)
			}
		}
	}
	if scores != nil {
		sc := scores.Val()
		if len(sc) != len(dueIDs) {
			return nil, nil, fmt.Errorf("load %d customers of partition %d: %d due times for %d", len(ids), p, len(sc), len(dueIDs))
		}
		for i, f := range sc {
			dues[i] = int64(f) // a member not in the set reads as 0: no due time
		}
	}
	return out, dues, nil
}

// EncodeState is the stored encoding of a customer state: the versioned
// binary codec of pkg/customer (docs/state.md).
func EncodeState(st *customer.State) ([]byte, error) { return st.MarshalBinary() }

// AppendState appends the stored encoding of st to b.
func AppendState(b []byte, st *customer.State) ([]byte, error) { return st.AppendBinary(b) }

// DecodeState decodes a stored state into st, reusing st's slices; it also
// reads the JSON states of earlier versions (migrated on their next
// write). An error wraps customer.ErrMalformed when the bytes are not a
// state at all.
func DecodeState(b []byte, st *customer.State) error {
	id := st.ID
	if err := st.UnmarshalBinary(b); err != nil {
		return err
	}
	if st.ID == "" {
		st.ID = id
	}
	return nil
}

// OffsetRange is the move of one input topic's applied offset in a batch:
// From is the stored offset the batch started from (-1 when none was
// stored), To the next offset to apply after the batch.
type OffsetRange struct{ From, To int64 }

// Raw is a customer's encoded state.
type Raw struct {
	ID   string
	Data []byte
}

// Batch is everything one batch commit writes.
type Batch struct {
	Gen     int32
	Offsets map[string]OffsetRange
	// States are encoded by the store; Raw are already encoded.
	States []*customer.State
	Raw    []Raw
	Due    map[string]int64 // customer -> next due (Unix ms); 0 removes
	Outbox []OutboxRecord
	// Watermark and Clock only move forward (see Checkpoint).
	Watermark int64
	Clock     int64
	// Quarantine keeps states that could not be decoded, raw, aside in
	// the partition's quarantine hash.
	Quarantine []Raw
	// ModelDone, when not empty, records the scoring (model version and
	// scoring configuration) the partition was fully re-scored under.
	ModelDone string
}

// Timer is a stored due time.
type Timer struct {
	ID  string
	Due int64
}

// Timers returns up to limit customers of partition p due at or before
// max (Unix ms), earliest first, with their due times.
func (s *Store) Timers(ctx context.Context, p int, min, max int64, limit int64) ([]Timer, error) {
	zs, err := s.rdb.ZRangeByScoreWithScores(ctx, s.Keys(p).Due, &redis.ZRangeBy{Min: strconv.FormatInt(min, 10), Max: strconv.FormatInt(max, 10), Count: limit}).Result()
	if err != nil {
		return nil, fmt.Errorf("due customers of partition %d: %w", p, err)
	}
	out := make([]Timer, len(zs))
	for i, z := range zs {
		id, _ := z.Member.(string)
		out[i] = Timer{ID: id, Due: int64(z.Score)}
	}
	return out, nil
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

// CheckVersion checks that Redis is 6.2 or later (loads use ZMSCORE). A
// server that does not say its version in INFO (some managed services
// hide it, an embedded one has no server section) is let through.
func (s *Store) CheckVersion(ctx context.Context) error {
	info, err := s.rdb.Info(ctx, "server").Result()
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok && !versionAtLeast(v, 6, 2) {
			return fmt.Errorf("Redis %s is too old: clvstream needs 6.2 or later (ZMSCORE)", v)
		}
	}
	return nil
}

// versionAtLeast reports whether the dotted version v is at least
// major.minor; a version it cannot read counts as new enough.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return true
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return ma > major || (ma == major && mi >= minor)
}

// Each calls fn for every stored customer state of every partition. It
// reads with SCAN/HSCAN, so it does not block Redis, and sees a state as of
// some instant during the walk.
func (s *Store) Each(ctx context.Context, fn func(p int, st *customer.State) error) error {
	return s.scanKeys(ctx, fmt.Sprintf("{%s:*}:customers", s.prefix), func(key string) error {
		var p int
		if _, err := fmt.Sscanf(strings.TrimPrefix(key, "{"+s.prefix+":"), "%d}", &p); err != nil {
			return nil // not a partition key of ours
		}
		return s.scanStates(ctx, key, p, -1, fn)
	})
}

// scanStates decodes the states of partition p's hash key in HSCAN order
// and calls fn for each, stopping after limit states (all for limit < 0).
func (s *Store) scanStates(ctx context.Context, key string, p int, limit int64, fn func(p int, st *customer.State) error) error {
	if limit == 0 {
		return nil
	}
	hi := s.rdb.HScan(ctx, key, 0, "", 500).Iterator()
	var n int64
	for hi.Next(ctx) {
		if !hi.Next(ctx) {
			break
		}
		st := &customer.State{}
		if err := DecodeState([]byte(hi.Val()), st); err != nil {
			return fmt.Errorf("decode state in %s: %w", key, err)
		}
		if err := fn(p, st); err != nil {
			return err
		}
		if n++; n == limit {
			return nil
		}
	}
	if err := hi.Err(); err != nil {
		return fmt.Errorf("scan %s: %w", key, err)
	}
	return nil
}

// Sample calls fn for a uniform sample of at most max stored customer
// states and returns how many are stored (HLEN of every partition's hash).
// With no more than max stored, every state is read. Otherwise each
// partition gives its share, round(max·n_p/N), in the order HSCAN returns
// its fields: the order of Redis's hash table, which places fields by a
// keyed hash of the customer id, so the share is a uniform sample (and the
// same customers from one call to the next while the table is not
// resized).
func (s *Store) Sample(ctx context.Context, max int, fn func(p int, st *customer.State) error) (int, error) {
	type part struct {
		key string
		p   int
		n   int64
	}
	var parts []part
	var total int64
	err := s.scanKeys(ctx, fmt.Sprintf("{%s:*}:customers", s.prefix), func(key string) error {
		var p int
		if _, err := fmt.Sscanf(strings.TrimPrefix(key, "{"+s.prefix+":"), "%d}", &p); err != nil {
			return nil // not a partition key of ours
		}
		n, err := s.rdb.HLen(ctx, key).Result()
		if err != nil {
			return fmt.Errorf("hlen %s: %w", key, err)
		}
		parts = append(parts, part{key, p, n})
		total += n
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, pt := range parts {
		want := pt.n
		if total > int64(max) {
			want = int64(math.Round(float64(max) * float64(pt.n) / float64(total)))
		}
		if err := s.scanStates(ctx, pt.key, pt.p, want, fn); err != nil {
			return 0, err
		}
	}
	return int(total), nil
}

// scanKeys calls fn for every key matching pattern. On Redis Cluster it
// scans every master (a SCAN only covers the node it is sent to).
func (s *Store) scanKeys(ctx context.Context, pattern string, fn func(key string) error) error {
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 100).Iterator()
		for iter.Next(ctx) {
			if err := fn(iter.Val()); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		var mu sync.Mutex // fn is not required to be safe for concurrent use
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			return scan(ctx, c)
		})
	}
	return scan(ctx, s.rdb)
}

// Scan returns a page of the stored states of partition p from cursor
// (HSCAN; 0 starts), and the next cursor (0 when the walk is complete).
func (s *Store) Scan(ctx context.Context, p int, cursor uint64, count int64) ([]*customer.State, uint64, error) {
	kv, next, err := s.rdb.HScan(ctx, s.Keys(p).Customers, cursor, "", count).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("scan customers of partition %d: %w", p, err)
	}
	out := make([]*customer.State, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		st := &customer.State{}
		if err := DecodeState([]byte(kv[i+1]), st); err != nil {
			return nil, 0, fmt.Errorf("decode state in partition %d: %w", p, err)
		}
		out = append(out, st)
	}
	return out, next, nil
}

// MaxWatermark returns the latest event time (Unix ms) over all partitions,
// 0 when nothing was applied yet.
func (s *Store) MaxWatermark(ctx context.Context) (int64, error) {
	var max int64
	err := s.scanKeys(ctx, fmt.Sprintf("{%s:*}:meta", s.prefix), func(key string) error {
		if v, err := s.rdb.HGet(ctx, key, "wm").Int64(); err == nil && v > max {
			max = v
		}
		return nil
	})
	return max, err
}

// partitionsKey holds the input partition count, written by the service at
// start-up so that readers (the API) can find a customer's partition.
func (s *Store) partitionsKey() string { return fmt.Sprintf("{%s:meta}:partitions", s.prefix) }

// SetPartitions records the input partition count.
func (s *Store) SetPartitions(ctx context.Context, n int) error {
	return s.rdb.Set(ctx, s.partitionsKey(), n, 0).Err()
}

// Partitions returns the recorded input partition count (0 when the
// service never started).
func (s *Store) Partitions(ctx context.Context) (int, error) {
	n, err := s.rdb.Get(ctx, s.partitionsKey()).Int()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return n, err
}
