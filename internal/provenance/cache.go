package provenance

import (
	"container/list"
	"sync"
)

// entryCacheSize is how many decoded entries a Reader keeps: enough for
// the chains of many lots at once, and a bound on memory whatever the size
// of the ledger.
const entryCacheSize = 8192

// entryCache holds recently read entries, decoded, least recently used
// first out. An entry never changes once appended, so a cached one is
// always current. What it holds is shared by every caller and never
// modified.
type entryCache struct {
	mu    sync.Mutex
	order *list.List // of item, most recently used first
	items map[uint64]*list.Element
}

func newEntryCache() *entryCache {
	return &entryCache{order: list.New(), items: map[uint64]*list.Element{}}
}

func (c *entryCache) get(seq uint64) (item, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[seq]
	if !ok {
		return item{}, false
	}
	c.order.MoveToFront(e)
	return e.Value.(item), true
}

func (c *entryCache) put(it item) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[it.ref.Seq]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.items[it.ref.Seq] = c.order.PushFront(it)
	if c.order.Len() > entryCacheSize {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(item).ref.Seq)
	}
}
