package ledger_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tally-ledger/tally/ledger"
)

func TestByIndex(t *testing.T) {
	l, _ := openMem(t)
	appendN(t, l, 0, 50, 9)
	// Entry i is under party "miner-coop-(i%7)" and lot "lot-<i>".
	party3 := func(from uint64) []uint64 {
		var s []uint64
		for i := uint64(3); i < 50; i += 7 {
			if i >= from {
				s = append(s, i)
			}
		}
		return s
	}
	tests := []struct {
		name  string
		index string
		key   string
		from  uint64
		limit int
		want  []uint64
	}{
		{"all of a party", "party", "miner-coop-3", 0, 0, party3(0)},
		{"from", "party", "miner-coop-3", 20, 0, party3(20)},
		{"from exact", "party", "miner-coop-3", 24, 0, party3(24)},
		{"limit", "party", "miner-coop-3", 0, 2, party3(0)[:2]},
		{"from and limit", "party", "miner-coop-3", 11, 3, party3(11)[:3]},
		{"one lot", "lot", "lot-00000042", 0, 0, []uint64{42}},
		{"lot past from", "lot", "lot-00000042", 43, 0, nil},
		{"unknown key", "party", "nobody", 0, 0, nil},
		{"unknown index", "colour", "miner-coop-3", 0, 0, nil},
		// A key that is a prefix of other keys must not match them.
		{"prefix key", "party", "miner-coop-", 0, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.ByIndex(tc.index, []byte(tc.key), tc.from, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestByIndexInvalid(t *testing.T) {
	l, _ := openMem(t)
	for _, tc := range []struct {
		name string
		key  []byte
	}{
		{"", []byte("k")},
		{strings.Repeat("x", 256), []byte("k")},
		{"party", make([]byte, 65536)},
	} {
		t.Run(fmt.Sprintf("name=%d,key=%d", len(tc.name), len(tc.key)), func(t *testing.T) {
			if _, err := l.ByIndex(tc.name, tc.key, 0, 0); !errors.Is(err, ledger.ErrInvalid) {
				t.Errorf("ByIndex = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestIndexKeyLimits(t *testing.T) {
	l, _ := openMem(t)
	e := testEntry(0)
	long := ledger.IndexKey{Name: strings.Repeat("n", ledger.MaxIndexName), Key: make([]byte, ledger.MaxIndexKey)}
	e.Index = []ledger.IndexKey{long, {Name: "empty-key"}}
	mustAppend(t, l, []ledger.Entry{e})
	for _, ix := range e.Index {
		got, err := l.ByIndex(ix.Name, ix.Key, 0, 0)
		if err != nil || len(got) != 1 || got[0] != 0 {
			t.Errorf("ByIndex(%d-byte name, %d-byte key) = %v, %v", len(ix.Name), len(ix.Key), got, err)
		}
	}
}

// TestByIndexPostings: keys shared by many records of one Append (a kind on
// every record, a key listed twice by one entry) are stored as one posting
// per Append; reads start anywhere inside a posting, stop at the limit, and
// see only records below the published head.
func TestByIndexPostings(t *testing.T) {
	l, _ := openMem(t)
	withKind := func(from, n int) []ledger.Entry {
		es := testEntries(from, n)
		for i := range es {
			es[i].Index = append(es[i].Index,
				ledger.IndexKey{Name: "kind", Key: []byte("sale")},
				ledger.IndexKey{Name: "kind", Key: []byte("sale")}, // listed twice
			)
		}
		return es
	}
	all := func(from, to uint64) []uint64 {
		var s []uint64
		for i := from; i < to; i++ {
			s = append(s, i)
		}
		return s
	}
	mustAppend(t, l, withKind(0, 100))
	mustAppend(t, l, withKind(100, 1))
	mustAppend(t, l, withKind(101, 99))
	for _, tc := range []struct {
		from  uint64
		limit int
		want  []uint64
	}{
		{0, 0, all(0, 200)},
		{57, 0, all(57, 200)},
		{57, 5, all(57, 62)},
		{99, 3, all(99, 102)},
		{100, 1, all(100, 101)},
		{150, 0, all(150, 200)},
		{199, 0, all(199, 200)},
		{200, 0, nil},
	} {
		got, err := l.ByIndex("kind", []byte("sale"), tc.from, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("from %d limit %d (-want +got):\n%s", tc.from, tc.limit, diff)
		}
	}
	n := 0
	if err := l.IndexEntries(func(name string, key []byte, seq uint64) error {
		if name == "kind" {
			if seq != uint64(n) {
				t.Fatalf("IndexEntries: kind entry %d is seq %d", n, seq)
			}
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 200 {
		t.Errorf("IndexEntries: %d kind entries, want 200", n)
	}

	// Handed to the store, not yet durable and published: not visible.
	p, err := l.AppendAsync(t.Context(), withKind(200, 10))
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.ByIndex("kind", []byte("sale"), 195, 0)
	if err != nil || !cmp.Equal(got, all(195, 200)) {
		t.Errorf("before Wait: ByIndex = %v, %v; want %v", got, err, all(195, 200))
	}
	if _, _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	got, err = l.ByIndex("kind", []byte("sale"), 195, 0)
	if err != nil || !cmp.Equal(got, all(195, 210)) {
		t.Errorf("after Wait: ByIndex = %v, %v; want %v", got, err, all(195, 210))
	}
}
