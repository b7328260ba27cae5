package ledger_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/go-cmp/cmp"
	"github.com/tally-ledger/tally/ledger"
)

// pendingModel is what a log must answer: each digest's seq and each
// index key's seqs, built from the entries as they were appended.
type pendingModel struct {
	seqOf    map[[32]byte]uint64
	postings map[string][]uint64 // name + "=" + key
	size     uint64
}

func newPendingModel() *pendingModel {
	return &pendingModel{seqOf: map[[32]byte]uint64{}, postings: map[string][]uint64{}}
}

// pendingEntry is entry i of the pending tests: keys shared by many
// records (a party of 5, a lot of 3 consecutive records), one unique key,
// and now and then a key listed twice.
func pendingEntry(i int) ledger.Entry {
	e := testEntry(i)
	e.Index = []ledger.IndexKey{
		{Name: "party", Key: fmt.Appendf(nil, "p-%d", i%5)},
		{Name: "lot", Key: fmt.Appendf(nil, "lot-%d", i/3)},
		{Name: "hop", Key: fmt.Appendf(nil, "hop-%d", i)},
	}
	if i%4 == 0 {
		e.Index = append(e.Index, e.Index[0])
	}
	return e
}

func (m *pendingModel) add(t *testing.T, l *ledger.Log, from, n int) {
	t.Helper()
	es := make([]ledger.Entry, n)
	for i := range es {
		es[i] = pendingEntry(from + i)
	}
	out, _ := mustAppend(t, l, es)
	for i, a := range out {
		if _, seen := m.seqOf[es[i].Digest]; seen {
			continue
		}
		if a.Duplicate || a.Seq != m.size {
			t.Fatalf("entry %d: %+v, want new record %d", from+i, a, m.size)
		}
		m.seqOf[es[i].Digest] = a.Seq
		for _, k := range es[i].Index {
			id := k.Name + "=" + string(k.Key)
			if s := m.postings[id]; len(s) == 0 || s[len(s)-1] != a.Seq {
				m.postings[id] = append(s, a.Seq)
			}
		}
		m.size++
	}
}

