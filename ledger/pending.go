package ledger

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tally-ledger/tally/internal/keys"
)

// Pending blocks and folds. Each Append writes its records' digests and
// index keys as one pending block (keys.Pending) in its own synced batch:
// one key, at the end of the p| table, instead of an entry per record in
// the dedupe table and a posting per key in the index table, which are
// sorted by digest and by key so that an Append's entries would land all
// over them (a memtable search each, on the path to the fsync). A
// background fold later moves the oldest durable blocks into those tables
// — digests sorted, postings of one key merged across the blocks — and
// deletes the blocks. It needs no fsync of its own: if a crash takes it
// back, the blocks are still there and are folded again, and a later
// synced batch syncs it.
//
// A fold is applied in several batches (see foldChunk), the deletion of
// the blocks last, so the tables can hold entries for records that are
// still pending: a fold under way, or one a crash cut short (it is done
// again, whole, and writes the same keys). Every read therefore takes
// records below the first pending block from the tables and the rest from
// the blocks, ignoring table entries at or after it; and it takes the
// pending set before it opens its Pebble iterator or reads, so that a fold
// finishing meanwhile (blocks leave the set only once their fold is
// applied) cannot hide a record from it (see ByIndex, Lookup,
// DedupeEntries, IndexEntries).

// DefaultFoldAfter is Options.FoldAfter when it is 0.
const DefaultFoldAfter = 4096

// foldBlocks is how many pending blocks make the background fold run
// whatever their records: a read looks a digest or an index key up in
// each block, so many small Appends must not pile up blocks.
const foldBlocks = 64

// maxPendingFactor bounds the pending records at this many times
// FoldAfter, and the blocks at this many times foldBlocks: past that an
// Append folds before it writes (the background fold is not keeping up).
const maxPendingFactor = 16

// overFull reports whether so much is pending that an Append should fold
// first.
func (p *pendingSet) overFull(foldAfter int) bool {
	return p.records() > maxPendingFactor*uint64(foldAfter) || len(p.blocks) > maxPendingFactor*foldBlocks
}

// pendingBlock is one Append's block.
type pendingBlock struct {
	first uint64
	n     int
	raw   []byte // the stored value

	splitOnce sync.Once
	blk       keys.PendingBlock
	err       error

	digestsOnce sync.Once
	digests     map[[32]byte]uint64 // digest → seq
	digestsErr  error

	postingsOnce sync.Once
	postings     map[string][]uint64 // keys.IndexPrefix → seqs, ascending and distinct
	postingsErr  error
}

func (b *pendingBlock) last() uint64 { return b.first + uint64(b.n) } // one past

// split returns the block's digests and key lists (keys.SplitPending).
func (b *pendingBlock) split() (*keys.PendingBlock, error) {
	b.splitOnce.Do(func() {
		blk, err := keys.SplitPending(b.raw)
		if err == nil && blk.N != b.n {
			err = fmt.Errorf("%w: %d records, the key says %d", keys.ErrBadPending, blk.N, b.n)
		}
		b.blk, b.err = blk, b.corrupt(err)
	})
	return &b.blk, b.err
}

func (b *pendingBlock) corrupt(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: pending block %d: %v", ErrCorrupt, b.first, err)
}

// digestMap returns the block's digests by value, built on first use. It
// needs only the digests to decode, not the key lists.
func (b *pendingBlock) digestMap() (map[[32]byte]uint64, error) {
	b.digestsOnce.Do(func() {
		blk, err := b.split()
		if err != nil {
			b.digestsErr = err
			return
		}
		m := make(map[[32]byte]uint64, blk.N)
		for i := range blk.N {
			m[[32]byte(blk.Digest(i))] = b.first + uint64(i)
		}
		b.digests = m
	})
	return b.digests, b.digestsErr
}

// postingMap returns the block's postings by index key prefix, built on
// first use.
func (b *pendingBlock) postingMap() (map[string][]uint64, error) {
	b.postingsOnce.Do(func() {
		m := make(map[string][]uint64)
		b.postings, b.postingsErr = m, b.addPostings(m)
	})
	return b.postings, b.postingsErr
}

