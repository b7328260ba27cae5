package ledger

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tally-ledger/tally/internal/keys"
	"golang.org/x/mod/sumdb/tlog"
)

// Entry is one thing to append.
type Entry struct {
	// Digest is the entry's identity for deduplication, defined by the
	// caller. An entry whose digest is already in the log is not appended
	// again.
	Digest [32]byte

	// ReceivedAt is stored as RFC 3339 with nanoseconds in UTC; it must not
	// be the zero time and must lie in years 0000–9999.
	ReceivedAt time.Time

	// Envelope is an RFC 8785 canonical JSON object (a DSSE envelope). The
	// ledger does not interpret it, but refuses bytes that are not canonical
	// so that every record is.
	Envelope []byte

	// Index lists the secondary index keys under which the record can be
	// found with ByIndex.
	Index []IndexKey
}

// Appended is the outcome of one Entry.
type Appended struct {
	Seq   uint64
	Leaf  tlog.Hash // RFC 6962 leaf hash: tlog.RecordHash(record bytes)
	Chain tlog.Hash // SHA-256(0x01 || previous chain || Leaf)

	// Duplicate: the digest was already in the log (or earlier in the same
	// batch). Seq, Leaf and Chain are the original's and nothing was added.
	Duplicate bool
}

// writer is the append path's reusable state, guarded by Log.mu. Its
// slices are scratch space reused from one Append to the next, so that the
// per-record work allocates as little as possible; they are dropped when a
// very large batch has grown them (see trim).
type writer struct {
	edge     rightEdge
	edgeOut  []tlog.Hash
	edgeRead tlog.HashReader

	filters digestFilters    // in-memory filter over the log's digests
	first   map[[32]byte]int // digest → index of its first entry in the batch
	digests []digestRef      // the batch's distinct digests (sorted if looked up)
	hashes  []byte           // the batch's c| values, one record after another
	pbuf    []byte           // the batch's pending block
	kbuf    []byte           // scratch key

	head     Head          // head after the last batch handed to Pebble (may be ahead of the published one)
	lastDone chan struct{} // closed when that batch is durable and published
}

type digestRef struct {
	digest [32]byte
	entry  int  // index of the entry that carries it first
	maybe  bool // the digest filter may hold it
	found  bool // already in the log
	seq    uint64
}

// maxRetained bounds the scratch kept between Appends.
const maxRetained = 1 << 12

func (w *writer) init(l *Log) {
	w.edgeRead = tlog.HashReaderFunc(l.readEdge)
	w.first = make(map[[32]byte]int)
	w.kbuf = make([]byte, 0, 64)
	w.filters.min = filterMinKeys
}

func (w *writer) trim() {
	if len(w.first) > maxRetained {
		w.first = make(map[[32]byte]int)
	} else {
		clear(w.first)
	}
	if cap(w.digests) > maxRetained {
		w.digests = nil
	}
	if cap(w.pbuf) > 256*maxRetained {
		w.pbuf = nil
	}
	if cap(w.hashes) > 4*keys.HashSize*maxRetained {
		w.hashes = nil
	}
}

// Append appends entries as one Pebble batch, committed with fsync before it
// returns: the records, their chain hashes, stored tree hashes, their
// digests and index keys (one pending block, see pending.go), a signed
// checkpoint for the new size and the new head. An
// entry whose digest is already in the log, or earlier in entries, is a
// duplicate: its result carries the original's Seq, Leaf and Chain and
// nothing is added for it. If every entry is a duplicate nothing is written.
//
// The returned checkpoint is the latest one, which covers every entry.
// Appends are serialized: each batch is built and handed to Pebble in turn,
// under a mutex. Only the wait for the fsync happens outside it, so a caller
// that keeps several Appends in flight gets group commit: the next batch is
// built while the previous one syncs, and one fsync can cover both. Reads
// proceed concurrently and see new records only once their batch is
// durable. ctx can stop an Append until its batch is handed to Pebble, not
// after.
//
// Invalid entries fail the whole call with ErrInvalid naming the entry and
// field; nothing is written.
func (l *Log) Append(ctx context.Context, entries []Entry) ([]Appended, Checkpoint, error) {
	p, err := l.AppendAsync(ctx, entries)
	if err != nil {
		return nil, Checkpoint{}, err
	}
	return p.Wait()
}

