package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/verifier"
)

func init() {
	register(command{
		name:    "bench",
		summary: "measure the ledger: append throughput against raw Pebble (ledger), proof latency (proofs), signed ingest over NATS (ingest)",
		run:     runBench,
	})
}

// Defaults of `tally bench ledger`. 200,000 records of 500 bytes, three
// interleaved runs of the ledger and of the baseline, finish in well under
// a minute on a small machine; the memory check uses --records 5000000.
const (
	benchDefaultRecords = 200_000
	benchDefaultBatch   = 256
	benchDefaultSize    = 500
	benchDefaultRuns    = 3
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, `usage: tally bench ledger [--records N] [--batch B] [--size BYTES] [--runs R] [--data DIR]
       tally bench proofs [--records N] [--samples S] [--data DIR]
       tally bench ingest [--events N] [--nats URL] [--publishers P] [--rate R]
       tally bench score [--entries N] [--hops H] [--samples S] [--runs R] [--data DIR]

Each prints one JSON line. Run 'tally bench ledger -h' for the flags.`)
	}
	if len(args) == 0 {
		usage()
		return &exitError{code: 2, err: errors.New("bench: want ledger, proofs, ingest or score")}
	}
	switch args[0] {
	case "ledger":
		return benchLedger(ctx, args[1:], stdout, stderr)
	case "proofs":
		return benchProofs(ctx, args[1:], stdout, stderr)
	case "ingest":
		return benchIngest(ctx, args[1:], stdout, stderr)
	case "score":
		return benchScore(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		usage()
		return nil
	}
	usage()
	return &exitError{code: 2, err: fmt.Errorf("bench: unknown benchmark %q (want ledger, proofs, ingest or score)", args[0])}
}

// ---- tally bench ledger ----

// benchRun is one run's figures.
type benchRun struct {
	Seconds              float64 `json:"seconds"`
	EventsPerSec         float64 `json:"events_per_sec"`
	PeakRSSMB            float64 `json:"peak_rss_mb"`
	BaselineSeconds      float64 `json:"baseline_seconds,omitempty"`
	BaselineEventsPerSec float64 `json:"baseline_events_per_sec,omitempty"`
	BaselinePeakRSSMB    float64 `json:"baseline_peak_rss_mb,omitempty"`
	Ratio                float64 `json:"ratio,omitempty"`
}