// addPostings adds the block's index entries to postings (keys.IndexPrefix
// → seqs). Blocks added in seq order keep every posting ascending, and
// distinct: an entry may list a key twice.
func (b *pendingBlock) addPostings(postings map[string][]uint64) error {
	blk, err := b.split()
	if err != nil {
		return err
	}
	var pb []byte
	return b.corrupt(blk.Keys(func(i int, name, key []byte) bool {
		pb = keys.AppendIndexPrefix(pb[:0], name, key)
		seq := b.first + uint64(i)
		s := postings[string(pb)]
		if len(s) == 0 || s[len(s)-1] != seq {
			postings[string(pb)] = append(s, seq)
		}
		return true
	}))
}

// pendingSet is the blocks not yet folded, oldest first: a contiguous run
// of records ending at the head. It is replaced, never changed.
type pendingSet struct {
	blocks []*pendingBlock
}

// first is the first record in a block, or ^0 when there is none.
func (p *pendingSet) first() uint64 {
	if len(p.blocks) == 0 {
		return ^uint64(0)
	}
	return p.blocks[0].first
}

func (p *pendingSet) records() uint64 {
	if len(p.blocks) == 0 {
		return 0
	}
	return p.blocks[len(p.blocks)-1].last() - p.blocks[0].first
}

// lookup finds digest in the blocks.
func (p *pendingSet) lookup(digest *[32]byte) (uint64, bool, error) {
	for _, b := range p.blocks {
		m, err := b.digestMap()
		if err != nil {
			return 0, false, err
		}
		if seq, ok := m[*digest]; ok {
			return seq, true, nil
		}
	}
	return 0, false, nil
}

// pendingBlockValue writes the block of the records an Append adds (the
// entries whose results are not duplicates, in seq order) into dst.
func pendingBlockValue(dst []byte, entries []Entry, out []Appended, n int) []byte {
	dst = keys.AppendPendingCount(dst, n)
	for i := range entries {
		if !out[i].Duplicate {
			dst = append(dst, entries[i].Digest[:]...)
		}
	}
	for i := range entries {
		if out[i].Duplicate {
			continue
		}
		dst = keys.AppendPendingCount(dst, len(entries[i].Index))
		for _, ix := range entries[i].Index {
			dst = keys.AppendPendingKey(dst, ix.Name, ix.Key)
		}
	}
	return dst
}

// loadPending reads the p| table at Open. A writable log insists that
// the blocks decode and run contiguously up to the head; a read-only one
// takes what is there and leaves the judging to the audit (a block that
// does not decode is reported by the reads that need it).
func (l *Log) loadPending(size uint64) error {
	var blocks []*pendingBlock
	err := l.walk(keys.TagPending, func(k, v []byte) error {
		first, err := keys.Seq(k)
		if err != nil {
			if l.readOnly {
				// Its records' digests and index keys are missing to
				// the audit, which names them.
				l.logger.Warn("ledger: pending block under a malformed key left out", "key", fmt.Sprintf("%x", k))
				return nil
			}
			return fmt.Errorf("%w: pending key %x", ErrCorrupt, k)
		}
		n, c := binary.Uvarint(v)
		if c <= 0 || n == 0 || n > uint64(len(v)) {
			if l.readOnly {
				n = 1
			} else {
				return fmt.Errorf("%w: pending block %d: %v: record count", ErrCorrupt, first, keys.ErrBadPending)
			}
		}
		blocks = append(blocks, &pendingBlock{first: first, n: int(n), raw: bytes.Clone(v)})
		return nil
	})
	if err != nil {
		return err
	}
	if !l.readOnly {
		next := size
		if len(blocks) > 0 {
			next = blocks[0].first
		}
		for _, b := range blocks {
			if b.first != next {
				return fmt.Errorf("%w: pending block at %d, want one at %d", ErrCorrupt, b.first, next)
			}
			blk, err := b.split()
			if err == nil {
				err = b.corrupt(blk.Keys(func(int, []byte, []byte) bool { return true }))
			}
			if err != nil {
				return err
			}
			next = b.last()
		}
		if next != size {
			return fmt.Errorf("%w: pending blocks end at %d, the head is at %d", ErrCorrupt, next, size)
		}
	}
	l.pend.Store(&pendingSet{blocks: blocks})
	return nil
}