// Pending is an Append that has been handed to the store but is not yet
// known to be durable; see AppendAsync.
type Pending struct {
	l    *Log
	ctx  context.Context
	c    commit
	out  []Appended
	once sync.Once
	res  struct {
		out []Appended
		cp  Checkpoint
		err error
	}
}

// AppendAsync is Append split in two: it validates entries, builds their
// batch and hands it to Pebble in order (after every earlier Append or
// AppendAsync), and returns without waiting for the fsync. Wait then waits
// for it and returns what Append would have. Nothing about the entries may
// be acted on (acknowledged, published) before Wait returns: until then
// they are not durable. A caller that keeps a few AppendAsync in flight
// overlaps building the next batch with syncing the previous one, with one
// fsync often covering several batches. Every Pending must be waited for:
// Close waits for them.
func (l *Log) AppendAsync(ctx context.Context, entries []Entry) (*Pending, error) {
	if err := l.acquire(); err != nil {
		return nil, err
	}
	release := true
	defer func() {
		if release {
			l.release()
		}
	}()
	if l.readOnly || l.signer == nil {
		return nil, fmt.Errorf("%w: cannot append (read-only or no signing key)", ErrReadOnly)
	}
	size := 0
	for i := range entries {
		if err := validateEntry(i, &entries[i]); err != nil {
			return nil, err
		}
		size += len(entries[i].Envelope)
		for _, ix := range entries[i].Index {
			size += len(ix.Name) + len(ix.Key) + 24
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l.foldAfter > 0 && l.pend.Load().overFull(l.foldAfter) {
		// The background fold is behind: fold here, before adding more.
		if err := l.fold(); err != nil {
			return nil, err
		}
	}
	p := &Pending{l: l, ctx: ctx, out: make([]Appended, len(entries))}
	l.mu.Lock()
	c, err := l.prepare(ctx, entries, p.out, size)
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	p.c = c
	release = false // Wait releases
	return p, nil
}

// Wait waits until the entries are durable and returns their results and
// the checkpoint that covers them, as Append does. It may be called more
// than once and from several goroutines.
func (p *Pending) Wait() ([]Appended, Checkpoint, error) {
	p.once.Do(func() {
		defer p.l.release()
		p.res.out, p.res.cp, p.res.err = p.l.finish(p.ctx, p.c, p.out)
	})
	return p.res.out, p.res.cp, p.res.err
}

// commit is an Append handed to Pebble and not yet known to be durable.
type commit struct {
	batch *pebble.Batch // nil when the Append wrote nothing
	state *logState     // published once the batch is durable
	done  chan struct{} // closed once state is published (or the commit failed)

	// For an Append that wrote nothing: the head size its duplicates need
	// durable, and the latest commit in flight when it was prepared.
	need  uint64
	after chan struct{}
}

// prepare builds the batch for entries and hands it to Pebble, in the order
// Appends take the mutex; Pebble makes it visible to the next prepare (for
// dedupe) at once and durable later. Called with l.mu held.
func (l *Log) prepare(ctx context.Context, entries []Entry, out []Appended, size int) (c commit, err error) {
	if l.failed != nil {
		return c, fmt.Errorf("ledger: an earlier commit failed, reopen the log: %w", l.failed)
	}
	w := &l.w
	defer w.trim()
	c.after = w.lastDone
	if len(entries) == 0 {
		return c, nil
	}

	// Which digests are new: distinct digests of the batch, then one sorted
	// pass over the dedupe table for those the digest filter may hold.
	w.digests = w.digests[:0]
	for i := range entries {
		if _, ok := w.first[entries[i].Digest]; !ok {
			w.first[entries[i].Digest] = i
			w.digests = append(w.digests, digestRef{digest: entries[i].Digest, entry: i})
		}
	}
	if err := l.findDigests(w.digests, &w.filters); err != nil {
		return c, err
	}
	for _, d := range w.digests {
		if d.found {
			a, err := l.original(d.seq, w.head.Size)
			if err != nil {
				return c, err
			}
			out[d.entry] = a
			c.need = max(c.need, d.seq+1)
		} else {
			w.filters.add(&d.digest)
		}
	}

	// About 250 bytes of keys, hashes and framing per record besides the
	// envelope and index keys.
	b := l.db.NewBatchWithSize(size+len(entries)*256+1024, pebble.WithMaxRetainedSizeBytes(8<<20))
	// The right edge runs ahead of the store while the batch is built; put it
	// back if the batch is not handed to Pebble.
	saved := w.edge
	applied := false
	defer func() {
		if !applied {
			w.edge = saved
			b.Close()
		}
	}()

	// The batch is written table by table, each in ascending key order:
	// records, record hashes, the pending block. Pebble
	// inserts a batch into its memtable in batch order and remembers where
	// the previous key went, so ascending runs insert in near-constant time
	// instead of a full skiplist search per key.
	head := w.head
	w.hashes = w.hashes[:0]
	for i := range entries {
		if w.first[entries[i].Digest] != i {
			continue // a repeat within the batch, filled in below
		}
		if out[i].Duplicate {
			continue // already in the log
		}
		if head.Size > MaxSeq {
			return c, fmt.Errorf("%w: log full at %d records", ErrInvalid, head.Size)
		}
		a, err := w.addRecord(b, head, &entries[i])
		if err != nil {
			return c, err
		}
		out[i] = a
		head.Size++
		head.Chain = a.Chain
	}
	for i := range entries {
		if j := w.first[entries[i].Digest]; j != i {
			out[i] = out[j]
			out[i].Duplicate = true
		}
	}
	if head.Size == w.head.Size {
		return c, nil // all duplicates: nothing to write
	}

	if err := w.putHashes(b, w.head.Size, head.Size); err != nil {
		return c, err
	}
	// The records' digests and index keys: one pending block, folded into
	// the dedupe and index tables later (see pending.go).
	added := int(head.Size - w.head.Size)
	w.pbuf = pendingBlockValue(w.pbuf[:0], entries, out, added)
	if err := b.Set(keys.Pending(w.head.Size), w.pbuf, nil); err != nil {
		return c, err
	}

	root, err := tlog.TreeHash(int64(head.Size), w.edgeRead)
	if err != nil {
		return c, fmt.Errorf("ledger: tree hash at %d: %w", head.Size, err)
	}
	head.Root = root
	cp, err := l.sign(head.Size, root)
	if err != nil {
		return c, err
	}
	if err := b.Set(keys.Checkpoint(head.Size), cp.Note, nil); err != nil {
		return c, err
	}
	hb := encodeHead(head)
	if err := b.Set(keys.Head, hb[:], nil); err != nil {
		return c, err
	}
	if err := ctx.Err(); err != nil {
		return c, err
	}

	// Hand the batch to Pebble: it is written to the WAL and applied to the
	// memtable now, in mutex order, and fsynced in the background; finish
	// waits for the fsync (Batch.SyncWait). Pebble marks ApplyNoSyncWait
	// experimental; it is Apply with the sync wait split off, and it keeps
	// the WAL order, so a later batch's sync implies this one's. With NoSync
	// there is nothing to wait for.
	if l.wopts.Sync {
		err = l.db.ApplyNoSyncWait(b, pebble.Sync)
	} else {
		err = l.db.Apply(b, pebble.NoSync)
	}
	if err != nil {
		l.failed = err
		return c, fmt.Errorf("ledger: commit %d records: %w", head.Size-w.head.Size, err)
	}
	applied = true
	pend := l.pend.Load()
	blocks := make([]*pendingBlock, len(pend.blocks), len(pend.blocks)+1)
	copy(blocks, pend.blocks)
	l.pend.Store(&pendingSet{blocks: append(blocks, &pendingBlock{first: w.head.Size, n: added, raw: bytes.Clone(w.pbuf)})})
	w.head = head
	c.batch, c.state, c.done = b, &logState{head: head, cp: cp, hasCP: true}, make(chan struct{})
	w.lastDone = c.done
	return c, nil
}

// finish waits until what prepare handed to Pebble is durable, then
// publishes it. Called without l.mu, so the next Append can be prepared
// meanwhile.
func (l *Log) finish(ctx context.Context, c commit, out []Appended) ([]Appended, Checkpoint, error) {
	if c.batch == nil {
		// Nothing written; but the duplicates' originals may still be in
		// flight, and must not be reported before they are durable.
		if c.after != nil && l.state.Load().head.Size < c.need {
			select {
			case <-c.after:
			case <-ctx.Done():
				return nil, Checkpoint{}, ctx.Err()
			}
		}
		st := l.state.Load()
		if st.head.Size < c.need {
			return nil, Checkpoint{}, fmt.Errorf("ledger: record %d was not committed", c.need-1)
		}
		return out, st.cp, nil
	}
	defer close(c.done)
	if l.wopts.Sync {
		// The commit is the durability point: after the fsync the batch
		// survives a crash, so only then is the head published to readers and
		// the results returned for the caller to acknowledge. The WAL is
		// synced in order, so this also covers every earlier batch.
		if err := c.batch.SyncWait(); err != nil {
			l.mu.Lock()
			l.failed = err
			l.mu.Unlock()
			return nil, Checkpoint{}, fmt.Errorf("ledger: sync %d records: %w", c.state.head.Size, err)
		}
	}
	c.batch.Close()
	l.publish(c.state)
	l.kickFold()
	return out, c.state.cp, nil
}

// publish makes st the state readers see, unless a later one is already
// published (commits can finish their fsync waits out of order).
func (l *Log) publish(st *logState) {
	for {
		cur := l.state.Load()
		if cur.head.Size >= st.head.Size || l.state.CompareAndSwap(cur, st) {
			return
		}
	}
}

// findDigests marks the digests of ds already in the log: in a pending
// block or in the dedupe table. Digests the filter does not hold are new
// without a look. For the rest, ds is sorted by digest and one iterator
// serves them all: seeking it forward through sorted keys
// reuses its open tables and positions, where a Get per digest would set up
// a fresh iterator each time; SeekPrefixGE consults Pebble's bloom filters,
// so absent digests rarely touch a data block. Called with l.mu held.
func (l *Log) findDigests(ds []digestRef, f *digestFilters) error {
	pend := l.pend.Load()
	for i := range ds {
		if ds[i].maybe = f.mayHave(&ds[i].digest); !ds[i].maybe {
			continue
		}
		seq, ok, err := pend.lookup(&ds[i].digest)
		if err != nil {
			return err
		}
		if ok {
			ds[i].maybe, ds[i].found, ds[i].seq = false, true, seq
		}
	}
	if !slices.ContainsFunc(ds, func(d digestRef) bool { return d.maybe }) {
		return nil
	}
	sortDigests(ds)
	it, err := l.db.NewIter(&pebble.IterOptions{
		LowerBound:   []byte{keys.TagDedupe},
		UpperBound:   []byte{keys.TagDedupe + 1},
		UseL6Filters: true, // most digests are new: let the filter say so
	})
	if err != nil {
		return err
	}
	for i := range ds {
		if !ds[i].maybe {
			continue
		}
		l.w.kbuf = keys.AppendDedupe(l.w.kbuf[:0], ds[i].digest[:])
		if !it.SeekPrefixGE(l.w.kbuf) || !bytes.Equal(it.Key(), l.w.kbuf) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return closeIter(it, err)
		}
		if len(v) != 8 {
			return closeIter(it, fmt.Errorf("%w: dedupe entry %x is %d bytes, want 8", ErrCorrupt, ds[i].digest, len(v)))
		}
		if seq := binary.BigEndian.Uint64(v); seq < pend.first() { // else as Lookup
			ds[i].found, ds[i].seq = true, seq
		}
	}
	return closeIter(it, it.Error())
}

// sortDigests sorts ds by digest, comparing the first eight bytes as one
// number before the rest.
func sortDigests(ds []digestRef) {
	slices.SortFunc(ds, func(a, b digestRef) int {
		return cmp.Or(cmp.Compare(binary.BigEndian.Uint64(a.digest[:8]), binary.BigEndian.Uint64(b.digest[:8])),
			bytes.Compare(a.digest[8:], b.digest[8:]))
	})
}

// original returns the result of record seq, found again as a duplicate.
// The record may still be in flight (handed to Pebble, not yet durable).
// Called with l.mu held.
func (l *Log) original(seq, size uint64) (Appended, error) {
	if seq >= size {
		return Appended{}, fmt.Errorf("%w: dedupe entry points at %d, beyond head %d", ErrCorrupt, seq, size)
	}
	a := Appended{Seq: seq, Duplicate: true}
	err := l.recordHashes(seq, func(v []byte) {
		copy(a.Chain[:], v[keys.ChainOff:])
		copy(a.Leaf[:], v[keys.TreeOff:])
	})
	if errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("%w: hashes of record %d missing", ErrCorrupt, seq)
	}
	return a, err
}

