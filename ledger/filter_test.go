package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func filterDigest(tag string, i int) [32]byte {
	return sha256.Sum256(binary.BigEndian.AppendUint64([]byte(tag), uint64(i)))
}

// TestDigestFilter: every digest added is reported as maybe present, and at
// its capacity the filter turns away almost every digest it never saw.
func TestDigestFilter(t *testing.T) {
	const n = 100_000
	f := newDigestFilter(n)
	for i := range n {
		d := filterDigest("in", i)
		f.add(&d)
	}
	for i := range n {
		if d := filterDigest("in", i); !f.mayHave(&d) {
			t.Fatalf("digest %d was added but the filter says it is absent", i)
		}
	}
	fp := 0
	for i := range n {
		if d := filterDigest("out", i); f.mayHave(&d) {
			fp++
		}
	}
	// 10 bits and 6 probes per digest in 512-bit blocks: about 1.3%.
	if rate := float64(fp) / n; rate > 0.03 {
		t.Errorf("false positive rate %.4f at capacity, want ≤ 0.03", rate)
	}
	t.Logf("false positive rate at capacity: %.4f", float64(fp)/n)
}

// filterEntry is a minimal valid entry with digest filterDigest(tag, i).
func filterEntry(tag string, i int) Entry {
	return Entry{
		Digest:     filterDigest(tag, i),
		ReceivedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Envelope:   fmt.Appendf(nil, `{"n":%d,"tag":"%s"}`, i, tag),
	}
}

// waitFilter waits until the writer's digest filter is in use.
func waitFilter(t *testing.T, l *Log) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !l.w.filters.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the digest filter did not become ready")
		}
		time.Sleep(time.Millisecond)
	}
}

// filterCapacities returns the capacities of the writer's filter segments.
func filterCapacities(l *Log) []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var caps []uint64
	for _, f := range l.w.filters.segs {
		caps = append(caps, f.capacity)
	}
	return caps
}

// TestDigestFilterDedupe: with the filter in use, digests appended before
// the log was reopened (found by the filter's scan of the dedupe table, in
// several chunks) and since (added by the writer, over several segments as
// the log outgrows the first), are still recognised as duplicates, with the
// original's seq.
func TestDigestFilterDedupe(t *testing.T) {
	// Small chunks for the filter's scans, set before any log (and its
	// scan) exists; restored after every log below is closed.
	defer func(n int) { filterChunk = n }(filterChunk)
	filterChunk = 7
	fs := vfs.NewMem()
	opts := Options{FS: fs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), CacheSize: 8 << 20}
	l, err := Open("log", opts)
	if err != nil {
		t.Fatal(err)
	}
	const before = 300
	for i := 0; i < before; i += 50 {
		batch := make([]Entry, 50)
		for j := range batch {
			batch[j] = filterEntry("a", i+j)
		}
		if _, _, err := l.Append(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	if l, err = Open("log", opts); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Start over with a small filter, so that the appends below outgrow it
	// several times.
	waitFilter(t, l)
	l.w.filters = digestFilters{min: 64}
	l.startFilter(l.w.head.Size)
	waitFilter(t, l)
	if caps := filterCapacities(l); len(caps) != 1 || caps[0] != 2*before {
		t.Fatalf("filter capacities %v, want [%d]", caps, 2*before)
	}

	next := before // seq of the next new record
	for round := range 12 {
		// Half old digests (from before the reopen and from earlier
		// rounds), half new ones, within one Append.
		var batch []Entry
		var wantSeq []int
		for j := range 400 {
			if j%2 == 0 {
				old := (round*131 + j*7) % next
				tag, i := "a", old
				if old >= before {
					tag, i = "b", old-before
				}
				batch = append(batch, filterEntry(tag, i))
				wantSeq = append(wantSeq, old)
			} else {
				batch = append(batch, filterEntry("b", next-before))
				wantSeq = append(wantSeq, next)
				next++
			}
		}
		out, _, err := l.Append(t.Context(), batch)
		if err != nil {
			t.Fatal(err)
		}
		for j, a := range out {
			if a.Seq != uint64(wantSeq[j]) || a.Duplicate != (j%2 == 0) {
				t.Fatalf("round %d, entry %d: seq %d duplicate %v, want seq %d duplicate %v", round, j, a.Seq, a.Duplicate, wantSeq[j], j%2 == 0)
			}
		}
	}
	caps := filterCapacities(l)
	var total uint64
	for _, c := range caps {
		total += c
	}
	if len(caps) < 3 || total < uint64(next) {
		t.Errorf("filter capacities %v for a log of %d records: want three segments or more, holding all", caps, next)
	}
	if got := l.Head().Size; got != uint64(next) {
		t.Errorf("head size %d, want %d", got, next)
	}
}
