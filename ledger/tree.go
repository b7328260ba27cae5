package ledger

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tally-ledger/tally/internal/keys"
	"golang.org/x/mod/sumdb/tlog"
)

// Storage glue for the Merkle tree. All tree arithmetic is tlog's; this file
// only says where its stored hashes live: in Pebble, in the c| value of the
// record that completed them (keys.TreeSlot), with a small in-memory right
// edge for the writer and a fixed-size cache of the upper levels for
// readers.

// rightEdge holds, for each level of the tree, the most recently completed
// node: its storage index and hash. These are exactly the hashes tlog asks
// for while appending (the left siblings that StoredHashes combines a new
// leaf with) and while computing the current tree hash (the complete
// subtrees that make up the tree), so Append never reads Pebble for tree
// hashes, and hashes of a batch not yet committed are at hand. It is at most
// 64 entries whatever the size of the log.
type rightEdge struct {
	top int // levels 0..top-1 are set
	idx [64]int64
	h   [64]tlog.Hash
}

func (e *rightEdge) set(level int, idx int64, h tlog.Hash) {
	e.idx[level], e.h[level] = idx, h
	if level >= e.top {
		e.top = level + 1
	}
}

func (e *rightEdge) find(idx int64) (tlog.Hash, bool) {
	for lv := range e.top {
		if e.idx[lv] == idx {
			return e.h[lv], true
		}
	}
	return tlog.Hash{}, false
}

// loadEdge fills the right edge of the committed tree of the given size from
// Pebble: at each level, the last complete node is number (size>>level)-1.
func (l *Log) loadEdge(size uint64) error {
	l.w.edge = rightEdge{}
	for lv := 0; lv < 64 && size>>uint(lv) > 0; lv++ {
		idx := tlog.StoredHashIndex(lv, int64(size>>uint(lv))-1)
		h, err := l.storedHash(idx)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: stored tree hash %d (level %d) missing for size %d", ErrCorrupt, idx, lv, size)
		}
		if err != nil {
			return err
		}
		l.w.edge.set(lv, idx, h)
	}
	return nil
}

// readEdge is the writer's tlog.HashReader: the right edge first, then the
// committed store. The result slice is reused between calls; tlog only reads
// it before the next call. Called with l.mu held.
func (l *Log) readEdge(indexes []int64) ([]tlog.Hash, error) {
	out := l.w.edgeOut[:0]
	for _, idx := range indexes {
		h, ok := l.w.edge.find(idx)
		if !ok {
			var err error
			if h, err = l.storedHash(idx); err != nil {
				return nil, err
			}
		}
		out = append(out, h)
	}
	l.w.edgeOut = out
	return out, nil
}

// readStore is the readers' tlog.HashReader over committed hashes: the
// upper-level cache, then Pebble. The hashes the cache lacks are read with
// one iterator, seeking forward through them in key order: a proof's
// lower-level hashes lie close together in the c| table, and one iterator
// reuses its position and open tables where a Get per hash would start over.
func (l *Log) readStore(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var miss []int
	for i, idx := range indexes {
		if h, ok := l.cache.get(idx); ok {
			out[i] = h
		} else {
			miss = append(miss, i)
		}
	}
	if len(miss) == 0 {
		return out, nil
	}
	slices.SortFunc(miss, func(a, b int) int { return cmp.Compare(indexes[a], indexes[b]) })
	first, _ := keys.TreeSlot(indexes[miss[0]])
	last, _ := keys.TreeSlot(indexes[miss[len(miss)-1]])
	it, err := l.db.NewIter(&pebble.IterOptions{
		LowerBound: keys.Chain(first),
		UpperBound: keys.Chain(last + 1),
	})
	if err != nil {
		return nil, err
	}
	minLevel := l.cache.minLevel(l.state.Load().head.Size)
	var kb [9]byte
	for _, i := range miss {
		seq, off := keys.TreeSlot(indexes[i])
		key := keys.AppendChain(kb[:0], seq)
		// Indexes of one record are neighbours: stay on its key if there.
		if !(it.Valid() && bytes.Equal(it.Key(), key)) && (!it.SeekGE(key) || !bytes.Equal(it.Key(), key)) {
			return nil, closeIter(it, errors.Join(it.Error(), fmt.Errorf("%w: stored tree hash %d (hashes of record %d) missing", ErrCorrupt, indexes[i], seq)))
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, closeIter(it, err)
		}
		if len(v) != keys.HashesLen(seq) {
			return nil, closeIter(it, fmt.Errorf("%w: hashes of record %d are %d bytes, want %d", ErrCorrupt, seq, len(v), keys.HashesLen(seq)))
		}
		copy(out[i][:], v[off:])
		if level, _ := tlog.SplitStoredHashIndex(indexes[i]); level >= minLevel {
			l.cache.put(indexes[i], out[i])
		}
	}
	return out, closeIter(it, it.Error())
}

// upperCache holds committed stored hashes from the upper levels of the
// tree. Every proof and every old tree hash passes through the few nodes
// near the top, while its lower-level hashes are different each time, so
// keeping the upper levels in memory takes most of a proof's reads off
// Pebble. Stored hashes never change once committed, so an entry cannot go
// stale; the cache is direct-mapped with a fixed number of slots (about
// 4 MiB in all), so it stays the same size however long the log grows, and
// it admits only levels high enough that they fit (minLevel).
type upperCache struct {
	slots [1 << upperCacheBits]atomic.Pointer[cachedHash]
}

const upperCacheBits = 16

type cachedHash struct {
	index int64
	hash  tlog.Hash
}

func upperSlot(idx int64) uint64 { return uint64(idx) * 0x9e3779b97f4a7c15 >> (64 - upperCacheBits) }

func (c *upperCache) get(idx int64) (tlog.Hash, bool) {
	if e := c.slots[upperSlot(idx)].Load(); e != nil && e.index == idx {
		return e.hash, true
	}
	return tlog.Hash{}, false
}

func (c *upperCache) put(idx int64, h tlog.Hash) {
	c.slots[upperSlot(idx)].Store(&cachedHash{idx, h})
}

// minLevel is the lowest tree level whose nodes, in a tree of the given
// size, number at most half the slots.
func (c *upperCache) minLevel(size uint64) int {
	return max(0, bits.Len64(size)-(upperCacheBits-1))
}

// storedHash reads one stored hash, or reports ErrNotFound.
func (l *Log) storedHash(idx int64) (tlog.Hash, error) {
	var h tlog.Hash
	seq, off := keys.TreeSlot(idx)
	err := l.recordHashes(seq, func(v []byte) { copy(h[:], v[off:]) })
	if errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("%w: stored tree hash %d", ErrNotFound, idx)
	}
	return h, err
}

// recordHashes calls fn with the c| value of record seq, checked to be
// keys.HashesLen(seq) bytes (ErrCorrupt if not), or reports ErrNotFound.
// The value is valid only during fn.
func (l *Log) recordHashes(seq uint64, fn func(v []byte)) error {
	var kb [9]byte
	key := keys.AppendChain(kb[:0], seq)
	v, closer, err := l.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("%w: hashes of record %d", ErrNotFound, seq)
	}
	if err != nil {
		return fmt.Errorf("ledger: read %x: %w", key, err)
	}
	defer closer.Close()
	if len(v) != keys.HashesLen(seq) {
		return fmt.Errorf("%w: hashes of record %d are %d bytes, want %d", ErrCorrupt, seq, len(v), keys.HashesLen(seq))
	}
	fn(v)
	return nil
}