// addRecord adds record number head.Size to the batch and queues its hashes
// (addHashes). Called with l.mu held.
func (w *writer) addRecord(b *pebble.Batch, head Head, e *Entry) (Appended, error) {
	seq := head.Size
	var tb [64]byte
	ts := appendTimestamp(tb[:0], e.ReceivedAt)

	// The record is written straight into the batch, and hashed there.
	n := recordLen(len(e.Envelope), len(ts), seq)
	op := b.SetDeferred(9, n)
	keys.AppendRecord(op.Key[:0], seq)
	if rec := appendRecord(op.Value[:0], seq, ts, e.Envelope); len(rec) != n {
		panic("ledger: record length miscomputed")
	}
	leaf := tlog.RecordHash(op.Value)
	if err := op.Finish(); err != nil {
		return Appended{}, err
	}
	chain := chainHash(head.Chain, leaf)
	w.addHashes(seq, leaf, chain)
	return Appended{Seq: seq, Leaf: leaf, Chain: chain}, nil
}

// addHashes queues the c| value of record seq (see keys.Chain): its chain
// hash, then the stored tree hashes its leaf completes, which it also puts
// on the right edge. They are tlog's stored hashes (tlog.StoredHashes would
// give the same), computed here from the edge: below the top level the
// record's node is a right child whose left sibling is the last node
// completed at that level, which the edge holds.
func (w *writer) addHashes(seq uint64, leaf, chain tlog.Hash) {
	levels := keys.TreeLevels(seq)
	base := tlog.StoredHashIndex(0, int64(seq))
	w.hashes = append(w.hashes, chain[:]...)
	h := leaf
	for lv := range levels {
		w.hashes = append(w.hashes, h[:]...)
		left := w.edge.h[lv]
		w.edge.set(lv, base+int64(lv), h)
		if lv+1 < levels {
			h = tlog.NodeHash(left, h)
		}
	}
}

