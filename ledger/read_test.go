package ledger_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tally-ledger/tally/internal/keys"
	"github.com/tally-ledger/tally/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

func TestGetAndRecordBytes(t *testing.T) {
	l, _ := openMem(t)
	appendN(t, l, 0, 20, 6)
	for seq := range uint64(20) {
		e := testEntry(int(seq))
		r, err := l.Get(seq)
		if err != nil {
			t.Fatal(err)
		}
		want := ledger.Record{Seq: seq, ReceivedAt: e.ReceivedAt, Envelope: e.Envelope}
		if diff := cmp.Diff(want, r); diff != "" {
			t.Errorf("Get(%d) (-want +got):\n%s", seq, diff)
		}
		b, err := l.RecordBytes(seq)
		if err != nil || !bytes.Equal(b, r.Bytes()) {
			t.Errorf("RecordBytes(%d) differs from Get(%d).Bytes() (%v)", seq, seq, err)
		}
	}
	for _, seq := range []uint64{20, 21, 1 << 40} {
		if _, err := l.Get(seq); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("Get(%d) = %v, want ErrNotFound", seq, err)
		}
		if _, err := l.LeafHash(seq); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("LeafHash(%d) = %v, want ErrNotFound", seq, err)
		}
		if _, err := l.ChainHash(seq); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("ChainHash(%d) = %v, want ErrNotFound", seq, err)
		}
	}
}

