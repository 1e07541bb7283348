package refit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clvstream/clvstream/internal/lease"

	"github.com/clvstream/clvstream/internal/model"
)

// Store keeps the published model versions in Redis, under the hash tag
// {<prefix>:model}:
//
//	{clv:model}:current   JSON Record of the version in force
//	{clv:model}:history   list of the last 20 published Records, newest first
//	{clv:model}:version   the current version number (cheap to poll)
//	{clv:model}:lock      the refit lock: owner token, with expiry
//	{clv:model}:refit     set to ask the lock holder for a refit now
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewStore returns a model store on the key prefix.
func NewStore(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

func (s *Store) key(name string) string { return fmt.Sprintf("{%s:model}:%s", s.prefix, name) }

// Version returns the current version number, 0 when none was published.
func (s *Store) Version(ctx context.Context) (int64, error) {
	v, err := s.rdb.Get(ctx, s.key("version")).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, err
}

// Current returns the model in force, or nil when none was published.
func (s *Store) Current(ctx context.Context) (*model.Record, error) {
	b, err := s.rdb.Get(ctx, s.key("current")).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	var r model.Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode model: %w", err)
	}
	return &r, nil
}

// History returns up to the last 20 published records, newest first.
func (s *Store) History(ctx context.Context) ([]model.Record, error) {
	vals, err := s.rdb.LRange(ctx, s.key("history"), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	out := make([]model.Record, 0, len(vals))
	for _, v := range vals {
		var r model.Record
		if json.Unmarshal([]byte(v), &r) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

var publishScript = redis.NewScript(`
if redis.call('GET', KEYS[4]) ~= ARGV[2] then
  return redis.error_reply('NOT_OWNER refit lock lost')
end
local v = redis.call('INCR', KEYS[3])
local rec = string.gsub(ARGV[1], '"version":0,', '"version":' .. v .. ',', 1)
redis.call('SET', KEYS[1], rec)
redis.call('LPUSH', KEYS[2], rec)
redis.call('LTRIM', KEYS[2], 0, 19)
return v
`)

// Publish stores r as the next version, provided the caller still holds the
// refit lock with token. It returns the version assigned.
func (s *Store) Publish(ctx context.Context, r model.Record, token string) (int64, error) {
	r.Version = 0
	b, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	v, err := publishScript.Run(ctx, s.rdb, []string{s.key("current"), s.key("history"), s.key("version"), s.key("lock")}, b, token).Int64()
	if err != nil {
		return 0, fmt.Errorf("publish model: %w", err)
	}
	return v, nil
}

// Lock takes the refit lock for ttl, or renews it when token already holds
// it, and reports whether token holds it afterwards. The lock is a lease
// (package lease): atomic, so two instances never both hold it.
func (s *Store) Lock(ctx context.Context, token string, ttl time.Duration) (bool, error) {
	return lease.New(s.rdb, s.key("lock"), token, ttl).Keep(ctx)
}

// Unlock releases the lock if token holds it; a lock held by another token
// is left alone.
func (s *Store) Unlock(ctx context.Context, token string) error {
	_, err := lease.New(s.rdb, s.key("lock"), token, time.Millisecond).Release(ctx)
	return err
}

// RequestRefit asks the instance holding the lock to refit at its next check.
func (s *Store) RequestRefit(ctx context.Context) error {
	return s.rdb.Set(ctx, s.key("refit"), time.Now().UTC().Format(time.RFC3339), 0).Err()
}

// TakeRefitRequest reports whether a refit was requested, clearing the request.
func (s *Store) TakeRefitRequest(ctx context.Context) (bool, error) {
	n, err := s.rdb.Del(ctx, s.key("refit")).Result()
	return n > 0, err
}
