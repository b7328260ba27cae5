package ledger_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/tally-ledger/tally/ledger"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// proofLog is a log of n records appended in irregular batches (so that
// batch boundaries fall everywhere in the tree), with the leaf hashes and
// every tree root computed independently by transparency-dev/merkle.
type proofLog struct {
	l      *ledger.Log
	leaves [][]byte // leaf hashes, by merkle's RFC 6962 hasher over the record bytes
	roots  [][]byte // roots[s] is the root of the first s leaves, by merkle's compact ranges
}

func newProofLog(t *testing.T, n int) *proofLog {
	t.Helper()
	l, _ := openMem(t)
	rng := rand.New(rand.NewPCG(6962, 9162))
	for i := 0; i < n; {
		b := min(1+rng.IntN(64), n-i)
		mustAppend(t, l, testEntries(i, b))
		i += b
	}
	p := &proofLog{l: l}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	cr := rf.NewEmptyRange(0)
	p.roots = append(p.roots, rfc6962.DefaultHasher.EmptyRoot())
	for seq := range uint64(n) {
		rec, err := l.RecordBytes(seq)
		if err != nil {
			t.Fatal(err)
		}
		leaf := rfc6962.DefaultHasher.HashLeaf(rec)
		p.leaves = append(p.leaves, leaf)
		if err := cr.Append(leaf, nil); err != nil {
			t.Fatal(err)
		}
		root, err := cr.GetRootHash(nil)
		if err != nil {
			t.Fatal(err)
		}
		p.roots = append(p.roots, root)
	}
	return p
}

func hashes[H ~[]tlog.Hash](p H) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

func (p *proofLog) checkInclusion(t *testing.T, seq, size uint64) {
	t.Helper()
	pr, err := p.l.ProveInclusion(seq, size)
	if err != nil {
		t.Fatalf("ProveInclusion(%d, %d): %v", seq, size, err)
	}
	root, err := p.l.TreeHash(size)
	if err != nil {
		t.Fatal(err)
	}
	if string(root[:]) != string(p.roots[size]) {
		t.Fatalf("TreeHash(%d) = %s, merkle computes %x", size, root, p.roots[size])
	}
	leaf, err := p.l.LeafHash(seq)
	if err != nil {
		t.Fatal(err)
	}
	if string(leaf[:]) != string(p.leaves[seq]) {
		t.Fatalf("LeafHash(%d) differs from merkle's leaf hash", seq)
	}
	if err := tlog.CheckRecord(pr, int64(size), root, int64(seq), leaf); err != nil {
		t.Errorf("tlog rejects inclusion %d in %d: %v", seq, size, err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, seq, size, p.leaves[seq], hashes(pr), p.roots[size]); err != nil {
		t.Errorf("merkle rejects inclusion %d in %d: %v", seq, size, err)
	}
	// The proof must not also prove a different leaf.
	if seq+1 < size {
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, seq, size, p.leaves[seq+1], hashes(pr), p.roots[size]); err == nil {
			t.Errorf("inclusion proof %d in %d also verifies leaf %d", seq, size, seq+1)
		}
	}
}

func (p *proofLog) checkConsistency(t *testing.T, from, to uint64) {
	t.Helper()
	pr, err := p.l.ProveConsistency(from, to)
	if err != nil {
		t.Fatalf("ProveConsistency(%d, %d): %v", from, to, err)
	}
	r1, r2 := tlog.Hash(p.roots[from]), tlog.Hash(p.roots[to])
	if err := tlog.CheckTree(pr, int64(to), r2, int64(from), r1); err != nil {
		t.Errorf("tlog rejects consistency %d→%d: %v", from, to, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, from, to, hashes(pr), p.roots[from], p.roots[to]); err != nil {
		t.Errorf("merkle rejects consistency %d→%d: %v", from, to, err)
	}
	if from > 1 && from < to {
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, from, to, hashes(pr), p.roots[from-1], p.roots[to]); err == nil {
			t.Errorf("consistency proof %d→%d also verifies from the root of %d", from, to, from-1)
		}
	}
}

func TestProofsSmallExhaustive(t *testing.T) {
	const n = 40
	p := newProofLog(t, n)
	for size := uint64(1); size <= n; size++ {
		for seq := range size {
			p.checkInclusion(t, seq, size)
		}
		for from := uint64(1); from <= size; from++ {
			p.checkConsistency(t, from, size)
		}
	}
}

func TestProofsRandom(t *testing.T) {
	const n = 3000
	p := newProofLog(t, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 400 {
		size := 1 + rng.Uint64N(n)
		p.checkInclusion(t, rng.Uint64N(size), size)
		to := 1 + rng.Uint64N(n)
		p.checkConsistency(t, 1+rng.Uint64N(to), to)
	}
	// And against the head, the common case.
	for range 50 {
		p.checkInclusion(t, rng.Uint64N(n), n)
		p.checkConsistency(t, 1+rng.Uint64N(n), n)
	}
	if h := p.l.Head(); string(h.Root[:]) != string(p.roots[n]) {
		t.Errorf("head root %s, merkle computes %x", h.Root, p.roots[n])
	}
}

func TestProofArguments(t *testing.T) {
	l, _ := openMem(t)
	appendN(t, l, 0, 10, 10)
	for _, tc := range []struct{ seq, size uint64 }{{0, 0}, {10, 10}, {0, 11}, {5, 3}} {
		if _, err := l.ProveInclusion(tc.seq, tc.size); !errors.Is(err, ledger.ErrInvalid) {
			t.Errorf("ProveInclusion(%d, %d) = %v, want ErrInvalid", tc.seq, tc.size, err)
		}
	}
	for _, tc := range []struct{ from, to uint64 }{{0, 5}, {0, 0}, {6, 5}, {1, 11}} {
		if _, err := l.ProveConsistency(tc.from, tc.to); !errors.Is(err, ledger.ErrInvalid) {
			t.Errorf("ProveConsistency(%d, %d) = %v, want ErrInvalid", tc.from, tc.to, err)
		}
	}
	if _, err := l.TreeHash(11); !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("TreeHash(11) = %v, want ErrInvalid", err)
	}
	if p, err := l.ProveConsistency(7, 7); err != nil || len(p) != 0 {
		t.Errorf("ProveConsistency(7, 7) = %v, %v; want an empty proof", p, err)
	}
	empty, err := l.TreeHash(0)
	if want, _ := tlog.TreeHash(0, nil); err != nil || empty != want {
		t.Errorf("TreeHash(0) = %s, %v", empty, err)
	}
}
