package ledger_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tally-ledger/tally/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// wantChain recomputes a chain hash from its definition.
func wantChain(prev, leaf tlog.Hash) tlog.Hash {
	return sha256.Sum256(append(append([]byte{0x01}, prev[:]...), leaf[:]...))
}

func TestAppendResults(t *testing.T) {
	l, _ := openMem(t)
	var prev tlog.Hash // chain[-1] is all zero
	for batch, n := range []int{1, 3, 8, 17} {
		from := int(l.Head().Size)
		entries := testEntries(from, n)
		out, cp := mustAppend(t, l, entries)
		if len(out) != n {
			t.Fatalf("batch %d: %d results for %d entries", batch, len(out), n)
		}
		for i, a := range out {
			seq := uint64(from + i)
			rec, err := l.RecordBytes(seq)
			if err != nil {
				t.Fatal(err)
			}
			want := ledger.Appended{Seq: seq, Leaf: tlog.RecordHash(rec), Chain: wantChain(prev, tlog.RecordHash(rec))}
			if diff := cmp.Diff(want, a); diff != "" {
				t.Errorf("entry %d (-want +got):\n%s", seq, diff)
			}
			prev = a.Chain
		}
		head := l.Head()
		if head.Size != uint64(from+n) || head.Chain != prev {
			t.Errorf("batch %d: head %d/%s, want %d/%s", batch, head.Size, head.Chain, from+n, prev)
		}
		if cp.Size != head.Size || cp.Root != head.Root {
			t.Errorf("batch %d: checkpoint %d/%s, head %d/%s", batch, cp.Size, cp.Root, head.Size, head.Root)
		}
		parsed, err := ledger.ParseCheckpoint(cp.Note, l.Verifier())
		if err != nil {
			t.Fatalf("checkpoint does not verify: %v", err)
		}
		if diff := cmp.Diff(cp, parsed); diff != "" {
			t.Errorf("checkpoint round trip (-returned +parsed):\n%s", diff)
		}
		latest, err := l.Checkpoint()
		if err != nil || !bytes.Equal(latest.Note, cp.Note) {
			t.Errorf("Checkpoint() = %v, %v; want the one Append returned", latest.Size, err)
		}
		stored, err := l.CheckpointAt(head.Size)
		if err != nil || !bytes.Equal(stored.Note, cp.Note) {
			t.Errorf("CheckpointAt(%d) = %v; want the one Append returned", head.Size, err)
		}
	}
	// Every batch stored its checkpoint; sizes in between have none.
	var sizes []uint64
	if err := l.Checkpoints(func(size uint64, _ []byte) error { sizes = append(sizes, size); return nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint64{1, 4, 12, 29}, sizes); diff != "" {
		t.Errorf("stored checkpoint sizes (-want +got):\n%s", diff)
	}
	if _, err := l.CheckpointAt(5); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("CheckpointAt(5) = %v, want ErrNotFound", err)
	}
}

