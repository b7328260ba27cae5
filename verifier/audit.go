package verifier

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"iter"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tally-ledger/tally/internal/keys"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// Tables a Problem can be in, named after the store's tables (see
// internal/keys) plus the head state.
const (
	TableRecord     = "record"     // e|seq
	TableTree       = "tree"       // c|seq, after the chain hash: stored tree hashes by tlog index
	TableChain      = "chain"      // c|seq, first hash
	TableCheckpoint = "checkpoint" // k|size
	TableDedupe     = "dedupe"     // d|digest
	TableIndex      = "index"      // x|name|key|seq, postings
	TableHead       = "head"       // m|head
)

// tableRank orders problems at the same sequence number: a changed record
// explains a wrong leaf hash, which explains a wrong chain hash.
var tableRank = map[string]int{
	TableRecord: 0, TableTree: 1, TableChain: 2, TableCheckpoint: 3,
	TableDedupe: 4, TableIndex: 5, TableHead: 6,
}

// MaxProblems is how many problems an audit lists before it stops
// (Report.Truncated): past that the store is broken beyond the point where
// a longer list helps anyone.
const MaxProblems = 100

// AuditOptions configure Audit. The zero value audits with the log's own
// key and the domain's index rules.
type AuditOptions struct {
	// Verifier checks checkpoint signatures. Pin the log's published key
	// here: nil means l.Verifier(), the key stored beside the log, which
	// cannot detect a log whose key and checkpoints were replaced together.
	Verifier note.Verifier

	// Index returns the secondary index keys a record must have. Nil means
	// DomainIndex, the keys the ingest path writes.
	Index func(ledger.Record) ([]ledger.IndexKey, error)

	// Progress, if set, is called from time to time with the number of
	// records audited so far and the number to audit.
	Progress func(done, total uint64)
}

// Problem is one place where the store disagrees with what its records
// imply.
type Problem struct {
	// Table is the table the wrong or missing entry is in (Table* constants).
	Table string `json:"table"`
	// Seq is the sequence number of the record concerned: the record itself,
	// its chain hash, a tree hash stored when it was appended, its dedupe or
	// index entry.
	Seq *uint64 `json:"seq,omitempty"`
	// TreeIndex is the tlog stored-hash index of a tree problem.
	TreeIndex *int64 `json:"tree_index,omitempty"`
	// Size is the tree size of a checkpoint problem.
	Size *uint64 `json:"size,omitempty"`
	// Key names a dedupe entry (hex digest) or an index entry (name=key).
	Key string `json:"key,omitempty"`
	// What says what is wrong.
	What string `json:"what"`
}

// String formats a problem for people: "chain seq 41: …".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Table)
	if p.Seq != nil {
		fmt.Fprintf(&b, " seq %d", *p.Seq)
	}
	if p.TreeIndex != nil {
		fmt.Fprintf(&b, " tree index %d", *p.TreeIndex)
	}
	if p.Size != nil {
		fmt.Fprintf(&b, " size %d", *p.Size)
	}
	if p.Key != "" {
		fmt.Fprintf(&b, " key %s", p.Key)
	}
	b.WriteString(": ")
	b.WriteString(p.What)
	return b.String()
}

// order is the position of a problem in the log, for sorting: the record
// it concerns, or the last record a checkpoint covers.
func (p Problem) order() uint64 {
	switch {
	case p.Seq != nil:
		return *p.Seq
	case p.Size != nil && *p.Size > 0:
		return *p.Size - 1
	case p.Size != nil:
		return 0
	}
	return ^uint64(0)
}

// Report is the outcome of an audit.
type Report struct {
	Origin        string    // the log's origin
	Size          uint64    // records audited (the head size)
	Root          tlog.Hash // Merkle tree hash at Size, recomputed from the records
	Chain         tlog.Hash // chain hash of record Size-1, recomputed
	TreeHashes    uint64    // stored tree hashes checked
	ChainHashes   uint64    // stored chain hashes checked
	Checkpoints   uint64    // stored checkpoints checked
	DedupeEntries uint64    // stored dedupe entries checked
	IndexEntries  uint64    // stored index entries checked
	Seconds       float64   // how long the audit took
	// Problems lists what is wrong, in log order: Problems[0] is the first
	// bad place. Empty when the log is sound.
	Problems []Problem
	// Truncated is set when the audit stopped after MaxProblems problems.
	Truncated bool
}

// OK reports whether the audit found nothing wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 && !r.Truncated }

