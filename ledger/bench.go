package ledger

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/tally-ledger/tally/internal/keys"
	"golang.org/x/mod/sumdb/tlog"
)

// Benchmark helpers for `tally bench`. They run on the real disk (dir) with
// fsync, like production. Only the store work is timed: producing the
// entries or records (the entries/records callbacks) happens outside the
// clock, batch by batch, for both the ledger and the baseline.

// BenchResult is the outcome of one benchmark run.
type BenchResult struct {
	Records      int     // records written
	Seconds      float64 // time spent in the store (Append, or batch build + commit)
	EventsPerSec float64 // Records / Seconds
	// PeakRSSBytes is the process's peak resident set size (VmHWM in
	// /proc/self/status) when the run ends: a high-water mark for the whole
	// process since it started, so run one benchmark per process for a
	// per-benchmark figure. 0 where /proc is not available.
	PeakRSSBytes int64
}

// BenchAppend opens (or creates) a log at dir with default Options and
// appends n entries, entries(0) … entries(n-1), in Appends of batch entries
// each (the last may be shorter), one at a time: each Append returns, fsync
// done, before the next starts. This is the figure to hold against
// BenchRawPebble. Entries whose digests are already in the log count as
// written but add nothing, so use a fresh dir.
func BenchAppend(ctx context.Context, dir string, entries func(i int) Entry, n, batch int) (BenchResult, error) {
	return BenchAppendPipelined(ctx, dir, entries, n, batch, 1)
}

// BenchAppendPipelined is BenchAppend with up to inflight batches in flight
// (AppendAsync, waiting for the oldest when the pipeline is full): group
// commit, as an ingest loop that keeps a few batches in flight would see.
// Compare it with BenchRawPebblePipelined at the same depth.
//
// Timing: the clock runs from the first batch handed over to the last one
// durable, and stops only while entries are generated with nothing in
// flight; generation that overlaps a batch in flight is counted (this can
// only understate the ledger).
func BenchAppendPipelined(ctx context.Context, dir string, entries func(i int) Entry, n, batch, inflight int) (BenchResult, error) {
	if n < 0 || batch < 1 || inflight < 1 {
		return BenchResult{}, fmt.Errorf("%w: bench: n=%d batch=%d inflight=%d", ErrInvalid, n, batch, inflight)
	}
	l, err := Open(dir, Options{})
	if err != nil {
		return BenchResult{}, err
	}
	bufs := make([][]Entry, inflight+1)
	var queue []*Pending
	k := 0
	spent, err := runPipeline(ctx, n, batch, inflight,
		func(i, end int) {
			buf := bufs[k%len(bufs)][:0]
			for j := i; j < end; j++ {
				buf = append(buf, entries(j))
			}
			bufs[k%len(bufs)] = buf
		},
		func() error {
			p, err := l.AppendAsync(ctx, bufs[k%len(bufs)])
			k++
			if err == nil {
				queue = append(queue, p)
			}
			return err
		},
		func() error {
			p := queue[0]
			queue = queue[1:]
			_, _, err := p.Wait()
			return err
		})
	for _, p := range queue {
		p.Wait()
	}
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return BenchResult{}, err
	}
	return benchResult(n, spent), nil
}

// BenchRawPebble is BenchAppend's baseline: a plain Pebble store at
// dir/pebble with the ledger's Pebble options and block cache size, one key
// per record (the record key, big-endian seq) holding records(i), batches of
// batch records committed with pebble.Sync one at a time. No chain, tree,
// checkpoint, dedupe or index.
func BenchRawPebble(ctx context.Context, dir string, records func(i int) []byte, n, batch int) (BenchResult, error) {
	return BenchRawPebblePipelined(ctx, dir, records, n, batch, 1)
}

// BenchRawPebblePipelined is BenchRawPebble with up to inflight synced
// batches in flight (Pebble's ApplyNoSyncWait, then SyncWait on the oldest),
// the baseline for BenchAppendPipelined. Timing as there.
func BenchRawPebblePipelined(ctx context.Context, dir string, records func(i int) []byte, n, batch, inflight int) (BenchResult, error) {
	if n < 0 || batch < 1 || inflight < 1 {
		return BenchResult{}, fmt.Errorf("%w: bench: n=%d batch=%d inflight=%d", ErrInvalid, n, batch, inflight)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return BenchResult{}, err
	}
	db, err := pebble.Open(filepath.Join(dir, storeDir), pebbleOptions(vfs.Default, DefaultCacheSize, slog.Default(), false))
	if err != nil {
		return BenchResult{}, err
	}
	recs := make([][]byte, 0, batch)
	var kb []byte
	var queue []*pebble.Batch
	start := 0
	spent, err := runPipeline(ctx, n, batch, inflight,
		func(i, end int) {
			recs, start = recs[:0], i
			for j := i; j < end; j++ {
				recs = append(recs, records(j))
			}
		},
		func() error {
			size := 0
			for _, r := range recs {
				size += len(r) + 32
			}
			b := db.NewBatchWithSize(size)
			for j, r := range recs {
				kb = keys.AppendRecord(kb[:0], uint64(start+j))
				if err := b.Set(kb, r, nil); err != nil {
					b.Close()
					return err
				}
			}
			if err := db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
				b.Close()
				return err
			}
			queue = append(queue, b)
			return nil
		},
		func() error {
			b := queue[0]
			queue = queue[1:]
			err := b.SyncWait()
			b.Close()
			return err
		})
	for _, b := range queue {
		b.SyncWait()
		b.Close()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return BenchResult{}, err
	}
	return benchResult(n, spent), nil
}

