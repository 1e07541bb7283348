package stream

import "container/list"

// stateCache keeps the encoded states of a task's customers, so a hot
// customer needs no load round trip. It belongs to one task of one
// generation: the task is the partition's only writer while its fence
// holds, so a cached entry is exactly what Redis holds after the task's own
// commits. It is dropped whenever that may not be true (any failed commit,
// a conflict, a re-claim). Entries are evicted least recently used first
// once their bytes exceed the budget. Not safe for concurrent use: only the
// task's goroutine touches it.
type stateCache struct {
	budget int
	bytes  int
	ll     *list.List
	m      map[string]*list.Element
}

type cacheEntry struct {
	id   string
	data []byte // nil: known to have no stored state
	due  int64  // stored due time (Unix ms), 0 for none
}

// entryOverhead approximates the map, list and header cost of one entry.
const entryOverhead = 120

func newStateCache(budget int) *stateCache {
	return &stateCache{budget: budget, ll: list.New(), m: map[string]*list.Element{}}
}

func (c *stateCache) get(id string) (cacheEntry, bool) {
	e, ok := c.m[id]
	if !ok {
		return cacheEntry{}, false
	}
	c.ll.MoveToFront(e)
	return *e.Value.(*cacheEntry), true
}

func (c *stateCache) put(id string, data []byte, due int64) {
	if e, ok := c.m[id]; ok {
		v := e.Value.(*cacheEntry)
		c.bytes += len(data) - len(v.data)
		v.data, v.due = data, due
		c.ll.MoveToFront(e)
	} else {
		c.m[id] = c.ll.PushFront(&cacheEntry{id: id, data: data, due: due})
		c.bytes += len(data) + len(id) + entryOverhead
	}
	for c.bytes > c.budget && c.ll.Len() > 0 {
		e := c.ll.Back()
		old := e.Value.(*cacheEntry)
		c.ll.Remove(e)
		delete(c.m, old.id)
		c.bytes -= len(old.data) + len(old.id) + entryOverhead
	}
}

// setDue updates a cached entry's due time, if the customer is cached.
func (c *stateCache) setDue(id string, due int64) {
	if e, ok := c.m[id]; ok {
		e.Value.(*cacheEntry).due = due
	}
}
