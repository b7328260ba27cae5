package ledger

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tally-ledger/tally/internal/keys"
)

// The writer's digest filter: an in-memory Bloom filter over every digest in
// the log, so that Append can tell a new digest from a known one without a
// Pebble lookup. Nearly every digest an Append sees is new, and a lookup in
// Pebble costs a search of each memtable and a filter probe in each level
// and L0 sublevel (microseconds); the filter costs a cache miss or two. It
// is only ever used to conclude "not in the log": a digest it may hold is
// looked up in Pebble as before, so a false positive costs a lookup and
// nothing can be lost.
//
// No false negatives: from the moment the filter exists the writer adds
// every digest it writes (before the batch is handed to Pebble), and the
// digests written before that are in the d| table, which a background scan
// adds, reading from iterators opened after the filter was made (entries
// are never deleted, so each of them sees all of those), or in pending
// blocks, which Open adds before the scan and the fold start (a fold may
// move them into d| behind the scan). Until the scan has finished the
// filter is not used. A batch that fails after its digests were added
// leaves only false positives.
//
// Size: the filter is a list of segments of about 10 bits per digest. The
// first is sized for twice the log at Open (at least filterMinKeys); when
// the newest is full, the writer starts another as large as all before it
// together. Lookups probe every segment (a handful: they double), and the
// log is never scanned again, so the memory is at most about 2.5 bytes per
// record.

const (
	filterBitsPerKey = 10
	filterProbes     = 6 // bits set per digest, within one 512-bit block
	filterMinKeys    = 1 << 20
	filterBlockWords = 8 // 64-byte blocks: one cache line per probe
)

// filterChunk is how many digests each iterator of the scan reads (tests
// lower it).
var filterChunk = 1 << 16

// digestFilter is one segment: a blocked Bloom filter over digests.
type digestFilter struct {
	seed     maphash.Seed
	words    []atomic.Uint64 // len is a multiple of filterBlockWords
	blocks   uint64
	capacity uint64        // digests it was sized for
	n        atomic.Uint64 // digests added
}

func newDigestFilter(capacity uint64) *digestFilter {
	blocks := (capacity*filterBitsPerKey + 511) / 512
	return &digestFilter{
		seed:     maphash.MakeSeed(),
		words:    make([]atomic.Uint64, blocks*filterBlockWords),
		blocks:   blocks,
		capacity: capacity,
	}
}

// probe calls fn with the word index and bit of each of the digest's bits.
func (f *digestFilter) probe(d *[32]byte, fn func(w int, bit uint64) bool) bool {
	h := maphash.Bytes(f.seed, d[:])
	blk, _ := bits.Mul64(h, f.blocks)
	base := int(blk) * filterBlockWords
	// Bit positions within the block from a second mix of h: 9 bits each.
	g := h * 0x9e3779b97f4a7c15
	g ^= g >> 31
	for range filterProbes {
		pos := g & 511
		g >>= 9
		if !fn(base+int(pos>>6), 1<<(pos&63)) {
			return false
		}
	}
	return true
}

// add puts digest d in the filter. Safe for concurrent use.
func (f *digestFilter) add(d *[32]byte) {
	f.probe(d, func(w int, bit uint64) bool {
		if f.words[w].Load()&bit == 0 {
			f.words[w].Or(bit)
		}
		return true
	})
	f.n.Add(1)
}

// mayHave reports whether d may be in the filter; false means it is not.
func (f *digestFilter) mayHave(d *[32]byte) bool {
	return f.probe(d, func(w int, bit uint64) bool { return f.words[w].Load()&bit != 0 })
}

// digestFilters is the writer's filter, guarded by Log.mu (the first
// segment is filled concurrently by the scan).
type digestFilters struct {
	segs  []*digestFilter // oldest first; the writer adds to the last
	ready atomic.Bool     // the scan of the d| table is done
	min   uint64          // capacity of a new log's first segment (tests lower it)
}

// mayHave reports whether d may be in the log: true unless the filter is
// ready and no segment holds d.
func (fs *digestFilters) mayHave(d *[32]byte) bool {
	if !fs.ready.Load() {
		return true
	}
	for _, f := range fs.segs {
		if f.mayHave(d) {
			return true
		}
	}
	return false
}

// add puts a digest the writer is about to write in the filter, starting a
// new segment when the newest is full.
func (fs *digestFilters) add(d *[32]byte) {
	if len(fs.segs) == 0 {
		return // none: the log is read-only
	}
	last := fs.segs[len(fs.segs)-1]
	if last.n.Load() >= last.capacity {
		var total uint64
		for _, f := range fs.segs {
			total += f.capacity
		}
		last = newDigestFilter(total)
		fs.segs = append(fs.segs, last)
	}
	last.add(d)
}

// startFilter makes the writer's filter for a log of the given size and
// starts the scan that fills its first segment with the digests already in
// the log. Called once, from Open.
func (l *Log) startFilter(size uint64) {
	fs := &l.w.filters
	f := newDigestFilter(max(2*size, fs.min))
	fs.segs = []*digestFilter{f}
	l.addPendingToFilter()
	if err := l.acquire(); err != nil {
		return
	}
	go func() {
		defer l.release()
		err := fillFilter(l.db, f, func() bool { return l.refs.Load()&closedBit != 0 })
		if errors.Is(err, errFillStopped) {
			return
		}
		if err != nil {
			l.logger.Warn("ledger: digest filter not built; dedupe reads the store", "err", err)
			return
		}
		fs.ready.Store(true)
	}()
}

// errFillStopped ends a scan when the log closes.
var errFillStopped = errors.New("ledger: log closing")

// fillFilter adds every digest of the d| table to f. It reads in chunks,
// each with its own iterator, so that none holds on to memtables Pebble
// has flushed (or their memory) for long.
func fillFilter(db *pebble.DB, f *digestFilter, stop func() bool) error {
	lower := []byte{keys.TagDedupe}
	var d [32]byte
	for {
		if stop() {
			return errFillStopped
		}
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: []byte{keys.TagDedupe + 1}})
		if err != nil {
			return err
		}
		n := 0
		for ok := it.First(); ok && n < filterChunk; ok = it.Next() {
			k := it.Key()
			if len(k) != 1+len(d) {
				return closeIter(it, fmt.Errorf("%w: dedupe key %x is %d bytes, want %d", ErrCorrupt, k, len(k), 1+len(d)))
			}
			copy(d[:], k[1:])
			f.add(&d)
			n++
		}
		if n < filterChunk {
			return closeIter(it, it.Error())
		}
		// Resume after the last key read: it with a zero byte appended.
		lower = append(append(lower[:0], keys.TagDedupe), d[:]...)
		lower = append(lower, 0)
		if err := closeIter(it, it.Error()); err != nil {
			return err
		}
	}
}