// runPipeline drives a benchmark: for each batch [i, end) it generates the
// input (gen), hands it over (submit) and, with inflight batches
// outstanding, waits for the oldest (wait). It returns the time spent, with
// the clock stopped while generating with nothing in flight.
func runPipeline(ctx context.Context, n, batch, inflight int, gen func(i, end int), submit, wait func() error) (time.Duration, error) {
	var spent time.Duration
	outstanding := 0
	start := time.Now()
	for i := 0; i < n; i += batch {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if outstanding == 0 {
			spent += time.Since(start)
			gen(i, min(i+batch, n))
			start = time.Now()
		} else {
			gen(i, min(i+batch, n))
		}
		if err := submit(); err != nil {
			return 0, err
		}
		outstanding++
		if outstanding == inflight {
			if err := wait(); err != nil {
				return 0, err
			}
			outstanding--
		}
	}
	for ; outstanding > 0; outstanding-- {
		if err := wait(); err != nil {
			return 0, err
		}
	}
	return spent + time.Since(start), nil
}

func benchResult(n int, spent time.Duration) BenchResult {
	r := BenchResult{Records: n, Seconds: spent.Seconds(), PeakRSSBytes: PeakRSS()}
	if r.Seconds > 0 {
		r.EventsPerSec = float64(n) / r.Seconds
	}
	return r
}

// ProofBenchResult is the outcome of BenchProofs: latency quantiles of
// proofs against the log's head, in microseconds.
type ProofBenchResult struct {
	Size                           uint64
	Samples                        int
	InclusionP50, InclusionP99     float64
	ConsistencyP50, ConsistencyP99 float64
}

// BenchProofs opens the existing log at dir read-only and times samples
// inclusion proofs (random record, tree size = head) and samples
// consistency proofs (random older size to the head), verifying each with
// tlog so that a wrong proof fails the benchmark.
func BenchProofs(ctx context.Context, dir string, samples int) (ProofBenchResult, error) {
	l, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		return ProofBenchResult{}, err
	}
	defer l.Close()
	head := l.Head()
	if head.Size == 0 || samples < 1 {
		return ProofBenchResult{}, fmt.Errorf("%w: bench proofs: log size %d, samples %d", ErrInvalid, head.Size, samples)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	incl := make([]time.Duration, 0, samples)
	cons := make([]time.Duration, 0, samples)
	for range samples {
		if err := ctx.Err(); err != nil {
			return ProofBenchResult{}, err
		}
		seq := rng.Uint64N(head.Size)
		start := time.Now()
		p, err := l.ProveInclusion(seq, head.Size)
		incl = append(incl, time.Since(start))
		if err != nil {
			return ProofBenchResult{}, err
		}
		leaf, err := l.LeafHash(seq)
		if err != nil {
			return ProofBenchResult{}, err
		}
		if err := tlog.CheckRecord(p, int64(head.Size), head.Root, int64(seq), leaf); err != nil {
			return ProofBenchResult{}, fmt.Errorf("ledger: inclusion proof for %d failed to verify: %w", seq, err)
		}

		from := 1 + rng.Uint64N(head.Size)
		start = time.Now()
		tp, err := l.ProveConsistency(from, head.Size)
		cons = append(cons, time.Since(start))
		if err != nil {
			return ProofBenchResult{}, err
		}
		old, err := l.TreeHash(from)
		if err != nil {
			return ProofBenchResult{}, err
		}
		if err := tlog.CheckTree(tp, int64(head.Size), head.Root, int64(from), old); err != nil {
			return ProofBenchResult{}, fmt.Errorf("ledger: consistency proof %d→%d failed to verify: %w", from, head.Size, err)
		}
	}
	r := ProofBenchResult{Size: head.Size, Samples: samples}
	r.InclusionP50, r.InclusionP99 = quantileMicros(incl, 0.50), quantileMicros(incl, 0.99)
	r.ConsistencyP50, r.ConsistencyP99 = quantileMicros(cons, 0.50), quantileMicros(cons, 0.99)
	return r, nil
}

func quantileMicros(d []time.Duration, q float64) float64 {
	slices.Sort(d)
	i := int(q * float64(len(d)-1))
	return float64(d[i]) / float64(time.Microsecond)
}

// PeakRSS returns the process's peak resident set size in bytes (VmHWM in
// /proc/self/status), or 0 if it cannot be read.
func PeakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			fields := bytes.Fields(rest) // "<n> kB"
			if len(fields) == 2 && string(fields[1]) == "kB" {
				kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
				if err == nil {
					return kb << 10
				}
			}
			return 0
		}
	}
	return 0
}