// check compares every lookup and index read (whole, from a random seq,
// limited) with the model.
func (m *pendingModel) check(t *testing.T, l *ledger.Log, stage string) {
	t.Helper()
	for d, want := range m.seqOf {
		if got, ok, err := l.Lookup(d); err != nil || !ok || got != want {
			t.Fatalf("%s: Lookup(%x) = %d, %v, %v; want %d", stage, d[:4], got, ok, err, want)
		}
	}
	if _, ok, err := l.Lookup(sha256.Sum256([]byte("never appended"))); ok || err != nil {
		t.Fatalf("%s: Lookup of an unknown digest: %v, %v", stage, ok, err)
	}
	rng := rand.New(rand.NewPCG(uint64(len(stage)), m.size))
	for id, want := range m.postings {
		name, key, _ := cutEq(id)
		got, err := l.ByIndex(name, []byte(key), 0, 0)
		if err != nil {
			t.Fatalf("%s: ByIndex(%s): %v", stage, id, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%s: ByIndex(%s) (-want +got):\n%s", stage, id, diff)
		}
		from := rng.Uint64N(m.size + 1)
		limit := rng.IntN(4)
		got, err = l.ByIndex(name, []byte(key), from, limit)
		i := 0
		for i < len(want) && want[i] < from {
			i++
		}
		w := want[i:]
		if limit > 0 && len(w) > limit {
			w = w[:limit]
		}
		if err != nil || !slices.Equal(got, w) {
			t.Fatalf("%s: ByIndex(%s, from %d, limit %d) = %v, %v; want %v", stage, id, from, limit, got, err, w)
		}
	}
	if got, _ := l.ByIndex("party", []byte("nobody"), 0, 0); len(got) != 0 {
		t.Fatalf("%s: ByIndex of an unknown key: %v", stage, got)
	}
}

func cutEq(id string) (name, key string, ok bool) {
	for i := range len(id) {
		if id[i] == '=' {
			return id[:i], id[i+1:], true
		}
	}
	return id, "", false
}

func openFold(t *testing.T, fs vfs.FS, foldAfter int) *ledger.Log {
	t.Helper()
	o := memOptions(fs)
	o.FoldAfter = foldAfter
	l, err := ledger.Open("log", o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// openReadOnly opens the log in fs read-only until the end of the test.
func openReadOnly(t *testing.T, fs vfs.FS) *ledger.Log {
	t.Helper()
	o := memOptions(fs)
	o.ReadOnly = true
	l, err := ledger.Open("log", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// TestPendingAndFolded: reads give the same answers whether a record's
// digest and index keys wait in a pending block, have been folded, or a
// mix; across Close and Open with blocks still pending on disk; and
// resubmitted digests are found in either place.
func TestPendingAndFolded(t *testing.T) {
	fs := vfs.NewMem()
	l := openFold(t, fs, -1) // folds only when asked
	m := newPendingModel()
	next := 0
	grow := func(batches int) {
		for range batches {
			n := 1 + (next*7)%13
			m.add(t, l, next, n)
			next += n
		}
	}
	grow(12)
	if l.PendingRecords() != m.size {
		t.Fatalf("pending %d records, want all %d", l.PendingRecords(), m.size)
	}
	m.check(t, l, "all pending")

	if err := l.Fold(); err != nil {
		t.Fatal(err)
	}
	if l.PendingRecords() != 0 {
		t.Fatalf("pending %d records after Fold", l.PendingRecords())
	}
	m.check(t, l, "all folded")

	grow(9)
	m.check(t, l, "folded and pending")

	// Resubmissions of folded and of pending digests, with new entries
	// between them, in one batch.
	mid := next / 2
	m.add(t, l, mid, 3)    // folded or pending: all duplicates
	m.add(t, l, next-2, 4) // two pending, two new
	next += 2
	m.check(t, l, "after resubmissions")

	// Close keeps the blocks (FoldAfter < 0); Open reads them back.
	pending := l.PendingRecords()
	if pending == 0 {
		t.Fatal("nothing pending before Close")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openFold(t, fs, -1)
	if got := l.PendingRecords(); got != pending {
		t.Fatalf("after Open: %d records pending, want %d", got, pending)
	}
	m.check(t, l, "reopened with blocks pending")
	m.add(t, l, 0, 5) // folded digests: duplicates
	m.add(t, l, next-1, 1)
	m.check(t, l, "resubmitted after Open")

	// A writable log with the default folds in the background and at
	// Close; read-only, the folded log answers the same.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openFold(t, fs, 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ro := openReadOnly(t, fs)
	if ro.PendingRecords() != 0 {
		t.Fatalf("%d records pending after Close folded", ro.PendingRecords())
	}
	m.check(t, ro, "folded at Close, read-only")
}

// TestPendingReadOnly: a read-only log reads pending blocks that a writer
// left on disk.
func TestPendingReadOnly(t *testing.T) {
	fs := vfs.NewMem()
	l := openFold(t, fs, -1)
	m := newPendingModel()
	m.add(t, l, 0, 10)
	if err := l.Fold(); err != nil {
		t.Fatal(err)
	}
	m.add(t, l, 10, 7)
	m.add(t, l, 17, 9)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ro := openReadOnly(t, fs)
	if ro.PendingRecords() != 16 {
		t.Fatalf("read-only: %d records pending, want 16", ro.PendingRecords())
	}
	m.check(t, ro, "read-only")
	if err := ro.Fold(); !errors.Is(err, ledger.ErrReadOnly) {
		t.Fatalf("Fold on a read-only log: %v, want ErrReadOnly", err)
	}
}

// TestBackgroundFold: with a small FoldAfter the background fold keeps
// the pending blocks short while readers read and a writer appends; every
// read is checked against the records as appended. Run with -race.
func TestBackgroundFold(t *testing.T) {
	const foldAfter = 20
	l := openFold(t, vfs.NewMem(), foldAfter)
	// Entry i is record i: the readers know what to expect.
	done := make(chan struct{})
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for r := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				size := l.Head().Size
				if size == 0 {
					continue
				}
				seq := uint64(i*11+r) % size
				e := pendingEntry(int(seq))
				if got, ok, err := l.Lookup(e.Digest); err != nil || !ok || got != seq {
					errs <- fmt.Errorf("Lookup of record %d: %d, %v, %v", seq, got, ok, err)
					return
				}
				// Record seq is the last of party p-(seq%5) at or after
				// seq-4, and the first at or after seq.
				got, err := l.ByIndex("party", fmt.Appendf(nil, "p-%d", seq%5), seq, 1)
				if err != nil || len(got) != 1 || got[0] != seq {
					errs <- fmt.Errorf("ByIndex party from %d: %v, %v", seq, got, err)
					return
				}
				all, err := l.ByIndex("party", fmt.Appendf(nil, "p-%d", seq%5), 0, 0)
				if err != nil || uint64(len(all)) < seq/5+1 {
					errs <- fmt.Errorf("ByIndex party: %d seqs below %d, %v", len(all), seq, err)
					return
				}
				for j, s := range all {
					if s != seq%5+5*uint64(j) {
						errs <- fmt.Errorf("ByIndex party p-%d: seq %d at %d", seq%5, s, j)
						return
					}
				}
			}
		})
	}
	maxPending := uint64(0)
	for i := 0; i < 3000; i += 10 {
		es := make([]ledger.Entry, 10)
		for j := range es {
			es[j] = pendingEntry(i + j)
		}
		if out, _ := mustAppend(t, l, es); out[0].Seq != uint64(i) {
			t.Fatalf("entry %d appended at %d", i, out[0].Seq)
		}
		maxPending = max(maxPending, l.PendingRecords())
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The fold keeps up here or the Appends fold themselves: never more
	// than the bound.
	if maxPending > 16*foldAfter+10 {
		t.Errorf("up to %d records pending, bound %d", maxPending, 16*foldAfter+10)
	}
	deadline := time.Now().Add(10 * time.Second)
	for l.PendingRecords() >= foldAfter && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p := l.PendingRecords(); p >= foldAfter {
		t.Errorf("%d records still pending, the background fold should have taken them", p)
	}
}

// TestFoldManySmallBlocks: Appends of one record each pile up blocks long
// before they reach FoldAfter records; the background fold takes them by
// their number, so that reads do not have to look through more and more
// blocks.
func TestFoldManySmallBlocks(t *testing.T) {
	l := openFold(t, vfs.NewMem(), 1<<20)
	m := newPendingModel()
	const n = 300
	for i := range n {
		m.add(t, l, i, 1)
	}
	deadline := time.Now().Add(10 * time.Second)
	for l.PendingBlocks() >= 64 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if b := l.PendingBlocks(); b >= 64 {
		t.Fatalf("%d blocks of one record pending; the fold should have taken them", b)
	}
	m.check(t, l, "after folds by block count")
}

// TestWalkCallbackMayFold: the raw table walks hold no lock a fold needs,
// so their callbacks may fold (or append) without deadlock.
func TestWalkCallbackMayFold(t *testing.T) {
	l := openFold(t, vfs.NewMem(), -1)
	m := newPendingModel()
	m.add(t, l, 0, 10)
	folded := false
	n := 0
	if err := l.IndexEntries(func(string, []byte, uint64) error {
		n++
		if !folded {
			folded = true
			return l.Fold()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n == 0 || l.PendingRecords() != 0 {
		t.Fatalf("%d index entries walked, %d records still pending", n, l.PendingRecords())
	}
	if err := l.DedupeEntries(func([]byte, uint64) error {
		m.add(t, l, 10, 1)
		return errors.New("stop")
	}); err == nil || err.Error() != "stop" {
		t.Fatalf("DedupeEntries: %v", err)
	}
	m.check(t, l, "after a walk that folded and appended")
}