func benchLedger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("bench ledger", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprintln(stderr, `usage: tally bench ledger [flags]

Appends N records through the ledger (chain, tree, checkpoint, dedupe and
index keys; one fsync per batch) and, in the same run on the same disk,
through raw Pebble (the same record bytes, synced batches of the same size,
nothing else): the baseline. Ledger and baseline runs alternate; the line
reports medians, the ratio ledger/baseline and every run.

Records are bench-kind DSSE envelopes (verifier.BenchKind) with real
Ed25519 signatures, generated and signed before any run and read back
outside the clock: only Append (or the raw batch commit) is timed.

flags:`)
		fl.PrintDefaults()
	}
	var (
		records  = fl.Int("records", benchDefaultRecords, "records to append per run")
		batch    = fl.Int("batch", benchDefaultBatch, "records per Append (per synced batch)")
		size     = fl.Int("size", benchDefaultSize, "record size in `BYTES` (the stored record, envelope included; ±3)")
		runs     = fl.Int("runs", benchDefaultRuns, "ledger and baseline runs, interleaved")
		baseline = fl.Bool("baseline", true, "also run the raw Pebble baseline")
		data     = fl.String("data", "", "keep the last run's ledger in `DIR` (must not hold one)")
		tmp      = fl.String("tmp", "", "work `DIR` for scratch stores (default: beside --data, else the temp dir unless it is in memory)")
		cpuprof  = fl.String("cpuprofile", "", "write a CPU profile of the ledger runs (not the baseline) to `file`")
	)
	if err := fl.Parse(args); err != nil {
		return verifyFlagError(err)
	}
	if *records < 1 || *batch < 1 || *size < 1 || *runs < 1 || fl.NArg() > 0 {
		fl.Usage()
		return &exitError{code: 2, err: errors.New("bench ledger: --records, --batch, --size and --runs must be positive")}
	}
	if *data != "" {
		if _, err := os.Stat(filepath.Join(*data, "pebble")); err == nil {
			return &exitError{code: 2, err: fmt.Errorf("bench ledger: %s already holds a ledger; give a new dir", *data)}
		}
	}
	work, err := benchWorkDir(*tmp, *data)
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	g := newBenchGen(*size)
	genStart := time.Now()
	spill := filepath.Join(work, "entries")
	recordBytes, err := g.spill(ctx, spill, *records)
	if err != nil {
		return err
	}
	genSeconds := time.Since(genStart).Seconds()

	var prof *os.File
	if *cpuprof != "" {
		if prof, err = os.Create(*cpuprof); err != nil {
			return err
		}
		defer prof.Close()
	}
	var all []benchRun
	for r := range *runs {
		var run benchRun
		ledgerRun := func() error {
			dir := filepath.Join(work, fmt.Sprintf("ledger-%d", r))
			if *data != "" && r == *runs-1 {
				dir = *data
			}
			sr, err := benchOpenSpill(spill, g)
			if err != nil {
				return err
			}
			defer sr.close()
			benchResetPeakRSS()
			if prof != nil {
				if err := pprof.StartCPUProfile(prof); err != nil {
					return err
				}
			}
			res, err := ledger.BenchAppend(ctx, dir, sr.entry, *records, *batch)
			if prof != nil {
				pprof.StopCPUProfile()
				prof = nil // one profile: the first ledger run
			}
			if err == nil {
				err = sr.err
			}
			if err != nil {
				return fmt.Errorf("bench ledger: run %d: %w", r+1, err)
			}
			run.Seconds, run.EventsPerSec, run.PeakRSSMB = res.Seconds, res.EventsPerSec, benchMB(res.PeakRSSBytes)
			if dir != *data {
				return os.RemoveAll(dir)
			}
			return nil
		}
		baselineRun := func() error {
			if !*baseline {
				return nil
			}
			dir := filepath.Join(work, fmt.Sprintf("raw-%d", r))
			sr, err := benchOpenSpill(spill, g)
			if err != nil {
				return err
			}
			defer sr.close()
			benchResetPeakRSS()
			res, err := ledger.BenchRawPebble(ctx, dir, sr.record, *records, *batch)
			if err == nil {
				err = sr.err
			}
			if err != nil {
				return fmt.Errorf("bench ledger: baseline run %d: %w", r+1, err)
			}
			run.BaselineSeconds, run.BaselineEventsPerSec, run.BaselinePeakRSSMB = res.Seconds, res.EventsPerSec, benchMB(res.PeakRSSBytes)
			return os.RemoveAll(dir)
		}
		// Alternate which goes first, so neither always meets a disk the
		// other has just filled with dirty pages.
		order := []func() error{ledgerRun, baselineRun}
		if r%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, f := range order {
			if err := f(); err != nil {
				return err
			}
		}
		if run.BaselineEventsPerSec > 0 {
			run.Ratio = run.EventsPerSec / run.BaselineEventsPerSec
		}
		all = append(all, run)
	}

	med := func(f func(benchRun) float64) float64 {
		v := make([]float64, len(all))
		for i, r := range all {
			v[i] = f(r)
		}
		return benchMedian(v)
	}
	out := struct {
		Bench                string     `json:"bench"`
		Records              int        `json:"records"`
		Batch                int        `json:"batch"`
		Size                 int        `json:"size"`
		RecordBytes          float64    `json:"record_bytes"`
		Runs                 int        `json:"runs"`
		Seconds              float64    `json:"seconds"`
		EventsPerSec         float64    `json:"events_per_sec"`
		BaselineSeconds      float64    `json:"baseline_seconds"`
		BaselineEventsPerSec float64    `json:"baseline_events_per_sec"`
		Ratio                float64    `json:"ratio"`
		PeakRSSMB            float64    `json:"peak_rss_mb"`
		BaselinePeakRSSMB    float64    `json:"baseline_peak_rss_mb"`
		GenerateSeconds      float64    `json:"generate_seconds"`
		GOMAXPROCS           int        `json:"gomaxprocs"`
		Data                 string     `json:"data,omitempty"`
		PerRun               []benchRun `json:"per_run"`
	}{
		Bench: "ledger", Records: *records, Batch: *batch, Size: *size,
		RecordBytes:          float64(recordBytes) / float64(*records),
		Runs:                 *runs,
		Seconds:              med(func(r benchRun) float64 { return r.Seconds }),
		EventsPerSec:         med(func(r benchRun) float64 { return r.EventsPerSec }),
		BaselineSeconds:      med(func(r benchRun) float64 { return r.BaselineSeconds }),
		BaselineEventsPerSec: med(func(r benchRun) float64 { return r.BaselineEventsPerSec }),
		Ratio:                med(func(r benchRun) float64 { return r.Ratio }),
		PeakRSSMB:            slices.Max(benchPluck(all, func(r benchRun) float64 { return r.PeakRSSMB })),
		BaselinePeakRSSMB:    slices.Max(benchPluck(all, func(r benchRun) float64 { return r.BaselinePeakRSSMB })),
		GenerateSeconds:      genSeconds,
		GOMAXPROCS:           runtime.GOMAXPROCS(0),
		Data:                 *data,
		PerRun:               all,
	}
	return benchWriteJSON(stdout, out)
}