// Audit recomputes, from the records of l alone, everything the ledger
// derived from them and compares it with what is stored:
//
//   - every record decodes canonically and says the sequence number it is
//     stored under; there is one record for every seq below the head;
//   - every stored tree hash (tlog.StoredHashes over the records), with
//     none missing and none extra;
//   - every chain hash, chain[n] = SHA-256(0x01 || chain[n-1] || leaf[n]);
//   - the Merkle root and chain hash of the head;
//   - every stored checkpoint: signature valid under opts.Verifier, origin,
//     size within the head, root equal to the tree hash recomputed at its
//     size; and a checkpoint exists at the head;
//   - the dedupe table holds exactly one entry per record, keyed by its
//     envelope digest (schemas.Envelope.Digest);
//   - the index table holds exactly the keys opts.Index gives each record.
//
// It streams through the log once, in sequence order, alongside the chain,
// tree and checkpoint tables, with memory bounded by a few batches of
// records whatever the log's size. The dedupe and index tables, which are
// in digest and key order, are compared as sets through a keyed
// fingerprint (a sum of SHA-256 values keyed with a secret drawn for this
// audit, so a store cannot be forged to match it); only when a fingerprint
// differs does a second, slower pass look up each entry to name the bad
// ones.
//
// A log that disagrees with itself is not an error: Audit returns a Report
// whose Problems name the first bad sequence number (or tree index,
// checkpoint size, index key) and what is wrong. Errors are for audits that
// could not finish: a closed log, a cancelled context, or appends during
// the audit (ErrLogChanged) — audit a log nobody is writing to.
func Audit(ctx context.Context, l *ledger.Log, opts AuditOptions) (Report, error) {
	start := time.Now()
	if opts.Verifier == nil {
		opts.Verifier = l.Verifier()
	}
	head := l.Head()
	a := &auditor{
		l:    l,
		opts: opts,
		size: head.Size,
		head: head,
		rep:  Report{Origin: l.Origin(), Size: head.Size},
	}
	if _, err := rand.Read(a.key[:]); err != nil {
		return a.rep, fmt.Errorf("verifier: fingerprint key: %w", err)
	}
	err := a.run(ctx)
	if err == nil {
		if now := l.Head(); now != head {
			err = fmt.Errorf("%w: head moved from size %d to %d", ErrLogChanged, head.Size, now.Size)
		}
	}
	sort.SliceStable(a.rep.Problems, func(i, j int) bool {
		pi, pj := a.rep.Problems[i], a.rep.Problems[j]
		if oi, oj := pi.order(), pj.order(); oi != oj {
			return oi < oj
		}
		return tableRank[pi.Table] < tableRank[pj.Table]
	})
	a.rep.Seconds = time.Since(start).Seconds()
	return a.rep, err
}

// auditor holds the state of one audit.
type auditor struct {
	l    *ledger.Log
	opts AuditOptions
	size uint64
	head ledger.Head
	rep  Report
	key  [32]byte // fingerprint key, secret to this audit

	// Sequential state of the main pass.
	front   frontier
	prev    tlog.Hash // chain hash of the previous record
	tree    *cursor[treeEntry]
	chain   *cursor[chainEntry]
	cps     *cursor[checkpointEntry]
	lastCP  uint64 // size of the last checkpoint seen
	anyCP   bool
	skipSig bool // the pinned key cannot verify this log's checkpoints at all
}

func u64p(v uint64) *uint64 { return &v }
func i64p(v int64) *int64   { return &v }

// add records a problem unless the list is full.
func (a *auditor) add(p Problem) {
	if len(a.rep.Problems) >= MaxProblems {
		a.rep.Truncated = true
		return
	}
	a.rep.Problems = append(a.rep.Problems, p)
}

// corrupt turns a read error that means "the store is damaged" into a
// problem of table t, and passes any other error through.
func (a *auditor) corrupt(t string, err error) error {
	if err == nil || !errors.Is(err, ledger.ErrCorrupt) {
		return err
	}
	a.add(Problem{Table: t, What: "table does not read back: " + err.Error()})
	return nil
}

