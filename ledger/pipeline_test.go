package ledger_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/tally-ledger/tally/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// TestAppendAsyncInFlight keeps several batches in flight, with duplicates
// across them, and checks each result against the finished log.
func TestAppendAsyncInFlight(t *testing.T) {
	l, _ := openMem(t)
	ctx := t.Context()
	batches := [][]ledger.Entry{
		testEntries(0, 10),
		append(testEntries(10, 5), testEntry(3), testEntry(12)), // dups of in-flight and same batch
		{testEntry(1), testEntry(14)},                           // all duplicates of in-flight batches
		testEntries(15, 3),
	}
	var ps []*ledger.Pending
	for _, b := range batches {
		p, err := l.AppendAsync(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	wantSeq := [][]uint64{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{10, 11, 12, 13, 14, 3, 12},
		{1, 14},
		{15, 16, 17},
	}
	for k, p := range ps {
		out, cp, err := p.Wait()
		if err != nil {
			t.Fatalf("batch %d: %v", k, err)
		}
		for i, a := range out {
			if a.Seq != wantSeq[k][i] {
				t.Errorf("batch %d entry %d: seq %d, want %d", k, i, a.Seq, wantSeq[k][i])
			}
		}
		// The checkpoint returned covers the batch, and readers see it.
		for _, a := range out {
			if cp.Size <= a.Seq {
				t.Errorf("batch %d: checkpoint size %d does not cover seq %d", k, cp.Size, a.Seq)
			}
			if l.Head().Size <= a.Seq {
				t.Errorf("batch %d: head %d does not cover seq %d after Wait", k, l.Head().Size, a.Seq)
			}
		}
		again, _, err := p.Wait()
		if err != nil || len(again) != len(out) {
			t.Errorf("second Wait: %v", err)
		}
	}
	if got := l.Head().Size; got != 18 {
		t.Errorf("size %d, want 18", got)
	}
	checkChain(t, l)
}

// TestConcurrentAppenders: several goroutines append overlapping entries at
// once. Every distinct digest is stored once, every caller agrees on its
// seq, and the chain and tree are intact. Run with -race.
func TestConcurrentAppenders(t *testing.T) {
	l, _ := openMem(t)
	const workers, rounds, per = 4, 15, 6
	seqs := make([]map[[32]byte]uint64, workers)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		seqs[w] = map[[32]byte]uint64{}
		wg.Go(func() {
			for r := range rounds {
				// Worker w's batch r overlaps worker w-1's batch r.
				entries := testEntries(r*per*2+w*per/2, per)
				out, _, err := l.Append(t.Context(), entries)
				if err != nil {
					errs <- err
					return
				}
				for i, a := range out {
					seqs[w][entries[i].Digest] = a.Seq
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := map[[32]byte]uint64{}
	for w := range workers {
		for d, s := range seqs[w] {
			if prev, ok := all[d]; ok && prev != s {
				t.Errorf("digest %x: seq %d and %d", d[:4], prev, s)
			}
			all[d] = s
		}
	}
	if got := l.Head().Size; got != uint64(len(all)) {
		t.Errorf("log size %d, distinct digests %d", got, len(all))
	}
	for d, s := range all {
		r, err := l.Get(s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := l.Lookup(d)
		if err != nil || !ok || got != s || r.Seq != s {
			t.Errorf("Lookup(%x) = %d %v %v, want %d", d[:4], got, ok, err, s)
		}
	}
	checkChain(t, l)
}

// checkChain recomputes every chain hash and the head root from the records.
func checkChain(t *testing.T, l *ledger.Log) {
	t.Helper()
	var prev tlog.Hash
	var leaves []tlog.Hash
	err := l.Scan(0, 0, func(r ledger.Record) error {
		leaf := tlog.RecordHash(r.Bytes())
		leaves = append(leaves, leaf)
		c, err := l.ChainHash(r.Seq)
		if err != nil {
			return err
		}
		if want := wantChain(prev, leaf); c != want {
			t.Errorf("chain %d wrong", r.Seq)
		}
		prev = c
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h := l.Head()
	if h.Chain != prev {
		t.Error("head chain differs from the last chain hash")
	}
	root, err := l.TreeHash(h.Size)
	if err != nil || !bytes.Equal(root[:], h.Root[:]) {
		t.Errorf("TreeHash(head) = %s, %v; head root %s", root, err, h.Root)
	}
	// Independent root from the leaves, through tlog's in-memory storage.
	var stored []tlog.Hash
	rd := tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ix))
		for i, x := range ix {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, leaf := range leaves {
		hs, err := tlog.StoredHashesForRecordHash(int64(i), leaf, rd)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
	}
	if want, _ := tlog.TreeHash(int64(len(leaves)), rd); want != h.Root {
		t.Errorf("head root %s, recomputed from the records %s", h.Root, want)
	}
}