// ---- tally bench proofs ----

func benchProofs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("bench proofs", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprintln(stderr, `usage: tally bench proofs [flags]

Builds a log of N bench records (or reuses the one in --data), then times
inclusion proofs for random (seq, size) pairs and consistency proofs for
random (from, to) pairs, 1 ≤ size, to ≤ N. Every proof is checked with tlog
against the tree hashes (outside the clock), so a wrong proof fails the
benchmark. The first 1,000 proofs warm the block cache and are not counted.

flags:`)
		fl.PrintDefaults()
	}
	var (
		records = fl.Int("records", 1_000_000, "records in the log to build")
		samples = fl.Int("samples", 10_000, "proofs of each kind to time")
		batch   = fl.Int("batch", 1024, "records per Append while building")
		size    = fl.Int("size", benchDefaultSize, "record size in `BYTES` while building")
		data    = fl.String("data", "", "build the log in `DIR` and keep it, or reuse the log already there")
		tmp     = fl.String("tmp", "", "work `DIR` for scratch files")
		seed    = fl.Uint64("seed", 1, "seed of the random pairs")
	)
	if err := fl.Parse(args); err != nil {
		return verifyFlagError(err)
	}
	if *records < 1 || *samples < 1 || *batch < 1 || *size < 1 || fl.NArg() > 0 {
		fl.Usage()
		return &exitError{code: 2, err: errors.New("bench proofs: --records, --samples, --batch and --size must be positive")}
	}
	work, err := benchWorkDir(*tmp, *data)
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	dir := *data
	if dir == "" {
		dir = filepath.Join(work, "ledger")
	}
	reused := false
	var buildSeconds float64
	if _, err := os.Stat(filepath.Join(dir, "pebble")); err == nil {
		reused = true
	} else {
		start := time.Now()
		g := newBenchGen(*size)
		spill := filepath.Join(work, "entries")
		if _, err := g.spill(ctx, spill, *records); err != nil {
			return err
		}
		sr, err := benchOpenSpill(spill, g)
		if err != nil {
			return err
		}
		_, err = ledger.BenchAppend(ctx, dir, sr.entry, *records, *batch)
		sr.close()
		if err == nil {
			err = sr.err
		}
		if err != nil {
			return fmt.Errorf("bench proofs: build: %w", err)
		}
		os.Remove(spill)
		buildSeconds = time.Since(start).Seconds()
	}

	l, err := ledger.Open(dir, ledger.Options{ReadOnly: true, Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return fmt.Errorf("bench proofs: %w", err)
	}
	defer l.Close()
	n := l.Head().Size
	if n == 0 {
		return fmt.Errorf("bench proofs: the log in %s is empty", dir)
	}
	rng := rand.New(rand.NewPCG(*seed, 0x7a11))
	const warmup = 1000
	var incl, cons []time.Duration
	for s := range warmup + *samples {
		if err := ctx.Err(); err != nil {
			return err
		}
		size := 1 + rng.Uint64N(n)
		seq := rng.Uint64N(size)
		start := time.Now()
		p, err := l.ProveInclusion(seq, size)
		d := time.Since(start)
		if err != nil {
			return fmt.Errorf("bench proofs: inclusion of %d in %d: %w", seq, size, err)
		}
		if err := benchCheckInclusion(l, p, seq, size); err != nil {
			return err
		}
		from := 1 + rng.Uint64N(n)
		to := from + rng.Uint64N(n-from+1)
		start = time.Now()
		tp, err := l.ProveConsistency(from, to)
		d2 := time.Since(start)
		if err != nil {
			return fmt.Errorf("bench proofs: consistency %d→%d: %w", from, to, err)
		}
		if err := benchCheckConsistency(l, tp, from, to); err != nil {
			return err
		}
		if s >= warmup {
			incl, cons = append(incl, d), append(cons, d2)
		}
	}
	out := struct {
		Bench            string  `json:"bench"`
		Records          uint64  `json:"records"`
		Samples          int     `json:"samples"`
		InclusionP50US   float64 `json:"inclusion_p50_us"`
		InclusionP99US   float64 `json:"inclusion_p99_us"`
		ConsistencyP50US float64 `json:"consistency_p50_us"`
		ConsistencyP99US float64 `json:"consistency_p99_us"`
		BuildSeconds     float64 `json:"build_seconds,omitempty"`
		Reused           bool    `json:"reused"`
		Data             string  `json:"data,omitempty"`
	}{
		Bench: "proofs", Records: n, Samples: *samples,
		InclusionP50US: benchQuantileUS(incl, 0.50), InclusionP99US: benchQuantileUS(incl, 0.99),
		ConsistencyP50US: benchQuantileUS(cons, 0.50), ConsistencyP99US: benchQuantileUS(cons, 0.99),
		BuildSeconds: buildSeconds, Reused: reused, Data: *data,
	}
	return benchWriteJSON(stdout, out)
}