func (a *auditor) run(ctx context.Context) error {
	if v := a.opts.Verifier; v.Name() != a.l.Origin() {
		a.skipSig = true
		a.add(Problem{Table: TableCheckpoint, What: fmt.Sprintf(
			"the pinned key is for origin %q but the log's origin is %q: no checkpoint can verify", v.Name(), a.l.Origin())})
	}
	wantDedupe, wantIndex, err := a.mainPass(ctx)
	if err != nil || a.rep.Truncated {
		return err
	}
	a.checkHead()

	gotDedupe, dedupeOK, err := a.storedDedupe()
	if err != nil {
		return err
	}
	gotIndex, indexOK, err := a.storedIndex()
	if err != nil {
		return err
	}
	badDedupe := gotDedupe != wantDedupe
	badIndex := gotIndex != wantIndex
	if !badDedupe && !badIndex {
		return nil
	}
	// The sets differ: look every entry up, both ways, to name the bad ones.
	if err := a.recheckRecords(ctx, badDedupe, badIndex); err != nil {
		return err
	}
	if badDedupe && dedupeOK {
		if err := a.recheckDedupe(ctx); err != nil {
			return err
		}
	}
	if badIndex && indexOK {
		if err := a.recheckIndex(ctx); err != nil {
			return err
		}
	}
	return nil
}

// ---- The main pass: records, tree, chain, checkpoints. ----

// item is one record as read from the store.
type item struct {
	seq     uint64
	raw     []byte        // the stored bytes; nil when missing or unreadable
	rec     ledger.Record // valid when decoded
	decoded bool
	problem string // why the record itself is bad, if it is
}

// batch is a run of consecutive records on their way through the pipeline.
type batch struct {
	items    []item
	leaves   []tlog.Hash
	problems []Problem
	dedupe   fingerprint
	index    fingerprint
	done     chan struct{}
}

const (
	batchSize = 512  // records per pipeline batch
	scanChunk = 4096 // records per ledger Scan call
)