func TestAppendRecordEncoding(t *testing.T) {
	l, _ := openMem(t)
	e := testEntry(0)
	e.ReceivedAt = time.Date(2025, 6, 7, 8, 9, 10, 120000000, time.FixedZone("CEST", 2*3600))
	mustAppend(t, l, []ledger.Entry{e})
	rec, err := l.RecordBytes(0)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"envelope":` + string(e.Envelope) + `,"received_at":"2025-06-07T06:09:10.12Z","seq":0}`
	if string(rec) != want {
		t.Errorf("record bytes\n got %s\nwant %s", rec, want)
	}
	r, err := l.Get(0)
	if err != nil {
		t.Fatal(err)
	}
	if !r.ReceivedAt.Equal(e.ReceivedAt) || r.ReceivedAt.Location() != time.UTC || !bytes.Equal(r.Envelope, e.Envelope) || r.Seq != 0 {
		t.Errorf("Get(0) = %+v", r)
	}
}

func TestAppendIdempotent(t *testing.T) {
	l, fs := openMem(t)
	first, _ := mustAppend(t, l, testEntries(0, 10))
	headBefore := l.Head()

	t.Run("within one batch", func(t *testing.T) {
		l2, _ := openMem(t)
		e := testEntries(0, 3)
		out, _ := mustAppend(t, l2, []ledger.Entry{e[0], e[1], e[0], e[2], e[1]})
		if got := l2.Head().Size; got != 3 {
			t.Errorf("size %d, want 3", got)
		}
		for i, want := range []struct {
			seq uint64
			dup bool
		}{{0, false}, {1, false}, {0, true}, {2, false}, {1, true}} {
			if out[i].Seq != want.seq || out[i].Duplicate != want.dup {
				t.Errorf("result %d = seq %d dup %v, want %d %v", i, out[i].Seq, out[i].Duplicate, want.seq, want.dup)
			}
		}
		if out[2].Leaf != out[0].Leaf || out[2].Chain != out[0].Chain {
			t.Error("in-batch duplicate does not carry the original's hashes")
		}
	})

	t.Run("earlier batch", func(t *testing.T) {
		// A new entry between two old ones: old ones report their original
		// seq and hashes, the new one gets the next seq.
		batch := []ledger.Entry{testEntry(3), testEntry(100), testEntry(7)}
		out, cp := mustAppend(t, l, batch)
		want := []ledger.Appended{
			{Seq: 3, Leaf: first[3].Leaf, Chain: first[3].Chain, Duplicate: true},
			{Seq: 10, Leaf: out[1].Leaf, Chain: wantChain(headBefore.Chain, out[1].Leaf)},
			{Seq: 7, Leaf: first[7].Leaf, Chain: first[7].Chain, Duplicate: true},
		}
		if diff := cmp.Diff(want, out); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if cp.Size != 11 || l.Head().Size != 11 {
			t.Errorf("size after = %d (checkpoint %d), want 11", l.Head().Size, cp.Size)
		}
	})

	t.Run("all duplicates write nothing", func(t *testing.T) {
		head := l.Head()
		cp, _ := l.Checkpoint()
		var nCP int
		count := func() int {
			nCP = 0
			_ = l.Checkpoints(func(uint64, []byte) error { nCP++; return nil })
			return nCP
		}
		before := count()
		out, got, err := l.Append(t.Context(), testEntries(0, 5))
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range out {
			if !a.Duplicate || a.Seq != uint64(i) || a.Leaf != first[i].Leaf {
				t.Errorf("result %d = %+v, want duplicate of %d", i, a, i)
			}
		}
		if l.Head() != head || !bytes.Equal(got.Note, cp.Note) || count() != before {
			t.Error("an all-duplicate batch changed the head or stored a checkpoint")
		}
	})

	t.Run("after reopen", func(t *testing.T) {
		head := l.Head()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l2 := reopen(t, fs)
		if l2.Head() != head {
			t.Fatalf("reopened head %+v, want %+v", l2.Head(), head)
		}
		out, _ := mustAppend(t, l2, []ledger.Entry{testEntry(9), testEntry(100), testEntry(11)})
		if !out[0].Duplicate || out[0].Seq != 9 || out[0].Chain != first[9].Chain {
			t.Errorf("entry 9 after reopen: %+v", out[0])
		}
		if !out[1].Duplicate || out[1].Seq != 10 {
			t.Errorf("entry 100 after reopen: %+v", out[1])
		}
		if out[2].Duplicate || out[2].Seq != head.Size {
			t.Errorf("entry 11 after reopen: %+v, want new at %d", out[2], head.Size)
		}
	})
}

func TestAppendEmpty(t *testing.T) {
	l, _ := openMem(t)
	out, cp, err := l.Append(t.Context(), nil)
	if err != nil || len(out) != 0 {
		t.Fatalf("Append(nil) = %v, %v", out, err)
	}
	if cp.Size != 0 || cp.Root != l.Head().Root {
		t.Errorf("empty log checkpoint %d/%s, want the empty tree", cp.Size, cp.Root)
	}
	if _, err := ledger.ParseCheckpoint(cp.Note, l.Verifier()); err != nil {
		t.Errorf("empty log checkpoint does not verify: %v", err)
	}
}

func TestAppendInvalid(t *testing.T) {
	good := testEntry(0)
	with := func(f func(*ledger.Entry)) []ledger.Entry {
		e := good
		e.Index = append([]ledger.IndexKey(nil), good.Index...)
		f(&e)
		return []ledger.Entry{testEntry(1), e}
	}
	tests := []struct {
		name    string
		entries []ledger.Entry
		want    string
	}{
		{"zero time", with(func(e *ledger.Entry) { e.ReceivedAt = time.Time{} }), "entries[1].received_at: zero time"},
		{"year 10000", with(func(e *ledger.Entry) { e.ReceivedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), "entries[1].received_at: year 10000"},
		{"empty envelope", with(func(e *ledger.Entry) { e.Envelope = nil }), "entries[1].envelope: not RFC 8785 canonical JSON at byte 0: not a JSON object"},
		{"array envelope", with(func(e *ledger.Entry) { e.Envelope = []byte(`[]`) }), "entries[1].envelope: not RFC 8785 canonical JSON at byte 0"},
		{"whitespace", with(func(e *ledger.Entry) { e.Envelope = []byte(`{"a": 1}`) }), "entries[1].envelope: not RFC 8785 canonical JSON at byte 5"},
		{"unsorted", with(func(e *ledger.Entry) { e.Envelope = []byte(`{"b":1,"a":2}`) }), "member names not in RFC 8785 order"},
		{"escaped slash", with(func(e *ledger.Entry) { e.Envelope = []byte(`{"a":"\/"}`) }), "escape not in canonical form"},
		{"non-canonical number", with(func(e *ledger.Entry) { e.Envelope = []byte(`{"a":1.0}`) }), "number not in ES6 shortest form"},
		{"empty index name", with(func(e *ledger.Entry) { e.Index[0].Name = "" }), "entries[1].index[0]: name: empty"},
		{"long index name", with(func(e *ledger.Entry) { e.Index[1].Name = strings.Repeat("n", 256) }), "entries[1].index[1]: name: 256 bytes, at most 255"},
		{"long index key", with(func(e *ledger.Entry) { e.Index[0].Key = make([]byte, 65536) }), "entries[1].index[0]: key: 65536 bytes, at most 65535"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := openMem(t)
			_, _, err := l.Append(t.Context(), tc.entries)
			if !errors.Is(err, ledger.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Append error = %v, want ErrInvalid containing %q", err, tc.want)
			}
			if l.Head().Size != 0 {
				t.Error("an invalid batch wrote records")
			}
		})
	}
}

func TestAppendCanceled(t *testing.T) {
	l, _ := openMem(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := l.Append(ctx, testEntries(0, 2)); !errors.Is(err, context.Canceled) {
		t.Fatal("Append with a canceled context succeeded")
	}
	if l.Head().Size != 0 {
		t.Error("a canceled Append wrote records")
	}
}

// TestConcurrentReaders runs readers against a log while it grows; each
// reader checks what it sees against the head it read first. Run with -race.
func TestConcurrentReaders(t *testing.T) {
	l, _ := openMem(t)
	appendN(t, l, 0, 5, 5)
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	var reads atomic.Int64
	for r := range 3 {
		wg.Go(func() {
			var lastSize uint64
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				h := l.Head()
				if h.Size < lastSize {
					errs <- errors.New("head went backwards")
					return
				}
				lastSize = h.Size
				seq := uint64(i*7+r) % h.Size
				rec, err := l.Get(seq)
				if err != nil {
					errs <- err
					return
				}
				if seq, ok, err := l.Lookup(sha256.Sum256(rec.Envelope)); err != nil || !ok || seq != rec.Seq {
					errs <- errors.New("Lookup disagrees with Get")
					return
				}
				p, err := l.ProveInclusion(seq, h.Size)
				if err != nil {
					errs <- err
					return
				}
				leaf, err := l.LeafHash(seq)
				if err != nil {
					errs <- err
					return
				}
				if err := tlog.CheckRecord(p, int64(h.Size), h.Root, int64(seq), leaf); err != nil {
					errs <- err
					return
				}
				if cp, err := l.Checkpoint(); err != nil || cp.Size < h.Size {
					errs <- errors.New("checkpoint behind the head read before it")
					return
				}
				reads.Add(1)
			}
		})
	}
	// Keep appending until the readers have had a fair go (at least 30
	// batches and 200 reads), whatever the scheduler does.
	batches := 0
	for i := 5; batches < 30 || (reads.Load() < 200 && batches < 3000); i += 8 {
		mustAppend(t, l, testEntries(i, 8))
		batches++
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if reads.Load() == 0 {
		t.Error("readers never completed a read while the log grew")
	}
	t.Logf("%d reads during %d appends", reads.Load(), batches)
}