// benchCheckInclusion verifies an inclusion proof against the record's own bytes
// and the tree hash at size.
func benchCheckInclusion(l *ledger.Log, p tlog.RecordProof, seq, size uint64) error {
	rec, err := l.RecordBytes(seq)
	if err != nil {
		return err
	}
	root, err := l.TreeHash(size)
	if err != nil {
		return err
	}
	if err := tlog.CheckRecord(p, int64(size), root, int64(seq), tlog.RecordHash(rec)); err != nil {
		return fmt.Errorf("bench proofs: inclusion proof of %d in %d does not verify: %w", seq, size, err)
	}
	return nil
}

func benchCheckConsistency(l *ledger.Log, p tlog.TreeProof, from, to uint64) error {
	old, err := l.TreeHash(from)
	if err != nil {
		return err
	}
	root, err := l.TreeHash(to)
	if err != nil {
		return err
	}
	if err := tlog.CheckTree(p, int64(to), root, int64(from), old); err != nil {
		return fmt.Errorf("bench proofs: consistency proof %d→%d does not verify: %w", from, to, err)
	}
	return nil
}

// ---- Synthetic entries. ----

// benchGen makes the records of the benchmarks: bench-kind envelopes
// (verifier.BenchKind) signed with a fixed Ed25519 key, padded so that the
// stored record is size bytes long (within 3: base64 grows 4 bytes at a
// time). Entry i names one of 500 parties and a lot shared by 8
// consecutive entries, and carries the index keys DomainIndex gives it, so
// a benchmark log passes `tally verify`.
type benchGen struct {
	key  ed25519.PrivateKey
	size int
	base time.Time
}