// mainPass streams the records through a pipeline: one goroutine reads them
// in order, workers derive what depends on one record only (leaf hash,
// digest, index keys — the costly part), and this goroutine checks what
// depends on order (tree, chain, checkpoints) as the batches come back in
// sequence. Channels of a few batches bound the memory.
func (a *auditor) mainPass(ctx context.Context) (dedupe, index fingerprint, err error) {
	a.tree = newCursor(func(yield func(treeEntry) error) error {
		return a.l.TreeEntries(func(i int64, h []byte) error { return yield(newTreeEntry(i, h)) })
	})
	defer a.tree.close()
	a.chain = newCursor(func(yield func(chainEntry) error) error {
		return a.l.ChainEntries(func(s uint64, h []byte) error { return yield(newChainEntry(s, h)) })
	})
	defer a.chain.close()
	a.cps = newCursor(func(yield func(checkpointEntry) error) error {
		return a.l.Checkpoints(func(s uint64, n []byte) error {
			return yield(checkpointEntry{size: s, note: bytes.Clone(n)})
		})
	})
	defer a.cps.close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(1, runtime.GOMAXPROCS(0))
	work := make(chan *batch, workers)
	order := make(chan *batch, 2*workers)
	var wg sync.WaitGroup
	defer func() { // nothing of the pipeline outlives the pass
		cancel()
		wg.Wait()
	}()

	send := func(b *batch) error {
		select {
		case order <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		work <- b // workers never stop before work is closed
		return nil
	}
	var readErr error
	wg.Go(func() {
		defer close(order)
		defer close(work)
		b := &batch{done: make(chan struct{})}
		readErr = a.readRecords(ctx, 0, a.size, func(it item) error {
			b.items = append(b.items, it)
			if len(b.items) < batchSize {
				return nil
			}
			err := send(b)
			b = &batch{done: make(chan struct{})}
			return err
		})
		if readErr == nil && len(b.items) > 0 {
			readErr = send(b)
		}
	})
	for range workers {
		wg.Go(func() {
			h := sha256.New()
			for b := range work {
				a.derive(b, h)
				close(b.done)
			}
		})
	}

	if err := a.checkpointsUpTo(0); err != nil {
		return dedupe, index, err
	}
	var done uint64
	for b := range order {
		<-b.done
		for _, p := range b.problems {
			a.add(p)
		}
		dedupe.merge(b.dedupe)
		index.merge(b.index)
		for i := range b.items {
			if err := a.step(&b.items[i], b.leaves[i]); err != nil {
				return dedupe, index, err
			}
		}
		done += uint64(len(b.items))
		if a.opts.Progress != nil {
			a.opts.Progress(done, a.size)
		}
		if a.rep.Truncated {
			return dedupe, index, nil
		}
		if err := ctx.Err(); err != nil {
			return dedupe, index, err
		}
	}
	cancel()
	wg.Wait()
	if readErr != nil {
		return dedupe, index, readErr
	}
	if done != a.size {
		return dedupe, index, fmt.Errorf("verifier: read %d records of %d", done, a.size)
	}
	return dedupe, index, a.afterRecords()
}

// errResync stops a Scan that delivered something other than the record
// expected next; the record is then read on its own.
var errResync = errors.New("verifier: resync")

// readRecords calls emit for every seq in [from, to), in order, with what
// is stored there. Scan does the bulk of the reading; where it stumbles (a
// missing record, one that does not decode, one that names another seq)
// the record is read by key so the problem can be pinned to its seq.
func (a *auditor) readRecords(ctx context.Context, from, to uint64, emit func(item) error) error {
	n := from
	for n < to {
		if err := ctx.Err(); err != nil {
			return err
		}
		limit := int(min(to-n, scanChunk))
		got := 0
		err := a.l.Scan(n, limit, func(rec ledger.Record) error {
			if rec.Seq != n {
				return errResync
			}
			// Scan's DecodeRecord is strict, so the canonical encoding is
			// the stored bytes.
			raw := rec.Bytes()
			if err := emit(item{seq: n, raw: raw, rec: rec, decoded: true}); err != nil {
				return err
			}
			n++
			got++
			return nil
		})
		switch {
		case err == nil && got == limit:
			continue
		case err == nil, errors.Is(err, errResync), errors.Is(err, ledger.ErrCorrupt), errors.Is(err, ledger.ErrNotFound):
			it, err := a.readOne(n)
			if err != nil {
				return err
			}
			if err := emit(it); err != nil {
				return err
			}
			n++
		default:
			return err
		}
	}
	return nil
}

// readOne reads record n by key.
func (a *auditor) readOne(n uint64) (item, error) {
	b, err := a.l.RecordBytes(n)
	switch {
	case errors.Is(err, ledger.ErrCorrupt), errors.Is(err, ledger.ErrNotFound):
		return item{seq: n, problem: fmt.Sprintf("missing or unreadable below the head size %d: %v", a.size, err)}, nil
	case err != nil:
		return item{}, err
	}
	rec, err := ledger.DecodeRecord(b)
	if err != nil {
		return item{seq: n, raw: b, problem: "does not decode as a canonical record: " + err.Error()}, nil
	}
	if rec.Seq != n {
		return item{seq: n, raw: b, problem: fmt.Sprintf("stored under seq %d but says seq %d", n, rec.Seq)}, nil
	}
	return item{seq: n, raw: b, rec: rec, decoded: true}, nil
}

// derive computes what depends on one record alone: its leaf hash, its
// dedupe entry and its index entries (into the batch's fingerprints).
func (a *auditor) derive(b *batch, h hash.Hash) {
	b.leaves = make([]tlog.Hash, len(b.items))
	for i := range b.items {
		it := &b.items[i]
		if it.raw != nil {
			b.leaves[i] = tlog.RecordHash(it.raw)
		}
		if !it.decoded {
			continue
		}
		env, digest, ikeys, err := a.recordFacts(it.rec)
		if env == nil {
			b.problems = append(b.problems, Problem{Table: TableRecord, Seq: u64p(it.seq), What: err.Error()})
			continue
		}
		if digest != nil {
			b.dedupe.add(h, &a.key, dedupeElem(digest[:], it.seq))
		}
		if err != nil {
			b.problems = append(b.problems, Problem{Table: TableRecord, Seq: u64p(it.seq), What: err.Error()})
			continue
		}
		for _, k := range ikeys {
			b.index.add(h, &a.key, k)
		}
	}
}

// recordFacts decodes a record's envelope and returns its digest and its
// index entries (as sorted, distinct x| keys). env is nil when the envelope
// does not decode; digest is nil when it has none; err says what is wrong.
func (a *auditor) recordFacts(rec ledger.Record) (env *schemas.Envelope, digest *[32]byte, ikeys [][]byte, err error) {
	env = new(schemas.Envelope)
	if err := json.Unmarshal(rec.Envelope, env); err != nil {
		return nil, nil, nil, fmt.Errorf("/envelope: not a DSSE envelope: %v", err)
	}
	if d, err := env.Digest(); err == nil {
		digest = &d
	} else {
		return env, nil, nil, fmt.Errorf("/envelope: no digest: %v", err)
	}
	var ik []ledger.IndexKey
	if a.opts.Index != nil {
		ik, err = a.opts.Index(rec)
	} else {
		ik, err = EnvelopeIndex(env)
	}
	if err != nil {
		return env, digest, nil, fmt.Errorf("index keys: %v", err)
	}
	ikeys = make([][]byte, 0, len(ik))
	for _, k := range ik {
		if len(k.Name) > 255 || len(k.Key) > 65535 {
			return env, digest, nil, fmt.Errorf("index keys: key %s=%q is longer than the store allows", k.Name, k.Key)
		}
		ikeys = append(ikeys, keys.Index(k.Name, k.Key, rec.Seq))
	}
	slices.SortFunc(ikeys, bytes.Compare)
	ikeys = slices.CompactFunc(ikeys, bytes.Equal)
	return env, digest, ikeys, nil
}

func dedupeElem(digest []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(keys.Dedupe(digest), seq)
}

// stored is an entry read from a hash table at the position expected.
type stored struct {
	present bool
	ok      bool // present and 32 bytes long
	h       tlog.Hash
}

func (s stored) differs(want tlog.Hash) string {
	switch {
	case !s.present:
		return "missing"
	case !s.ok:
		return "malformed: not 32 bytes"
	case s.h != want:
		return fmt.Sprintf("stored %s, recomputed %s", s.h, want)
	}
	return ""
}

// step checks record it, whose leaf hash is leaf (when it has bytes),
// against the tree and chain tables, then any checkpoint at its size.
//
// Each stored hash is checked against its neighbours, not against a chain of
// recomputations from seq 0, so one bad byte yields one problem, not one
// per later record: when a record's bytes match neither its stored leaf
// hash nor its chain hash, the record is what changed, and the stored
// hashes are carried forward; when only a stored hash is off, the
// recomputed one is.
func (a *auditor) step(it *item, leaf tlog.Hash) error {
	n := it.seq
	base := tlog.StoredHashIndex(0, int64(n))
	levels := 1 + bits.TrailingZeros64(n+1)
	st := make([]stored, levels)
	for i := range st {
		st[i] = a.treeAt(base + int64(i))
	}
	a.rep.TreeHashes += uint64(levels)
	if it.raw == nil && st[0].ok {
		leaf = st[0].h // nothing to hash: go on from what the tree says
	}
	hashes, err := tlog.StoredHashesForRecordHash(int64(n), leaf, &a.front)
	if err != nil {
		return fmt.Errorf("verifier: tree at seq %d: %w", n, err)
	}
	want := chainHash(a.prev, leaf)
	sc := a.chainAt(n)
	a.rep.ChainHashes++

	recordBad := it.problem != ""
	if recordBad {
		a.add(Problem{Table: TableRecord, Seq: u64p(n), What: it.problem})
	} else if st[0].ok && sc.ok && st[0].h != hashes[0] && sc.h != want {
		recordBad = true
		a.add(Problem{Table: TableRecord, Seq: u64p(n), What: fmt.Sprintf(
			"record bytes match neither the stored leaf hash (tree index %d) nor the stored chain hash: the record was altered", base)})
	}
	for i, h := range hashes {
		if d := st[i].differs(h); d != "" && (!recordBad || !st[i].present) {
			a.add(Problem{Table: TableTree, Seq: u64p(n), TreeIndex: i64p(base + int64(i)),
				What: fmt.Sprintf("tree hash (level %d) %s", i, d)})
		}
	}
	if d := sc.differs(want); d != "" && (!recordBad || !sc.present) {
		a.add(Problem{Table: TableChain, Seq: u64p(n), What: "chain hash " + d})
	}

	for i, h := range hashes {
		if recordBad && st[i].ok {
			h = st[i].h
		}
		a.front.set(i, base+int64(i), h)
	}
	if recordBad && sc.ok {
		a.prev = sc.h
	} else {
		a.prev = want
	}
	return a.checkpointsUpTo(n + 1)
}

func chainHash(prev, leaf tlog.Hash) tlog.Hash {
	var buf [1 + 2*tlog.HashSize]byte
	buf[0] = 0x01
	copy(buf[1:], prev[:])
	copy(buf[1+tlog.HashSize:], leaf[:])
	return sha256.Sum256(buf[:])
}

// treeAt returns the stored tree hash at index i. Indexes are asked for in
// increasing order, so the tree hashes are read in one forward scan.
func (a *auditor) treeAt(i int64) stored {
	c := a.tree
	for c.ok && c.cur.index < i {
		// Unreachable with a sane table (every index is asked for in
		// turn); skip rather than loop.
		c.advance()
	}
	if c.ok && c.cur.index == i {
		e := c.cur
		c.advance()
		return stored{present: true, ok: e.ok, h: e.h}
	}
	return stored{}
}

// chainAt returns the stored chain hash of seq n (same scan discipline).
func (a *auditor) chainAt(n uint64) stored {
	c := a.chain
	for c.ok && c.cur.seq < n {
		c.advance()
	}
	if c.ok && c.cur.seq == n {
		e := c.cur
		c.advance()
		return stored{present: true, ok: e.ok, h: e.h}
	}
	return stored{}
}

// checkpointsUpTo checks the stored checkpoints of every size up to count,
// the number of records audited so far; the frontier then holds the tree
// at exactly count records.
func (a *auditor) checkpointsUpTo(count uint64) error {
	// Keys are in size order and every size is visited, so a checkpoint
	// comes up exactly when count reaches its size.
	for a.cps.ok && a.cps.cur.size <= count {
		e := a.cps.cur
		a.cps.advance()
		a.checkCheckpoint(e)
	}
	return nil
}

func (a *auditor) checkCheckpoint(e checkpointEntry) {
	a.lastCP, a.anyCP = e.size, true
	if a.skipSig {
		return // reported once: the pinned key cannot check any of them
	}
	a.rep.Checkpoints++
	p := Problem{Table: TableCheckpoint, Size: u64p(e.size)}
	cp, err := ledger.ParseCheckpoint(e.note, a.opts.Verifier)
	if err != nil {
		p.What = "does not verify under the pinned key: " + err.Error()
		a.add(p)
		return
	}
	if cp.Size != e.size {
		p.What = fmt.Sprintf("signed note is for size %d but stored under size %d", cp.Size, e.size)
		a.add(p)
		return
	}
	root, err := tlog.TreeHash(int64(e.size), &a.front)
	if err != nil {
		p.What = "cannot recompute the tree hash: " + err.Error()
		a.add(p)
		return
	}
	if cp.Root != root {
		p.What = fmt.Sprintf("signed root %s differs from the tree hash recomputed at size %d, %s", cp.Root, e.size, root)
		a.add(p)
	}
}

// afterRecords reports what is left in the hash and checkpoint tables after
// the last record: entries beyond the head.
func (a *auditor) afterRecords() error {
	if a.tree.ok {
		first, n := a.tree.cur.index, 0
		for ; a.tree.ok; a.tree.advance() {
			n++
		}
		a.add(Problem{Table: TableTree, TreeIndex: i64p(first), What: fmt.Sprintf(
			"%d stored tree hashes beyond the head (a tree of %d records stores %d)", n, a.size, tlog.StoredHashCount(int64(a.size)))})
	}
	if err := a.corrupt(TableTree, a.tree.err); err != nil {
		return err
	}
	if a.chain.ok {
		first, n := a.chain.cur.seq, 0
		for ; a.chain.ok; a.chain.advance() {
			n++
		}
		a.add(Problem{Table: TableChain, Seq: u64p(first), What: fmt.Sprintf("%d chain hashes beyond the head size %d", n, a.size)})
	}
	if err := a.corrupt(TableChain, a.chain.err); err != nil {
		return err
	}
	for ; a.cps.ok; a.cps.advance() {
		a.rep.Checkpoints++
		a.add(Problem{Table: TableCheckpoint, Size: u64p(a.cps.cur.size), What: fmt.Sprintf("checkpoint beyond the head size %d", a.size)})
	}
	return a.corrupt(TableCheckpoint, a.cps.err)
}

// checkHead compares the head state and the ledger's own tree hash with
// the recomputation.
func (a *auditor) checkHead() {
	root, err := tlog.TreeHash(int64(a.size), &a.front)
	if err != nil {
		a.add(Problem{Table: TableHead, What: "cannot recompute the root: " + err.Error()})
		return
	}
	a.rep.Root, a.rep.Chain = root, a.prev
	if a.head.Root != root {
		a.add(Problem{Table: TableHead, What: fmt.Sprintf("head root %s differs from the recomputed root %s", a.head.Root, root)})
	}
	if a.head.Chain != a.prev {
		a.add(Problem{Table: TableHead, What: fmt.Sprintf("head chain hash %s differs from the recomputed %s", a.head.Chain, a.prev)})
	}
	if th, err := a.l.TreeHash(a.size); err != nil {
		a.add(Problem{Table: TableHead, What: fmt.Sprintf("the ledger cannot compute its tree hash at size %d: %v", a.size, err)})
	} else if th != root {
		a.add(Problem{Table: TableHead, What: fmt.Sprintf("the ledger's tree hash at size %d, %s, differs from the recomputed %s", a.size, th, root)})
	}
	if a.size > 0 && (!a.anyCP || a.lastCP != a.size) {
		a.add(Problem{Table: TableCheckpoint, Size: u64p(a.size), What: "no stored checkpoint at the head size"})
	}
}

// ---- Dedupe and index tables. ----

// storedDedupe fingerprints the d| table. ok is false if the table could not
// be read to its end.
func (a *auditor) storedDedupe() (fp fingerprint, ok bool, err error) {
	h := sha256.New()
	a.rep.DedupeEntries = 0
	err = a.l.DedupeEntries(func(digest []byte, seq uint64) error {
		a.rep.DedupeEntries++
		fp.add(h, &a.key, dedupeElem(digest, seq))
		return nil
	})
	if errors.Is(err, ledger.ErrCorrupt) {
		return fp, false, a.corrupt(TableDedupe, err)
	}
	return fp, err == nil, err
}

// storedIndex fingerprints the x| table.
func (a *auditor) storedIndex() (fp fingerprint, ok bool, err error) {
	h := sha256.New()
	a.rep.IndexEntries = 0
	err = a.l.IndexEntries(func(name string, key []byte, seq uint64) error {
		a.rep.IndexEntries++
		fp.add(h, &a.key, keys.Index(name, key, seq))
		return nil
	})
	if errors.Is(err, ledger.ErrCorrupt) {
		return fp, false, a.corrupt(TableIndex, err)
	}
	return fp, err == nil, err
}

var errFull = errors.New("verifier: problem list full")

// recheckRecords looks up every record's dedupe and index entries by key:
// the slow way, run only when a table's fingerprint is off.
func (a *auditor) recheckRecords(ctx context.Context, dedupe, index bool) error {
	err := a.readRecords(ctx, 0, a.size, func(it item) error {
		if !it.decoded {
			return nil // reported by the main pass
		}
		_, digest, ikeys, _ := a.recordFacts(it.rec)
		if dedupe && digest != nil {
			p := Problem{Table: TableDedupe, Seq: u64p(it.seq), Key: hex.EncodeToString(digest[:])}
			switch seq, ok, err := a.l.Lookup(*digest); {
			case err != nil && !errors.Is(err, ledger.ErrCorrupt):
				return err
			case err != nil:
				p.What = "dedupe entry does not read back: " + err.Error()
				a.add(p)
			case !ok:
				p.What = "no dedupe entry for the record's envelope digest"
				a.add(p)
			case seq != it.seq:
				p.What = fmt.Sprintf("dedupe entry for the record's envelope digest points at seq %d", seq)
				a.add(p)
			}
		}
		if index {
			for _, k := range ikeys {
				name, key, _, err := keys.ParseIndex(k)
				if err != nil {
					return fmt.Errorf("verifier: own index key: %w", err)
				}
				got, err := a.l.ByIndex(name, key, it.seq, 1)
				if err != nil && !errors.Is(err, ledger.ErrCorrupt) && !errors.Is(err, ledger.ErrNotFound) {
					return err
				}
				if len(got) == 0 || got[0] != it.seq {
					a.add(Problem{Table: TableIndex, Seq: u64p(it.seq), Key: indexName(name, key), What: "index entry missing"})
				}
			}
		}
		if a.rep.Truncated {
			return errFull
		}
		return nil
	})
	if errors.Is(err, errFull) {
		return nil
	}
	return err
}

// recheckDedupe checks every d| entry against the record it points at.
func (a *auditor) recheckDedupe(ctx context.Context) error {
	err := a.l.DedupeEntries(func(digest []byte, seq uint64) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := Problem{Table: TableDedupe, Seq: u64p(seq), Key: hex.EncodeToString(digest)}
		if seq >= a.size {
			p.What = fmt.Sprintf("dedupe entry points beyond the head size %d", a.size)
			a.add(p)
		} else if it, err := a.readOne(seq); err != nil {
			return err
		} else if it.decoded {
			if _, d, _, _ := a.recordFacts(it.rec); d == nil || !bytes.Equal(d[:], digest) {
				p.What = "dedupe entry points at a record with another envelope digest"
				a.add(p)
			}
		}
		if a.rep.Truncated {
			return errFull
		}
		return nil
	})
	if errors.Is(err, errFull) {
		return nil
	}
	return err
}