func TestScan(t *testing.T) {
	l, _ := openMem(t)
	appendN(t, l, 0, 25, 7)
	tests := []struct {
		from      uint64
		limit     int
		wantFirst uint64
		wantN     int
	}{
		{0, 0, 0, 25},
		{0, -1, 0, 25},
		{0, 10, 0, 10},
		{5, 10, 5, 10},
		{20, 10, 20, 5},
		{24, 0, 24, 1},
		{25, 0, 0, 0},
		{1000, 5, 0, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("from=%d,limit=%d", tc.from, tc.limit), func(t *testing.T) {
			var got []uint64
			err := l.Scan(tc.from, tc.limit, func(r ledger.Record) error {
				if !bytes.Equal(r.Envelope, testEnvelope(int(r.Seq))) {
					t.Errorf("record %d has the wrong envelope", r.Seq)
				}
				got = append(got, r.Seq)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var want []uint64
			for i := range tc.wantN {
				want = append(want, tc.wantFirst+uint64(i))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("callback error stops the scan", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := l.Scan(0, 0, func(ledger.Record) error {
			n++
			if n == 3 {
				return stop
			}
			return nil
		})
		if err != stop || n != 3 {
			t.Errorf("Scan returned %v after %d records, want the callback's error after 3", err, n)
		}
	})
}

func TestLookup(t *testing.T) {
	l, _ := openMem(t)
	appendN(t, l, 0, 15, 4)
	for i := range 15 {
		seq, ok, err := l.Lookup(testEntry(i).Digest)
		if err != nil || !ok || seq != uint64(i) {
			t.Errorf("Lookup(entry %d) = %d, %v, %v", i, seq, ok, err)
		}
	}
	if _, ok, err := l.Lookup(testEntry(99).Digest); ok || err != nil {
		t.Errorf("Lookup(absent) = %v, %v; want not found", ok, err)
	}
}

func TestLeafAndChainHashes(t *testing.T) {
	l, _ := openMem(t)
	appendN(t, l, 0, 9, 4)
	var prev tlog.Hash
	for seq := range uint64(9) {
		rec, _ := l.RecordBytes(seq)
		leaf, err := l.LeafHash(seq)
		if err != nil || leaf != tlog.RecordHash(rec) {
			t.Errorf("LeafHash(%d) = %s, %v; want RecordHash of the record", seq, leaf, err)
		}
		stored, err := l.StoredHash(tlog.StoredHashIndex(0, int64(seq)))
		if err != nil || stored != leaf {
			t.Errorf("StoredHash(leaf %d) = %s, %v", seq, stored, err)
		}
		chain, err := l.ChainHash(seq)
		if err != nil || chain != wantChain(prev, leaf) {
			t.Errorf("ChainHash(%d) = %s, %v", seq, chain, err)
		}
		prev = chain
	}
	if _, err := l.StoredHash(tlog.StoredHashCount(9)); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("StoredHash past the end = %v, want ErrNotFound", err)
	}
}

// TestRawTables checks the audit walks against what was appended.
func TestRawTables(t *testing.T) {
	l, _ := openMem(t)
	const n = 23
	appendN(t, l, 0, n, 5)

	var chainSeqs []uint64
	var prev tlog.Hash
	err := l.ChainEntries(func(seq uint64, h []byte) error {
		chainSeqs = append(chainSeqs, seq)
		leaf, _ := l.LeafHash(seq)
		want := wantChain(prev, leaf)
		if !bytes.Equal(h, want[:]) {
			t.Errorf("chain entry %d is not SHA-256(0x01||prev||leaf)", seq)
		}
		copy(prev[:], h)
		return nil
	})
	if err != nil || len(chainSeqs) != n || chainSeqs[n-1] != n-1 {
		t.Errorf("ChainEntries: %d entries, %v", len(chainSeqs), err)
	}

	// The stored hashes tlog computes from the records themselves.
	want := map[int64]tlog.Hash{}
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		hs := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			hs[i] = want[x]
		}
		return hs, nil
	})
	for seq := range int64(n) {
		rec, err := l.RecordBytes(uint64(seq))
		if err != nil {
			t.Fatal(err)
		}
		hs, err := tlog.StoredHashes(seq, rec, reader)
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range hs {
			want[tlog.StoredHashIndex(0, seq)+int64(i)] = h
		}
	}
	var treeN int64
	err = l.TreeEntries(func(index int64, h []byte) error {
		if index != treeN {
			t.Errorf("tree entry %d where %d belongs", index, treeN)
		}
		got, _ := l.StoredHash(index)
		if w := want[index]; !bytes.Equal(h, got[:]) || !bytes.Equal(h, w[:]) {
			t.Errorf("tree entry %d: %x, StoredHash %x, tlog %x", index, h, got, w)
		}
		treeN++
		return nil
	})
	if err != nil || treeN != tlog.StoredHashCount(n) {
		t.Errorf("TreeEntries: %d entries, want %d (%v)", treeN, tlog.StoredHashCount(n), err)
	}

	// Dedupe and index entries: the same whether they wait in pending
	// blocks (as after these Appends) or have been folded into their
	// tables, where the index walk is in key order.
	type ix struct {
		name, key string
		seq       uint64
	}
	var wantIx []ix
	for i := range n {
		for _, k := range testEntry(i).Index {
			wantIx = append(wantIx, ix{k.Name, string(k.Key), uint64(i)})
		}
	}
	ixKey := func(e ix) []byte { return keys.Index(e.name, []byte(e.key), e.seq) }
	for _, folded := range []bool{false, true} {
		if folded {
			if err := l.Fold(); err != nil {
				t.Fatal(err)
			}
		}
		dedupe := map[[32]byte]uint64{}
		err = l.DedupeEntries(func(digest []byte, seq uint64) error {
			dedupe[[32]byte(digest)] = seq
			return nil
		})
		if err != nil || len(dedupe) != n {
			t.Fatalf("folded=%v: DedupeEntries: %d entries, %v", folded, len(dedupe), err)
		}
		for i := range n {
			if seq, ok := dedupe[testEntry(i).Digest]; !ok || seq != uint64(i) {
				t.Errorf("folded=%v: dedupe entry for %d = %d, %v", folded, i, seq, ok)
			}
		}

		var got []ix
		if err := l.IndexEntries(func(name string, key []byte, seq uint64) error {
			got = append(got, ix{name, string(key), seq})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if folded {
			for i := 1; i < len(got); i++ {
				if bytes.Compare(ixKey(got[i-1]), ixKey(got[i])) >= 0 {
					t.Fatalf("IndexEntries after the fold not in key order at %d", i)
				}
			}
		}
		sortIx := func(s []ix) []ix {
			s = slices.Clone(s)
			slices.SortFunc(s, func(a, b ix) int { return bytes.Compare(ixKey(a), ixKey(b)) })
			return s
		}
		if diff := cmp.Diff(sortIx(wantIx), sortIx(got), cmp.AllowUnexported(ix{})); diff != "" {
			t.Errorf("folded=%v: IndexEntries (-want +got):\n%s", folded, diff)
		}
	}

	var cps []uint64
	if err := l.Checkpoints(func(size uint64, msg []byte) error {
		c, err := ledger.ParseCheckpoint(msg, l.Verifier())
		if err != nil || c.Size != size {
			t.Errorf("stored checkpoint %d: size %d, %v", size, c.Size, err)
		}
		cps = append(cps, size)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint64{5, 10, 15, 20, 23}, cps); diff != "" {
		t.Errorf("checkpoint sizes (-want +got):\n%s", diff)
	}
}