const benchKeyID = "tally-bench"

func newBenchGen(size int) *benchGen {
	seed := sha256.Sum256([]byte("tally bench signing key"))
	return &benchGen{
		key:  ed25519.NewKeyFromSeed(seed[:]),
		size: size,
		base: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

func (g *benchGen) receivedAt(i int) time.Time {
	return g.base.Add(time.Duration(i) * time.Millisecond)
}

// envelope returns entry i's signed envelope, canonical.
func (g *benchGen) envelope(i int) ([]byte, error) {
	p := verifier.BenchPayload{
		Lot:   fmt.Sprintf("lot-%08d", i/8),
		N:     uint64(i),
		Party: fmt.Sprintf("party-%03d", i%500),
	}
	// Without padding, the record is fixed + len(base64(payload)) bytes.
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	empty, err := (&schemas.Envelope{PayloadType: verifier.BenchPayloadType, Signatures: []schemas.Signature{
		{KeyID: benchKeyID, Sig: strings.Repeat("A", 88)}, // the length of a base64 Ed25519 signature
	}}).Canonical()
	if err != nil {
		return nil, err
	}
	fixed := len(ledger.Record{Seq: uint64(i), ReceivedAt: g.receivedAt(i), Envelope: empty}.Bytes())
	if pad := 3*((g.size-fixed)/4) - len(body); pad > 0 {
		p.Pad = strings.Repeat("x", pad)
	}
	env, err := verifier.NewBenchEnvelope(g.key, benchKeyID, p)
	if err != nil {
		return nil, err
	}
	return env.Canonical()
}

// spill generates entries 0…n-1 into a file, signing on every core, and
// returns the total size of their records. Signing (~25 µs an entry) is
// kept out of the timed runs this way without holding every entry in
// memory, which would inflate the peak RSS the runs report.
//
// Each entry is stored as: uint32 envelope length, envelope, digest (32),
// uint8 index key count, then per key uint8 name length, name, uint16 key
// length, key.
func (g *benchGen) spill(ctx context.Context, path string, n int) (recordBytes int64, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)

	const chunk = 512
	type job struct {
		from, to int
		buf      []byte
		bytes    int64
		err      error
		done     chan struct{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *job)
	order := make(chan *job, 4*runtime.GOMAXPROCS(0))
	for range runtime.GOMAXPROCS(0) {
		go func() {
			for j := range jobs {
				for i := j.from; i < j.to && j.err == nil; i++ {
					var rb int
					j.buf, rb, j.err = g.appendEntry(j.buf, i)
					j.bytes += int64(rb)
				}
				close(j.done)
			}
		}()
	}
	go func() {
		defer close(order)
		defer close(jobs)
		for from := 0; from < n; from += chunk {
			j := &job{from: from, to: min(from+chunk, n), done: make(chan struct{})}
			select {
			case order <- j:
			case <-ctx.Done():
				return
			}
			jobs <- j
		}
	}()
	for j := range order {
		<-j.done
		if j.err != nil {
			return 0, j.err
		}
		if _, err := w.Write(j.buf); err != nil {
			return 0, err
		}
		recordBytes += j.bytes
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return recordBytes, f.Close()
}

// appendEntry appends entry i in the spill format and returns its record's
// length.
func (g *benchGen) appendEntry(buf []byte, i int) ([]byte, int, error) {
	env, err := g.envelope(i)
	if err != nil {
		return buf, 0, err
	}
	var e schemas.Envelope
	if err := json.Unmarshal(env, &e); err != nil {
		return buf, 0, err
	}
	digest, err := e.Digest()
	if err != nil {
		return buf, 0, err
	}
	ix, err := verifier.EnvelopeIndex(&e)
	if err != nil {
		return buf, 0, err
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(env)))
	buf = append(buf, env...)
	buf = append(buf, digest[:]...)
	buf = append(buf, byte(len(ix)))
	for _, k := range ix {
		buf = append(buf, byte(len(k.Name)))
		buf = append(buf, k.Name...)
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(k.Key)))
		buf = append(buf, k.Key...)
	}
	n := len(ledger.Record{Seq: uint64(i), ReceivedAt: g.receivedAt(i), Envelope: env}.Bytes())
	return buf, n, nil
}