// recheckIndex checks every x| entry against the record it points at.
func (a *auditor) recheckIndex(ctx context.Context) error {
	var (
		cachedSeq  = ^uint64(0)
		cachedKeys [][]byte
		cachedBad  bool
	)
	err := a.l.IndexEntries(func(name string, key []byte, seq uint64) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := Problem{Table: TableIndex, Seq: u64p(seq), Key: indexName(name, key)}
		if seq >= a.size {
			p.What = fmt.Sprintf("index entry points beyond the head size %d", a.size)
			a.add(p)
			return nil
		}
		if seq != cachedSeq {
			it, err := a.readOne(seq)
			if err != nil {
				return err
			}
			cachedSeq, cachedKeys, cachedBad = seq, nil, !it.decoded
			if it.decoded {
				_, _, cachedKeys, _ = a.recordFacts(it.rec)
			}
		}
		if cachedBad {
			return nil // the record's own problem is reported
		}
		want := keys.Index(name, key, seq)
		if _, found := slices.BinarySearchFunc(cachedKeys, want, bytes.Compare); !found {
			p.What = "index entry for a key the record does not carry"
			a.add(p)
		}
		if a.rep.Truncated {
			return errFull
		}
		return nil
	})
	if errors.Is(err, errFull) {
		return nil
	}
	return err
}

