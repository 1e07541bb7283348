package state

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// OutboxRecord is one record for the outbox relay. Dest names the topic
// it goes to by its role: "" for the segment-changes topic, DestReferrals
// for the referrals topic.
type OutboxRecord struct {
	Key   string
	Value []byte
	Dest  string
}

// DestReferrals is the destination of referral credits
// (kafka.topics.referrals).
const DestReferrals = "referrals"

// outboxVersion is the first byte of a packed outbox entry.
const outboxVersion = 1

// AppendOutbox appends to dst the packed form of recs that a commit
// stores as one outbox entry (field b; docs/state.md, "The outbox"): a
// version byte, then per record the key, the value and the destination,
// each as a uvarint length and its bytes.
func AppendOutbox(dst []byte, recs []OutboxRecord) []byte {
	if len(recs) == 0 {
		return dst
	}
	n := 1
	for _, r := range recs {
		n += 3*binary.MaxVarintLen32 + len(r.Key) + len(r.Value) + len(r.Dest)
	}
	dst = slices.Grow(dst, n)
	dst = append(dst, outboxVersion)
	for _, r := range recs {
		dst = binary.AppendUvarint(dst, uint64(len(r.Key)))
		dst = append(dst, r.Key...)
		dst = binary.AppendUvarint(dst, uint64(len(r.Value)))
		dst = append(dst, r.Value...)
		dst = binary.AppendUvarint(dst, uint64(len(r.Dest)))
		dst = append(dst, r.Dest...)
	}
	return dst
}

// errPacked marks a packed outbox entry that does not decode.
var errPacked = errors.New("malformed packed outbox entry")

// parseOutbox decodes a packed entry of n records (AppendOutbox). The
// values share b's memory.
func parseOutbox(b []byte, n int) ([]OutboxRecord, error) {
	if len(b) == 0 || b[0] != outboxVersion {
		return nil, fmt.Errorf("%w: unknown version", errPacked)
	}
	b = b[1:]
	field := func() ([]byte, error) {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, errPacked
		}
		f := b[k : k+int(l) : k+int(l)]
		b = b[k+int(l):]
		return f, nil
	}
	out := make([]OutboxRecord, 0, n)
	for len(b) > 0 {
		key, err := field()
		if err != nil {
			return nil, err
		}
		value, err := field()
		if err != nil {
			return nil, err
		}
		dest, err := field()
		if err != nil {
			return nil, err
		}
		out = append(out, OutboxRecord{Key: string(key), Value: value, Dest: string(dest)})
	}
	if len(out) != n {
		return nil, fmt.Errorf("%w: %d records, n says %d", errPacked, len(out), n)
	}
	return out, nil
}

// OutboxEntry is one entry read from the outbox: the records of one
// commit, or one record written by a release before entries were packed.
type OutboxEntry struct {
	ID string
	// Counted is the number of records the entry adds to the backlog
	// count (OutboxLen): 0 for an entry of an older release.
	Counted int
	Records []OutboxRecord
}

// ReadOutbox returns up to count of the oldest outbox entries of
// partition p.
func (s *Store) ReadOutbox(ctx context.Context, p int, count int64) ([]OutboxEntry, error) {
	// The reply is read as plain arrays (id, [field, value, ...]): the
	// client's XRANGE builds a map per entry.
	reply, err := s.rdb.Do(ctx, "XRANGE", s.Keys(p).Outbox, "-", "+", "COUNT", count).Slice()
	if err != nil {
		return nil, fmt.Errorf("read outbox of partition %d: %w", p, err)
	}
	out := make([]OutboxEntry, 0, len(reply))
	for _, x := range reply {
		e, ok := x.([]any)
		if !ok || len(e) != 2 {
			return nil, fmt.Errorf("read outbox of partition %d: malformed entry %v", p, x)
		}
		id, _ := e[0].(string)
		fields, _ := e[1].([]any)
		var one OutboxRecord // an entry of an older release: fields k, v, d
		var packed string
		n := -1
		for i := 0; i+1 < len(fields); i += 2 {
			f, _ := fields[i].(string)
			v, _ := fields[i+1].(string)
			switch f {
			case "k":
				one.Key = v
			case "v":
				one.Value = []byte(v)
			case "d":
				one.Dest = v
			case "n":
				if n, err = strconv.Atoi(v); err != nil {
					return nil, fmt.Errorf("read outbox of partition %d: entry %s: %w: n=%q", p, id, errPacked, v)
				}
			case "b":
				packed = v
			}
		}
		entry := OutboxEntry{ID: id}
		if n < 0 {
			entry.Records = []OutboxRecord{one}
		} else {
			if entry.Records, err = parseOutbox([]byte(packed), n); err != nil {
				return nil, fmt.Errorf("read outbox of partition %d: entry %s: %w", p, id, err)
			}
			entry.Counted = n
		}
		out = append(out, entry)
	}
	return out, nil
}

// ackScript deletes delivered entries (KEYS[1] the outbox, KEYS[2] its
// record count; ARGV id, counted pairs), takes their records off the
// count, once per entry however often it is acknowledged, and returns the
// records left (as OutboxLen). The count is a key of its own, not a field
// of the meta hash, whose writes would make commits (which WATCH it) start
// over.
var ackScript = redis.NewScript(`
for j = 1, #ARGV, 2 do
  if redis.call('XDEL', KEYS[1], ARGV[j]) == 1 and ARGV[j+1] ~= '0' then
    redis.call('DECRBY', KEYS[2], ARGV[j+1])
  end
end
local entries = redis.call('XLEN', KEYS[1])
if entries == 0 then
  redis.call('DEL', KEYS[2])
  return 0
end
return math.max(entries, tonumber(redis.call('GET', KEYS[2]) or '0'))
`)

// AckOutbox deletes delivered outbox entries of partition p and returns
// the number of records left in its outbox (as OutboxLen).
func (s *Store) AckOutbox(ctx context.Context, p int, entries []OutboxEntry) (int64, error) {
	if len(entries) == 0 {
		return s.OutboxLen(ctx, p)
	}
	args := make([]any, 0, 2*len(entries))
	for _, e := range entries {
		args = append(args, e.ID, e.Counted)
	}
	k := s.Keys(p)
	left, err := ackScript.Run(ctx, s.rdb, []string{k.Outbox, k.OutboxLen}, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("ack outbox of partition %d: %w", p, err)
	}
	return left, nil
}

// OutboxLen returns the number of undelivered outbox records of partition
// p: the count commits add and acknowledgements take off, or the number of
// entries when that is larger (entries of an older release hold one record
// each and are not counted).
func (s *Store) OutboxLen(ctx context.Context, p int) (int64, error) {
	k := s.Keys(p)
	pipe := s.rdb.Pipeline()
	entries := pipe.XLen(ctx, k.Outbox)
	counted := pipe.Get(ctx, k.OutboxLen)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("outbox length of partition %d: %w", p, err)
	}
	n, _ := counted.Int64()
	if entries.Val() == 0 {
		return 0, nil
	}
	return max(n, entries.Val()), nil
}