// benchSpillReader reads a spill file back, entry by entry, in order.
type benchSpillReader struct {
	f    *os.File
	r    *bufio.Reader
	g    *benchGen
	next int
	err  error // the first read error; the benchmark reports it
}

func benchOpenSpill(path string, g *benchGen) (*benchSpillReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &benchSpillReader{f: f, r: bufio.NewReaderSize(f, 1<<20), g: g}, nil
}

func (s *benchSpillReader) close() { s.f.Close() }

func (s *benchSpillReader) fail(err error) {
	if s.err == nil {
		s.err = fmt.Errorf("bench: entries file, entry %d: %w", s.next, err)
	}
}

func (s *benchSpillReader) read(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.r, b); err != nil {
		s.fail(err)
	}
	return b
}

// entry is ledger.BenchAppend's entries callback: it is called with
// i = 0, 1, 2, … in turn.
func (s *benchSpillReader) entry(i int) ledger.Entry {
	if i != s.next {
		s.fail(fmt.Errorf("read out of order: %d", i))
	}
	s.next++
	var e ledger.Entry
	e.Envelope = s.read(int(binary.BigEndian.Uint32(s.read(4))))
	copy(e.Digest[:], s.read(32))
	e.ReceivedAt = s.g.receivedAt(i)
	nk := int(s.read(1)[0])
	e.Index = make([]ledger.IndexKey, nk)
	for k := range e.Index {
		e.Index[k].Name = string(s.read(int(s.read(1)[0])))
		e.Index[k].Key = s.read(int(binary.BigEndian.Uint16(s.read(2))))
	}
	return e
}

// record is ledger.BenchRawPebble's records callback: the bytes the ledger
// stores for entry i of a fresh log.
func (s *benchSpillReader) record(i int) []byte {
	e := s.entry(i)
	return ledger.Record{Seq: uint64(i), ReceivedAt: e.ReceivedAt, Envelope: e.Envelope}.Bytes()
}

// ---- Helpers. ----

// benchWorkDir makes the scratch directory of a benchmark, on a disk: under
// tmp if given, else beside the data dir, else in the temp dir unless that
// is memory-backed (tmpfs), in which case the current directory.
func benchWorkDir(tmp, data string) (string, error) {
	base := tmp
	switch {
	case base != "":
	case data != "":
		abs, err := filepath.Abs(data)
		if err != nil {
			return "", err
		}
		base = filepath.Dir(abs)
	case benchInMemoryFS(os.TempDir()):
		base = "."
	default:
		base = os.TempDir()
	}
	d, err := os.MkdirTemp(base, "tally-bench-")
	if err != nil {
		return "", fmt.Errorf("bench: work dir: %w", err)
	}
	return d, nil
}

// benchInMemoryFS reports whether path is on a tmpfs or ramfs mount, where
// fsync costs nothing and a benchmark would measure the wrong thing. It
// reads /proc/mounts; elsewhere it answers false.
func benchInMemoryFS(path string) bool {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return false
	}
	abs, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false
	}
	best, fstype := "", ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		mp := f[1]
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best, fstype = mp, f[2]
		}
	}
	return fstype == "tmpfs" || fstype == "ramfs"
}

// benchResetPeakRSS returns freed memory to the system and resets the kernel's
// peak-RSS mark (VmHWM) to the current RSS, so that ledger.PeakRSS after a
// run is that run's peak, not the process's (Linux: /proc/self/clear_refs).
func benchResetPeakRSS() {
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

func benchMB(b int64) float64 { return float64(b) / (1 << 20) }

func benchMedian(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func benchPluck[T any](xs []T, f func(T) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func benchQuantileUS(d []time.Duration, q float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[int(q*float64(len(s)-1))]) / float64(time.Microsecond)
}

func benchWriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