func indexName(name string, key []byte) string { return fmt.Sprintf("%s=%q", name, key) }

// ---- Helpers. ----

// fingerprint is an order-independent digest of a set: the sum, modulo
// 2^256, of SHA-256(key || element) over its elements, with their count.
// With a key the store never saw, no store can be arranged so that a wrong
// set sums to the right value.
type fingerprint struct {
	sum [4]uint64
	n   uint64
}

func (f *fingerprint) add(h hash.Hash, key *[32]byte, elem []byte) {
	h.Reset()
	h.Write(key[:])
	h.Write(elem)
	var d [sha256.Size]byte
	h.Sum(d[:0])
	var c uint64
	for i := range f.sum {
		f.sum[i], c = bits.Add64(f.sum[i], binary.LittleEndian.Uint64(d[8*i:]), c)
	}
	f.n++
}

func (f *fingerprint) merge(o fingerprint) {
	var c uint64
	for i := range f.sum {
		f.sum[i], c = bits.Add64(f.sum[i], o.sum[i], c)
	}
	f.n += o.n
}

// frontier holds, for each level of the tree, the last complete subtree
// hash: exactly the hashes tlog needs to extend the tree by one record or to
// compute its root, so the audit recomputes the whole tree in O(log n)
// memory.
type frontier struct {
	index [64]int64
	hash  [64]tlog.Hash
	has   [64]bool
}