// addPendingToFilter adds the digests of the pending blocks to the digest
// filter (they are not in the d| table its scan reads, and a fold may move
// them there after the scan has passed their place). Called from Open.
func (l *Log) addPendingToFilter() {
	for _, b := range l.pend.Load().blocks {
		blk, _ := b.split() // checked by loadPending
		for i := range blk.N {
			dg := [32]byte(blk.Digest(i))
			l.w.filters.segs[0].add(&dg)
		}
	}
}

// kickFold wakes the background fold if enough durable records, or
// enough blocks, are pending.
func (l *Log) kickFold() {
	if l.foldKick == nil {
		return
	}
	p := l.pend.Load()
	if len(p.blocks) == 0 || (l.state.Load().head.Size-p.first() < uint64(l.foldAfter) && len(p.blocks) < foldBlocks) {
		return
	}
	select {
	case l.foldKick <- struct{}{}:
	default:
	}
}

// foldLoop runs folds when kicked until the log closes.
func (l *Log) foldLoop() {
	defer close(l.foldDone)
	for {
		select {
		case <-l.foldStop:
			return
		case <-l.foldKick:
		}
		if err := l.fold(); err != nil {
			l.logger.Error("ledger: fold of pending blocks failed", "err", err)
			return
		}
	}
}

// fold moves every pending block whose records are durable into the
// dedupe and index tables. One fold runs at a time; it does not hold the
// writer's mutex while Pebble applies it, so Appends go on meanwhile.
func (l *Log) fold() error {
	l.foldMu.Lock()
	defer l.foldMu.Unlock()
	l.mu.Lock()
	failed := l.failed
	l.mu.Unlock()
	if failed != nil {
		return fmt.Errorf("ledger: an earlier commit failed, reopen the log: %w", failed)
	}
	p := l.pend.Load()
	durable := l.state.Load().head.Size
	n := 0
	for n < len(p.blocks) && p.blocks[n].last() <= durable {
		n++
	}
	if n == 0 {
		return nil
	}
	take := p.blocks[:n]
	bs, err := l.foldBatches(take)
	if err != nil {
		return err
	}
	for i, b := range bs {
		if err == nil {
			err = l.db.Apply(b, pebble.NoSync)
			if i < len(bs)-1 {
				runtime.Gosched()
			}
		}
		b.Close()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed = err
		return fmt.Errorf("ledger: fold %d pending blocks: %w", n, err)
	}
	cur := l.pend.Load()
	if len(cur.blocks) < n || cur.blocks[n-1] != take[n-1] {
		panic("ledger: pending blocks changed under a fold")
	}
	l.pend.Store(&pendingSet{blocks: slices.Clone(cur.blocks[n:])})
	return nil
}

// foldChunk is how many keys each batch of a fold holds at most (the last
// also deletes the blocks, one key each). Pebble
// makes a batch visible only after every batch before it has been applied
// to the memtable, so one large fold batch would hold up the Appends behind
// it; small ones interleave with them.
const foldChunk = 512