// putHashes adds the queued c| values of records from … to-1 to b.
func (w *writer) putHashes(b *pebble.Batch, from, to uint64) error {
	off := 0
	for seq := from; seq < to; seq++ {
		n := keys.HashesLen(seq)
		if off+n > len(w.hashes) {
			panic("ledger: record hashes not queued")
		}
		w.kbuf = keys.AppendChain(w.kbuf[:0], seq)
		if err := b.Set(w.kbuf, w.hashes[off:off+n], nil); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// chainHash is chain[n] = SHA-256(0x01 || chain[n-1] || leaf[n]). The 0x01
// prefix keeps chain hashes apart from RFC 6962 leaf hashes (prefix 0x00);
// an interior tree node hashes the same 65-byte shape, but over two tree
// hashes, never over a chain hash.
func chainHash(prev, leaf tlog.Hash) tlog.Hash {
	var buf [1 + 2*tlog.HashSize]byte
	buf[0] = 0x01
	copy(buf[1:], prev[:])
	copy(buf[1+tlog.HashSize:], leaf[:])
	return sha256.Sum256(buf[:])
}

// validateEntry checks one entry before anything is written.
func validateEntry(i int, e *Entry) error {
	if e.ReceivedAt.IsZero() {
		return fmt.Errorf("%w: entries[%d].received_at: zero time", ErrInvalid, i)
	}
	if y := e.ReceivedAt.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("%w: entries[%d].received_at: year %d outside 0000–9999 (RFC 3339)", ErrInvalid, i, y)
	}
	if err := checkCanonicalObject(e.Envelope); err != nil {
		return fmt.Errorf("%w: entries[%d].envelope: %v", ErrInvalid, i, err)
	}
	for j := range e.Index {
		if err := e.Index[j].check(); err != nil {
			return fmt.Errorf("%w: entries[%d].index[%d]: %v", ErrInvalid, i, j, err)
		}
	}
	return nil
}
