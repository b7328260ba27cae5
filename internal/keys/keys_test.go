package keys_test

import (
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/tally-ledger/tally/internal/keys"
)

// TestTreeSlotCoversTlog checks the c| layout against tlog's own numbering:
// walking records in order and laying out each one's stored hashes as
// HashesLen says visits every storage index exactly once, in order, and
// TreeSlot finds each where it was put.
func TestTreeSlotCoversTlog(t *testing.T) {
	next := int64(0)
	for seq := uint64(0); seq < 5000; seq++ {
		levels := keys.TreeLevels(seq)
		if want := int(tlog.StoredHashCount(int64(seq)+1) - tlog.StoredHashCount(int64(seq))); levels != want {
			t.Fatalf("record %d: %d levels, tlog stores %d hashes", seq, levels, want)
		}
		if keys.HashesLen(seq) != keys.HashSize*(1+levels) {
			t.Fatalf("record %d: HashesLen %d for %d levels", seq, keys.HashesLen(seq), levels)
		}
		if base := tlog.StoredHashIndex(0, int64(seq)); base != next {
			t.Fatalf("record %d: first stored hash at %d, want %d", seq, base, next)
		}
		for lv := range levels {
			i := next
			next++
			s, off := keys.TreeSlot(i)
			if s != seq || off != keys.TreeOff+lv*keys.HashSize {
				t.Fatalf("index %d: TreeSlot = (%d, %d), want (%d, %d)", i, s, off, seq, keys.TreeOff+lv*keys.HashSize)
			}
			if l, n := tlog.SplitStoredHashIndex(i); l != lv || tlog.StoredHashIndex(l, n) != i {
				t.Fatalf("index %d: tlog says level %d, laid out as level %d", i, l, lv)
			}
		}
	}
	if next != tlog.StoredHashCount(5000) {
		t.Fatalf("laid out %d stored hashes for 5000 records, tlog stores %d", next, tlog.StoredHashCount(5000))
	}
}

func TestPostingRoundTrip(t *testing.T) {
	for _, seqs := range [][]uint64{{7}, {0, 1, 2, 3}, {5, 200, 201, 1 << 40, 1<<53 - 1}} {
		v := keys.AppendPosting(nil, seqs)
		if len(seqs) == 1 && len(v) != 0 {
			t.Errorf("posting of one seq has value %x, want empty", v)
		}
		var got []uint64
		if err := keys.Posting(seqs[0], v, func(s uint64) bool { got = append(got, s); return true }); err != nil {
			t.Fatalf("%v: %v", seqs, err)
		}
		if !slices.Equal(got, seqs) {
			t.Errorf("posting %v decodes to %v", seqs, got)
		}
		// Stopping early.
		n := 0
		if err := keys.Posting(seqs[0], v, func(uint64) bool { n++; return false }); err != nil || n != 1 {
			t.Errorf("stopped posting %v: %d calls, %v", seqs, n, err)
		}
	}
	for _, bad := range [][]byte{{0x80}, {0x00}, {0x01, 0xff}} {
		if err := keys.Posting(1, bad, func(uint64) bool { return true }); err == nil {
			t.Errorf("posting value %x decoded without error", bad)
		}
	}
	if err := keys.Posting(^uint64(0)-1, []byte{0x02}, func(uint64) bool { return true }); err == nil {
		t.Error("posting past the largest seq decoded without error")
	}
}