// foldBatches builds the batches that fold blocks: their digests into d|
// in digest order, their index keys into x| as one posting per distinct
// key in key order (Pebble inserts ascending runs cheaply), and, in the
// last batch, the deletion of the blocks. Until that last batch is
// applied, the blocks stay pending and the entries already in the tables
// for their records are not read (see pending.go).
func (l *Log) foldBatches(blocks []*pendingBlock) (bs []*pebble.Batch, err error) {
	var digests []digestRef
	postings := make(map[string][]uint64)
	for _, b := range blocks {
		blk, err := b.split()
		if err != nil {
			return nil, err
		}
		for i := range blk.N {
			digests = append(digests, digestRef{digest: [32]byte(blk.Digest(i)), seq: b.first + uint64(i)})
		}
		if err := b.addPostings(postings); err != nil {
			return nil, err
		}
	}
	sortDigests(digests)
	// x| keys are the prefix (tag, name length, name, key length, key) and
	// the first seq: in prefix order they are in key order.
	prefixes := make([]string, 0, len(postings))
	for p := range postings {
		prefixes = append(prefixes, p)
	}
	slices.Sort(prefixes)

	var b *pebble.Batch
	defer func() {
		if err != nil {
			for _, b := range bs {
				b.Close()
			}
			bs = nil
		}
	}()
	next := func() {
		if b == nil || b.Count() >= foldChunk {
			b = l.db.NewBatchWithSize(foldChunk * 64)
			bs = append(bs, b)
		}
	}
	var (
		kb []byte
		vb [8]byte
		pv []byte
	)
	for i := range digests {
		if i > 0 && digests[i].digest == digests[i-1].digest {
			return nil, fmt.Errorf("%w: digest %x pending at %d and %d", ErrCorrupt, digests[i].digest, digests[i-1].seq, digests[i].seq)
		}
		binary.BigEndian.PutUint64(vb[:], digests[i].seq)
		kb = keys.AppendDedupe(kb[:0], digests[i].digest[:])
		next()
		if err := b.Set(kb, vb[:], nil); err != nil {
			return nil, err
		}
	}
	for _, p := range prefixes {
		seqs := postings[p]
		kb = keys.AppendIndex(kb[:0], p, seqs[0])
		pv = keys.AppendPosting(pv[:0], seqs)
		next()
		if err := b.Set(kb, pv, nil); err != nil {
			return nil, err
		}
	}
	next()
	for _, pb := range blocks {
		if err := b.Delete(keys.Pending(pb.first), nil); err != nil {
			return nil, err
		}
	}
	return bs, nil
}

// Fold moves every pending block whose records are durable into the
// dedupe and index tables now, instead of waiting for the background fold
// (which Close also does). Reads give the same answers before and after.
func (l *Log) Fold() error {
	if err := l.acquire(); err != nil {
		return err
	}
	defer l.release()
	if l.readOnly || l.signer == nil {
		return fmt.Errorf("%w: cannot fold (read-only or no signing key)", ErrReadOnly)
	}
	return l.fold()
}

// pendingDigests and pendingIndex visit the pending blocks' dedupe entries
// (digests) and index entries, block by block in seq order, for the raw
// table walks. A block that does not decode stops the walk with ErrCorrupt.
func (l *Log) pendingDigests(p *pendingSet, fn func(digest []byte, seq uint64) error) error {
	for _, b := range p.blocks {
		blk, err := b.split()
		if err != nil {
			return err
		}
		for i := range blk.N {
			if err := fn(bytes.Clone(blk.Digest(i)), b.first+uint64(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *Log) pendingIndex(p *pendingSet, fn func(name string, key []byte, seq uint64) error) error {
	for _, b := range p.blocks {
		blk, err := b.split()
		if err != nil {
			return err
		}
		// Each record's distinct keys (a caller may list one twice).
		var (
			ferr error
			rec  = -1
			seen []string
		)
		err = blk.Keys(func(i int, name, key []byte) bool {
			if i != rec {
				rec, seen = i, seen[:0]
			}
			id := string(keys.AppendIndexPrefix(nil, name, key))
			if slices.Contains(seen, id) {
				return true
			}
			seen = append(seen, id)
			ferr = fn(string(name), bytes.Clone(key), b.first+uint64(i))
			return ferr == nil
		})
		if ferr != nil {
			return ferr
		}
		if err != nil {
			return b.corrupt(err)
		}
	}
	return nil
}
