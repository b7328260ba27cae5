package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/tally-ledger/tally/internal/keys"
)

// TestFoldCutShort: a fold applied in part (as a crash between its
// batches leaves it) changes no read, and the fold done again afterwards
// completes it. Table entries for pending records are not read: a stray
// one is ignored until its record is folded.
func TestFoldCutShort(t *testing.T) {
	fs := vfs.NewMem()
	opts := Options{FS: fs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), FoldAfter: -1}
	l, err := Open("log", opts)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3 * foldChunk // several fold batches
	entry := func(i int) Entry {
		env := fmt.Appendf(nil, `{"payload":"%d","payloadType":"t","signatures":[]}`, i)
		return Entry{
			Digest: sha256.Sum256(env), ReceivedAt: time.Unix(int64(i), 0), Envelope: env,
			Index: []IndexKey{{Name: "party", Key: fmt.Appendf(nil, "p%d", i%3)}, {Name: "hop", Key: fmt.Appendf(nil, "h%d", i)}},
		}
	}
	for i := 0; i < n; i += 100 {
		var es []Entry
		for j := i; j < min(n, i+100); j++ {
			es = append(es, entry(j))
		}
		if _, _, err := l.Append(t.Context(), es); err != nil {
			t.Fatal(err)
		}
	}
	h7 := []uint64{7}
	check := func(stage string, l *Log) {
		t.Helper()
		for i := range n {
			if seq, ok, err := l.Lookup(entry(i).Digest); err != nil || !ok || seq != uint64(i) {
				t.Fatalf("%s: Lookup %d: %d, %v, %v", stage, i, seq, ok, err)
			}
		}
		for p := range 3 {
			got, err := l.ByIndex("party", fmt.Appendf(nil, "p%d", p), 0, 0)
			if err != nil || len(got) != (n-p+2)/3 {
				t.Fatalf("%s: party p%d: %d seqs, %v", stage, p, len(got), err)
			}
			for j, s := range got {
				if s != uint64(p+3*j) {
					t.Fatalf("%s: party p%d: seq %d at %d", stage, p, s, j)
				}
			}
		}
		if got, err := l.ByIndex("hop", []byte("h7"), 0, 0); err != nil || !slices.Equal(got, h7) {
			t.Fatalf("%s: hop h7: %v, %v", stage, got, err)
		}
	}

	// Apply every batch of the fold but the last, which deletes the blocks.
	bs, err := l.foldBatches(l.pend.Load().blocks)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) < 3 {
		t.Fatalf("the fold is %d batches; the test needs several", len(bs))
	}
	for _, b := range bs[:len(bs)-1] {
		if err := l.db.Apply(b, pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range bs {
		b.Close()
	}
	// Strays for pending records: a digest and a posting no record has.
	stray := sha256.Sum256([]byte("stray"))
	if err := l.db.Set(keys.Dedupe(stray[:]), binary.BigEndian.AppendUint64(nil, 5), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := l.db.Set(keys.Index("hop", []byte("h7"), 9), nil, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	check("fold cut short", l)
	if _, ok, _ := l.Lookup(stray); ok {
		t.Fatal("a table entry for a pending record was read")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	if l, err = Open("log", opts); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.PendingRecords() != n {
		t.Fatalf("after Open: %d records pending, want %d", l.PendingRecords(), n)
	}
	check("reopened", l)
	if err := l.Fold(); err != nil {
		t.Fatal(err)
	}
	if l.PendingRecords() != 0 {
		t.Fatalf("%d records pending after the fold", l.PendingRecords())
	}
	// Folded, the strays are the table's (what the audit is for).
	h7 = []uint64{7, 9}
	check("folded again", l)
	if seq, ok, _ := l.Lookup(stray); !ok || seq != 5 {
		t.Fatalf("stray dedupe entry after the fold: %d, %v", seq, ok)
	}
}
