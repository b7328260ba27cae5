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
	"strings"
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
	digests []digestRef      // the batch's distinct digests, sorted
	hashes  []byte           // the batch's c| values, one record after another
	index   []indexBucket    // the batch's index keys by name (see putIndex)
	seqs    []uint64         // scratch posting
	pbuf    []byte           // scratch posting value
	kbuf    []byte           // scratch key
	vbuf    [8]byte          // scratch seq value

	head     Head          // head after the last batch handed to Pebble (may be ahead of the published one)
	lastDone chan struct{} // closed when that batch is durable and published
}

// indexBucket holds a batch's index keys under one name.
type indexBucket struct {
	name string
	refs []indexRef
}

type indexRef struct {
	key []byte
	seq uint64
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
	if cap(w.seqs) > maxRetained {
		w.seqs, w.pbuf = nil, nil
	}
	if cap(w.hashes) > 4*keys.HashSize*maxRetained {
		w.hashes = nil
	}
	for i := range w.index {
		if cap(w.index[i].refs) > maxRetained {
			w.index[i].refs = nil
		}
		clear(w.index[i].refs) // keep none of the entries' keys alive
		w.index[i].refs = w.index[i].refs[:0]
	}
	if len(w.index) > 64 {
		w.index = nil
	}
}

// Append appends entries as one Pebble batch, committed with fsync before it
// returns: the records, their chain hashes, stored tree hashes, dedupe and
// index keys, a signed checkpoint for the new size and the new head. An
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
	// records, record hashes, dedupe keys, index keys. Pebble
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
	for _, d := range w.digests {
		if d.found {
			continue
		}
		binary.BigEndian.PutUint64(w.vbuf[:], out[d.entry].Seq)
		w.kbuf = keys.AppendDedupe(w.kbuf[:0], d.digest[:])
		if err := b.Set(w.kbuf, w.vbuf[:], nil); err != nil {
			return c, err
		}
	}
	if err := w.putIndex(b, entries, out); err != nil {
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

// findDigests sorts ds by digest and marks those already in the dedupe
// table. Digests the filter does not hold are new without a look.
// One iterator serves the rest: seeking it forward through sorted keys
// reuses its open tables and positions, where a Get per digest would set up
// a fresh iterator each time; SeekPrefixGE consults Pebble's bloom filters,
// so absent digests rarely touch a data block. Called with l.mu held.
func (l *Log) findDigests(ds []digestRef, f *digestFilters) error {
	slices.SortFunc(ds, func(a, b digestRef) int { return bytes.Compare(a.digest[:], b.digest[:]) })
	for i := range ds {
		ds[i].maybe = f.mayHave(&ds[i].digest)
	}
	if !slices.ContainsFunc(ds, func(d digestRef) bool { return d.maybe }) {
		return nil
	}
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
		ds[i].found, ds[i].seq = true, binary.BigEndian.Uint64(v)
	}
	return closeIter(it, it.Error())
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

// putIndex adds the index postings of the new entries to b: one per
// distinct (name, key), listing the seqs of the entries that carry it (see
// keys.Index), in ascending key order. Entries list their keys entry by
// entry, alternating between names (lot, party, lot, party…); sorted, each
// name's postings form a run, and Pebble inserts a run of keys that follow
// one another in next to no time, where each key out of order costs a
// memtable search. The sort is by name first, with a bucket per name, so
// that only keys under one name are ever compared.
func (w *writer) putIndex(b *pebble.Batch, entries []Entry, out []Appended) error {
	for i := range w.index {
		w.index[i].refs = w.index[i].refs[:0]
	}
	used := 0
	for i := range entries {
		if out[i].Duplicate {
			continue
		}
		for j := range entries[i].Index {
			ix := &entries[i].Index[j]
			k := 0
			for k < used && w.index[k].name != ix.Name {
				k++
			}
			if k == used {
				if used == len(w.index) {
					w.index = append(w.index, indexBucket{})
				}
				w.index[k].name = ix.Name
				used++
			}
			w.index[k].refs = append(w.index[k].refs, indexRef{key: ix.Key, seq: out[i].Seq})
		}
	}
	bs := w.index[:used]
	// Key order: the name's length (one byte), the name, the key's length
	// (two bytes), the key, the seq.
	slices.SortFunc(bs, func(x, y indexBucket) int {
		return cmp.Or(cmp.Compare(len(x.name), len(y.name)), strings.Compare(x.name, y.name))
	})
	for _, bk := range bs {
		// Refs come in seq order, and each key is sorted already in the
		// common cases (one key for every record; keys that grow with
		// seq), which the sort checks in one pass.
		slices.SortFunc(bk.refs, func(x, y indexRef) int {
			return cmp.Or(cmp.Compare(len(x.key), len(y.key)), bytes.Compare(x.key, y.key), cmp.Compare(x.seq, y.seq))
		})
		for i := 0; i < len(bk.refs); {
			key := bk.refs[i].key
			w.seqs = append(w.seqs[:0], bk.refs[i].seq)
			for i++; i < len(bk.refs) && bytes.Equal(bk.refs[i].key, key); i++ {
				if s := bk.refs[i].seq; s != w.seqs[len(w.seqs)-1] { // an entry may list a key twice
					w.seqs = append(w.seqs, s)
				}
			}
			w.kbuf = keys.AppendIndex(w.kbuf[:0], bk.name, key, w.seqs[0])
			w.pbuf = keys.AppendPosting(w.pbuf[:0], w.seqs)
			if err := b.Set(w.kbuf, w.pbuf, nil); err != nil {
				return err
			}
		}
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
