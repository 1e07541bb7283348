package state

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// releaseScript ends the owner lease of a partition if the caller is still
// its owner (same generation and same owner name): lease_until becomes 0,
// so the next Claim succeeds whatever its generation. gen and owner stay,
// so a commit by the same generation is still fenced by generation only.
var releaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'gen') == ARGV[1] and redis.call('HGET', KEYS[1], 'owner') == ARGV[2] then
  redis.call('HSET', KEYS[1], 'lease_until', 0)
  return 1
end
return 0
`)

// Release ends the owner lease of partition p held by generation gen of
// member owner, and reports whether it did. A task calls it when it stops
// cleanly (after its final commit), so that a consumer group whose
// generations restart from 1 (a new group id, or a recreated group) can
// claim the partition at once instead of waiting for the lease to run out.
// When another generation or owner has claimed the partition since, it
// does nothing.
func (s *Store) Release(ctx context.Context, p int, gen int32, owner string) (bool, error) {
	n, err := releaseScript.Run(ctx, s.rdb, []string{s.Keys(p).Meta}, strconv.Itoa(int(gen)), owner).Int()
	if err != nil {
		return false, fmt.Errorf("release partition %d: %w", p, err)
	}
	return n == 1, nil
}
