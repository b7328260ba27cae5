package provenance

import (
	"container/list"
	"sync"
)

// Sizes of a Reader's caches: enough for the chains of many lots at once,
// and a bound on memory whatever the size of the ledger.
const (
	// entryCacheSize bounds the decoded entries kept.
	entryCacheSize = 8192
	// partyCacheSize bounds the parties' first entries kept.
	partyCacheSize = 4096
	// lotCacheSize bounds the lots whose sale, and whose outputs, are kept.
	lotCacheSize = 8192
	// hopCacheSize bounds the hop ids whose entry is kept.
	hopCacheSize = 8192
	// subjectCacheSize bounds the hops whose attestations are kept.
	subjectCacheSize = 8192
	// maxCachedSeqs bounds the sequence numbers one cached list holds; a
	// longer list is read from the index each time.
	maxCachedSeqs = 64
)

// lru is a map of at most max entries, least recently used first out. It
// is safe for concurrent use. What it holds is shared by every caller and
// never modified.
type lru[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // of lruItem, most recently used first
	items map[K]*list.Element
}

type lruItem[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, order: list.New(), items: map[K]*list.Element{}}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(lruItem[K, V]).val, true
}

// put stores v under k. An entry already there is replaced only if keep
// says so (nil: always).
func (c *lru[K, V]) put(k K, v V, keep func(old, new V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		if keep == nil || keep(e.Value.(lruItem[K, V]).val, v) {
			e.Value = lruItem[K, V]{k, v}
		}
		return
	}
	c.items[k] = c.order.PushFront(lruItem[K, V]{k, v})
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(lruItem[K, V]).key)
	}
}

// seqList is a list of sequence numbers read from an index: every match
// below next, in order. The log is append-only, so the matches below next
// never change; a reader at a later position reads on from next.
type seqList struct {
	next uint64
	seqs []uint64
}

// below returns the matches below size; ok is false when the list was read
// to a smaller position (the matches from next on are unknown).
func (s seqList) below(size uint64) ([]uint64, bool) {
	if s.next < size {
		return nil, false
	}
	i := len(s.seqs)
	for i > 0 && s.seqs[i-1] >= size {
		i--
	}
	return s.seqs[:i], true
}

// later reports whether b was read further than a: a cached list is only
// replaced by one read to a later position.
func later(a, b seqList) bool { return b.next > a.next }
