package ledger_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/tally-ledger/tally/ledger"
)

// benchEntries returns a cheap entry generator for benchmarks: envelopes
// (about 420 bytes, records about 500) come from a precomputed pool, the
// digest is made unique from i, so generating entries costs next to nothing.
func benchEntries() func(i int) ledger.Entry {
	const pool = 1024
	envs := make([][]byte, pool)
	idx := make([][]ledger.IndexKey, pool)
	for i := range pool {
		e := testEntry(i)
		envs[i], idx[i] = e.Envelope, e.Index
	}
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	return func(i int) ledger.Entry {
		var d [32]byte
		binary.BigEndian.PutUint64(d[:], uint64(i))
		d[31] = 0x5a
		return ledger.Entry{Digest: d, ReceivedAt: base.Add(time.Duration(i) * time.Millisecond), Envelope: envs[i%pool], Index: idx[i%pool]}
	}
}

// BenchmarkAppend: batches of 256 ~500-byte records, on disk, fsync on.
// One op is one batch; records/s is the figure to compare.
func BenchmarkAppend(b *testing.B) {
	const batch = 256
	gen := benchEntries()
	l, err := ledger.Open(filepath.Join(b.TempDir(), "log"), ledger.Options{Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	buf := make([]ledger.Entry, batch)
	next := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		for j := range buf {
			buf[j] = gen(next)
			next++
		}
		b.StartTimer()
		if _, _, err := l.Append(b.Context(), buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(next)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRawPebble is BenchmarkAppend's baseline through BenchRawPebble:
// the same records as plain Pebble keys, synced batches of 256.
func BenchmarkRawPebble(b *testing.B) {
	gen := benchEntries()
	records := func(i int) []byte {
		e := gen(i)
		return ledger.Record{Seq: uint64(i), ReceivedAt: e.ReceivedAt, Envelope: e.Envelope}.Bytes()
	}
	n := 256 * max(b.N, 8)
	b.ResetTimer()
	r, err := ledger.BenchRawPebble(b.Context(), b.TempDir(), records, n, 256)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.EventsPerSec, "records/s")
}

// proofBenchLog builds an on-disk log of n records without fsync (the
// proofs are the subject, not the appends).
func proofBenchLog(b *testing.B, n int) *ledger.Log {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "log")
	l, err := ledger.Open(dir, ledger.Options{Logger: quietLogger(), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	gen := benchEntries()
	buf := make([]ledger.Entry, 0, 1024)
	for i := 0; i < n; {
		buf = buf[:0]
		for ; len(buf) < cap(buf) && i < n; i++ {
			buf = append(buf, gen(i))
		}
		if _, _, err := l.Append(context.Background(), buf); err != nil {
			b.Fatal(err)
		}
	}
	// Reopen so that reads come through Pebble's files and block cache as
	// in a long-running server, not only from the memtable.
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	if l, err = ledger.Open(dir, ledger.Options{Logger: quietLogger()}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}

const proofBenchSize = 1 << 17

func BenchmarkProveInclusion(b *testing.B) {
	l := proofBenchLog(b, proofBenchSize)
	head := l.Head()
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.ProveInclusion(rng.Uint64N(head.Size), head.Size); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProveConsistency(b *testing.B) {
	l := proofBenchLog(b, proofBenchSize)
	head := l.Head()
	rng := rand.New(rand.NewPCG(3, 4))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.ProveConsistency(1+rng.Uint64N(head.Size), head.Size); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchHelpers runs the command-line benchmark helpers on a small scale
// and checks they did what they report.
func TestBenchHelpers(t *testing.T) {
	gen := benchEntries()
	dir := filepath.Join(t.TempDir(), "ledger")
	const n, batch = 700, 256
	r, err := ledger.BenchAppend(t.Context(), dir, gen, n, batch)
	if err != nil {
		t.Fatal(err)
	}
	if r.Records != n || r.Seconds <= 0 || r.EventsPerSec <= 0 {
		t.Errorf("BenchAppend = %+v", r)
	}
	if r.PeakRSSBytes <= 0 {
		t.Errorf("PeakRSSBytes = %d, want the process's VmHWM", r.PeakRSSBytes)
	}
	l, err := ledger.Open(dir, ledger.Options{Logger: quietLogger(), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Head().Size; got != n {
		t.Errorf("BenchAppend left %d records, want %d", got, n)
	}
	l.Close()

	p, err := ledger.BenchProofs(t.Context(), dir, 50)
	if err != nil {
		t.Fatal(err)
	}
	if p.Size != n || p.InclusionP50 <= 0 || p.ConsistencyP99 < p.ConsistencyP50 {
		t.Errorf("BenchProofs = %+v", p)
	}

	raw, err := ledger.BenchRawPebble(t.Context(), filepath.Join(t.TempDir(), "raw"), func(i int) []byte {
		return fmt.Appendf(nil, "record %d", i)
	}, n, batch)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Records != n || raw.EventsPerSec <= 0 {
		t.Errorf("BenchRawPebble = %+v", raw)
	}
	if _, err := ledger.BenchAppend(t.Context(), dir, gen, 10, 0); err == nil {
		t.Error("BenchAppend with batch 0 succeeded")
	}
}