func (f *frontier) set(level int, index int64, h tlog.Hash) {
	f.index[level], f.hash[level], f.has[level] = index, h, true
}

// ReadHashes implements tlog.HashReader.
func (f *frontier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		level, _ := tlog.SplitStoredHashIndex(x)
		if level >= len(f.has) || !f.has[level] || f.index[level] != x {
			return nil, fmt.Errorf("verifier: tree hash %d is not on the frontier", x)
		}
		out[i] = f.hash[level]
	}
	return out, nil
}

type treeEntry struct {
	index int64
	ok    bool
	h     tlog.Hash
}

func newTreeEntry(i int64, h []byte) treeEntry {
	e := treeEntry{index: i, ok: len(h) == tlog.HashSize}
	copy(e.h[:], h)
	return e
}

type chainEntry struct {
	seq uint64
	ok  bool
	h   tlog.Hash
}

func newChainEntry(s uint64, h []byte) chainEntry {
	e := chainEntry{seq: s, ok: len(h) == tlog.HashSize}
	copy(e.h[:], h)
	return e
}

type checkpointEntry struct {
	size uint64
	note []byte
}

// errStopCursor ends a table scan that its cursor no longer needs.
var errStopCursor = errors.New("verifier: cursor stopped")

// cursor turns one of the ledger's callback scans into a pull iterator, so
// the audit can walk several tables in step.
type cursor[T any] struct {
	next func() (T, bool)
	stop func()
	cur  T
	ok   bool
	err  error // the scan's error, valid once ok is false
}

func newCursor[T any](scan func(yield func(T) error) error) *cursor[T] {
	c := &cursor[T]{}
	seq := func(yield func(T) bool) {
		err := scan(func(v T) error {
			if !yield(v) {
				return errStopCursor
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopCursor) {
			c.err = err
		}
	}
	c.next, c.stop = iter.Pull(iter.Seq[T](seq))
	c.advance()
	return c
}

func (c *cursor[T]) advance() { c.cur, c.ok = c.next() }

// close ends the scan (releasing its Pebble iterator).
func (c *cursor[T]) close() { c.stop() }
