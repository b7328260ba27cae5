package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tally-ledger/tally/internal/provenance"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/score"
	"github.com/tally-ledger/tally/verifier"
)

// ---- tally bench score ----

// Defaults of `tally bench score`.
const (
	scoreBenchDefaultEntries = 1_000_000
	scoreBenchDefaultSmall   = 100_000
	scoreBenchDefaultSamples = 1000
	scoreBenchDefaultRuns    = 3
	scoreBenchDefaultBatch   = 2048
	// scoreBenchTargetWarmP50 is the target for a warm chain score.
	scoreBenchTargetWarmP50 = 2.0
	// scoreBenchMaxGroup bounds the chains whose hops are interleaved on the
	// log (see scoreGen.groupSize), and so the memory the build holds.
	scoreBenchMaxGroup = 1024
	// scoreBenchJobChains is how many chains one signing job builds.
	scoreBenchJobChains = 64
)

func benchScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("bench score", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprintln(stderr, `usage: tally bench score [flags]

Builds a ledger of at least N entries: party registrations, a few
benchmark.published figures, and chains of H hop.recorded entries (cobalt
ore from a miners' cooperative to one smartphone sold to a consumer), each
hop consuming the lot the hop before it output, with price, wage, audit and
dispute attestations around them. Every entry is a real signed DSSE
envelope of the vocabulary, valid under admission; they are appended
directly with ledger.Append (the ingest path is not what this measures).

It then scores the chains of randomly chosen final lots through
internal/provenance, as GET /v1/lots/{id}/score does: cold (the first score
of a chain after the ledger is reopened, with an empty block cache) and
warm (the same chain again at once), with a baseline in the same run:
reading the chain's entries by sequence number, without index walk or
scoring. It does so first at --small entries, then again once the ledger
has grown to N, to show how time and memory change with the ledger's size.

flags:`)
		fl.PrintDefaults()
	}
	var (
		entries = fl.Int("entries", scoreBenchDefaultEntries, "entries in the ledger to build (at least; the last group of chains is completed)")
		small   = fl.Int("small", scoreBenchDefaultSmall, "measure first at this many `entries`, then grow the ledger to --entries (0: only at --entries)")
		hops    = fl.Int("hops", 12, "hops in every chain (1…64)")
		samples = fl.Int("samples", scoreBenchDefaultSamples, "chains scored per run (cold, then warm)")
		runs    = fl.Int("runs", scoreBenchDefaultRuns, "runs at each size; each reopens the ledger and scores chains not scored before")
		batch   = fl.Int("batch", scoreBenchDefaultBatch, "entries per Append while building")
		data    = fl.String("data", "", "build the ledger in `DIR` and keep it, or reuse the one already there (measured at its size only)")
		tmp     = fl.String("tmp", "", "work `DIR` for the ledger when --data is not given")
		seed    = fl.Uint64("seed", 1, "seed of the chains' figures and of the sampling")
		check   = fl.Bool("check", false, "replay admission over the built ledger (verifier.ReplayAdmission) and fail on any rejection")
	)
	if err := fl.Parse(args); err != nil {
		return verifyFlagError(err)
	}
	if *entries < 1 || *small < 0 || *hops < 1 || *hops > 64 || *samples < 1 || *runs < 1 || *batch < 1 || fl.NArg() > 0 {
		fl.Usage()
		return &exitError{code: 2, err: errors.New("bench score: --entries, --samples, --runs and --batch must be positive, --small not negative, --hops 1…64")}
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
	quiet := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	bundled, err := reference.Bundled()
	if err != nil {
		return fmt.Errorf("bench score: %w", err)
	}
	m := &scoreMeasure{dir: dir, hops: *hops, samples: *samples, runs: *runs, logger: quiet, bundled: bundled,
		rng: rand.New(rand.NewPCG(*seed, 0x5c0e)), used: map[string]bool{}}
	out := scoreBenchOutput{
		Bench: "score", Hops: *hops, Samples: *samples, Runs: *runs, Batch: *batch,
		GOMAXPROCS: runtime.GOMAXPROCS(0), Data: *data, TargetWarmP50MS: scoreBenchTargetWarmP50,
		Notes: scoreBenchNotes(*batch),
	}
	var sizes []scoreBenchSize
	if _, err := os.Stat(filepath.Join(dir, "pebble")); err == nil {
		out.Reused = true
		sz, err := m.size(ctx)
		if err != nil {
			return err
		}
		sizes = append(sizes, sz)
	} else {
		g, err := newScoreGen(*hops, *entries, *seed)
		if err != nil {
			return err
		}
		out.Parties = len(g.parties)
		b := &scoreBuild{g: g, dir: dir, batch: *batch, logger: quiet}
		stops := []int{*entries}
		if *small > 0 && *small < *entries {
			stops = []int{*small, *entries}
		}
		for _, stop := range stops {
			if err := b.run(ctx, stop); err != nil {
				return err
			}
			if *check {
				if err := scoreBenchCheck(ctx, dir, quiet); err != nil {
					return err
				}
				out.AdmissionChecked = true
			}
			sz, err := m.size(ctx)
			if err != nil {
				return err
			}
			sizes = append(sizes, sz)
		}
		out.BuildSeconds = b.spent.Seconds()
		out.BuildEntriesPerSec = float64(b.size) / b.spent.Seconds()
	}

	full := sizes[len(sizes)-1]
	out.Entries, out.Chains = full.Entries, full.Chains
	out.Cold, out.Warm, out.Read, out.WarmOverRead = full.Cold, full.Warm, full.Read, full.WarmOverRead
	out.HeapInuseMB, out.HeapLiveMB, out.PeakRSSMB = full.HeapInuseMB, full.HeapLiveMB, full.PeakRSSMB
	out.TargetMet = full.Warm.P50MS <= scoreBenchTargetWarmP50
	if len(sizes) > 1 && sizes[0].HeapInuseMB > 0 && sizes[0].HeapLiveMB > 0 {
		out.SizeGrowth = float64(full.Entries) / float64(sizes[0].Entries)
		out.HeapInuseGrowth = full.HeapInuseMB / sizes[0].HeapInuseMB
		out.HeapLiveGrowth = full.HeapLiveMB / sizes[0].HeapLiveMB
	}
	if m.reusedLots {
		out.Notes = append(out.Notes, "the ledger holds fewer final lots than samples × runs: some chains were scored in more than one run (each run still reopens the ledger, so their first score is cold)")
	}
	out.Sizes = sizes
	return benchWriteJSON(stdout, out)
}

// scoreBenchNotes say what the figures measure.
func scoreBenchNotes(batch int) []string {
	return []string{
		fmt.Sprintf("build: signed vocabulary envelopes appended directly with ledger.Append, %d per batch, with the index keys verifier.EnvelopeIndex gives (computed as verifier.EventIndex of the event signed); admission and the NATS ingest path are not run and not measured (--check replays admission over the result)", batch),
		"cold: the first score of a chain after the ledger is reopened read-only (empty Pebble block cache); chains are not scored before; the operating system's page cache is not dropped",
		"warm: the same chain scored again at once",
		"read_baseline: reading and decoding the chain's hop and attestation entries by sequence number (RecordBytes, DecodeEvent), warm, without index walk or scoring",
		"memory, at the end of each run with ledger and reader still open, after a GC: heap_inuse_mb is the Go heap's in-use spans (runtime.MemStats.HeapInuse), heap_live_mb its live objects (HeapAlloc), which spans left half-used by the build do not inflate; block_cache_mb is what Pebble's block cache holds, outside the Go heap and bounded by its capacity",
		"peak RSS: a run's peak (VmHWM, reset when the run begins, start_rss_mb is the RSS then); a size reports its first run's. Memory that an earlier run or the build freed stays resident in the C allocator (Pebble's cache lives there) and raises every later peak in the same process, whatever the ledger's size: compare peak RSS across sizes with one process per size (--data reusing each ledger)",
		"before the first run one chain outside the samples is scored once, to load the process-wide tables (method parameters, bundled reference figures)",
	}
}

// scoreBenchOutput is the line `tally bench score` prints. The top-level
// latencies and memory are those at the full size; Sizes has every size.
type scoreBenchOutput struct {
	Bench              string           `json:"bench"`
	Entries            uint64           `json:"entries"`
	Chains             int              `json:"chains"`
	Hops               int              `json:"hops"`
	Parties            int              `json:"parties,omitempty"`
	Samples            int              `json:"samples"`
	Runs               int              `json:"runs"`
	Cold               scoreLatency     `json:"cold"`
	Warm               scoreLatency     `json:"warm"`
	Read               scoreLatency     `json:"read_baseline"`
	WarmOverRead       float64          `json:"warm_over_read"`
	HeapInuseMB        float64          `json:"heap_inuse_mb"`
	HeapLiveMB         float64          `json:"heap_live_mb"`
	PeakRSSMB          float64          `json:"peak_rss_mb"`
	TargetWarmP50MS    float64          `json:"target_warm_p50_ms"`
	TargetMet          bool             `json:"target_met"`
	SizeGrowth         float64          `json:"size_growth,omitempty"`
	HeapInuseGrowth    float64          `json:"heap_inuse_growth,omitempty"`
	HeapLiveGrowth     float64          `json:"heap_live_growth,omitempty"`
	Sizes              []scoreBenchSize `json:"sizes"`
	Batch              int              `json:"batch"`
	BuildSeconds       float64          `json:"build_seconds,omitempty"`
	BuildEntriesPerSec float64          `json:"build_entries_per_sec,omitempty"`
	AdmissionChecked   bool             `json:"admission_checked"`
	Reused             bool             `json:"reused"`
	GOMAXPROCS         int              `json:"gomaxprocs"`
	Data               string           `json:"data,omitempty"`
	Notes              []string         `json:"notes"`
}

// scoreLatency is a latency distribution in milliseconds.
type scoreLatency struct {
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
}

// scoreBenchSize is what was measured at one ledger size: medians over the
// runs for latencies and heap, the first run's peak RSS (see
// scoreBenchNotes), the fullest block cache.
type scoreBenchSize struct {
	Entries      uint64          `json:"entries"`
	Chains       int             `json:"chains"`
	StoreMB      float64         `json:"store_mb"`
	Cold         scoreLatency    `json:"cold"`
	Warm         scoreLatency    `json:"warm"`
	Read         scoreLatency    `json:"read_baseline"`
	WarmOverRead float64         `json:"warm_over_read"`
	HeapInuseMB  float64         `json:"heap_inuse_mb"`
	HeapLiveMB   float64         `json:"heap_live_mb"`
	PeakRSSMB    float64         `json:"peak_rss_mb"`
	BlockCacheMB float64         `json:"block_cache_mb"`
	PerRun       []scoreBenchRun `json:"per_run"`
}

// scoreBenchRun is one run: one reopening of the ledger, samples chains.
type scoreBenchRun struct {
	Cold        scoreLatency `json:"cold"`
	Warm        scoreLatency `json:"warm"`
	Read        scoreLatency `json:"read_baseline"`
	HeapInuseMB float64      `json:"heap_inuse_mb"`
	HeapLiveMB  float64      `json:"heap_live_mb"`
	PeakRSSMB   float64      `json:"peak_rss_mb"`
	// StartRSSMB is the RSS when the run began, before the ledger was
	// opened: what earlier runs and the build left resident.
	StartRSSMB float64 `json:"start_rss_mb"`
	// BlockCacheMB is what Pebble's block cache holds after the run (part
	// of the RSS, bounded by the cache's capacity); Tables counts the
	// store's sstables, whose metadata Pebble keeps in memory.
	BlockCacheMB float64 `json:"block_cache_mb"`
	Tables       int64   `json:"sstables"`
	// Hops is the number of hops every chain scored in the run had.
	Hops int `json:"hops"`
}

// ---- Measuring. ----

// scoreMeasure scores sampled chains of the ledger in dir.
type scoreMeasure struct {
	dir                  string
	hops, samples, runs  int
	logger               *slog.Logger
	rng                  *rand.Rand
	bundled              *reference.Set
	used                 map[string]bool // final lots scored already, at any size
	reusedLots, warmedUp bool
}

// size measures the ledger at its current size: picks the lots, then runs.
func (m *scoreMeasure) size(ctx context.Context) (scoreBenchSize, error) {
	lots, sz, err := m.pick(ctx)
	if err != nil {
		return sz, err
	}
	if sz.StoreMB, err = scoreBenchDirMB(filepath.Join(m.dir, "pebble")); err != nil {
		return sz, err
	}
	for r := range m.runs {
		run, err := m.run(ctx, lots[r*m.samples:(r+1)*m.samples])
		if err != nil {
			return sz, fmt.Errorf("bench score: at %d entries, run %d: %w", sz.Entries, r+1, err)
		}
		sz.PerRun = append(sz.PerRun, run)
	}
	med := func(f func(scoreBenchRun) float64) float64 { return benchMedian(benchPluck(sz.PerRun, f)) }
	sz.Cold = scoreLatency{med(func(r scoreBenchRun) float64 { return r.Cold.P50MS }), med(func(r scoreBenchRun) float64 { return r.Cold.P99MS })}
	sz.Warm = scoreLatency{med(func(r scoreBenchRun) float64 { return r.Warm.P50MS }), med(func(r scoreBenchRun) float64 { return r.Warm.P99MS })}
	sz.Read = scoreLatency{med(func(r scoreBenchRun) float64 { return r.Read.P50MS }), med(func(r scoreBenchRun) float64 { return r.Read.P99MS })}
	if sz.Read.P50MS > 0 {
		sz.WarmOverRead = sz.Warm.P50MS / sz.Read.P50MS
	}
	sz.HeapInuseMB = med(func(r scoreBenchRun) float64 { return r.HeapInuseMB })
	sz.HeapLiveMB = med(func(r scoreBenchRun) float64 { return r.HeapLiveMB })
	sz.PeakRSSMB = sz.PerRun[0].PeakRSSMB
	sz.BlockCacheMB = slices.Max(benchPluck(sz.PerRun, func(r scoreBenchRun) float64 { return r.BlockCacheMB }))
	return sz, nil
}

// pick chooses samples × runs final lots (lots sold to the end consumer)
// at random, not scored before, from a ledger opened for the purpose and
// closed again, so that the runs start with an empty block cache. It also
// scores one other chain once, the first time, to load the process-wide
// tables.
func (m *scoreMeasure) pick(ctx context.Context) ([]string, scoreBenchSize, error) {
	var sz scoreBenchSize
	l, err := ledger.Open(m.dir, ledger.Options{ReadOnly: true, Logger: m.logger})
	if err != nil {
		return nil, sz, fmt.Errorf("bench score: %w", err)
	}
	defer l.Close()
	sz.Entries = l.Head().Size
	finals, err := l.ByIndex(schemas.TermParty, []byte(schemas.EndConsumer), 0, 0)
	if err != nil {
		return nil, sz, fmt.Errorf("bench score: final sales: %w", err)
	}
	sz.Chains = len(finals)
	if len(finals) == 0 {
		return nil, sz, fmt.Errorf("bench score: the ledger in %s holds no sale to the end consumer", m.dir)
	}
	m.rng.Shuffle(len(finals), func(i, j int) { finals[i], finals[j] = finals[j], finals[i] })
	want := m.samples * m.runs
	var fresh, seen []string
	for _, seq := range finals {
		if len(fresh) == want+1 {
			break
		}
		b, err := l.RecordBytes(seq)
		if err != nil {
			return nil, sz, err
		}
		ev, err := scoreBenchDecode(b)
		if err != nil {
			return nil, sz, fmt.Errorf("bench score: entry %d: %w", seq, err)
		}
		h, ok := ev.(*schemas.HopRecorded)
		if !ok || h.Buyer != schemas.EndConsumer || h.HopKind != schemas.HopSale {
			continue
		}
		if m.used[h.Output.Lot] {
			seen = append(seen, h.Output.Lot)
		} else {
			fresh = append(fresh, h.Output.Lot)
		}
	}
	// The first lot warms the process up, the rest are the samples; lots
	// scored at an earlier size fill in when fresh ones run out.
	warm := ""
	if !m.warmedUp && len(fresh)+len(seen) > 1 {
		if len(fresh) > 0 {
			warm, fresh = fresh[0], fresh[1:]
		} else {
			warm, seen = seen[0], seen[1:]
		}
	}
	lots := append(fresh, seen...)
	if len(lots) > want {
		lots = lots[:want]
	}
	for _, lot := range lots {
		m.used[lot] = true
	}
	if len(fresh) < want {
		m.reusedLots = true
	}
	if len(lots) == 0 {
		return nil, sz, fmt.Errorf("bench score: the ledger in %s holds no final lot to score", m.dir)
	}
	for n := len(lots); len(lots) < want; {
		lots = append(lots, lots[len(lots)%n])
	}
	if warm != "" {
		if _, err := provenance.New(l, m.bundled).LotScore(ctx, warm); err != nil {
			return nil, sz, fmt.Errorf("bench score: lot %s: %w", warm, err)
		}
		m.warmedUp = true
	}
	return lots, sz, nil
}

// run reopens the ledger and scores each lot cold, then warm, then reads
// its entries for the baseline.
func (m *scoreMeasure) run(ctx context.Context, lots []string) (scoreBenchRun, error) {
	var run scoreBenchRun
	benchResetPeakRSS()
	run.StartRSSMB = benchMB(ledger.PeakRSS())
	l, err := ledger.Open(m.dir, ledger.Options{ReadOnly: true, Logger: m.logger})
	if err != nil {
		return run, err
	}
	defer l.Close()
	rd := provenance.New(l, m.bundled)
	cold := make([]time.Duration, 0, len(lots))
	warm := make([]time.Duration, 0, len(lots))
	read := make([]time.Duration, 0, len(lots))
	for _, lot := range lots {
		start := time.Now()
		cs, err := rd.LotScore(ctx, lot)
		cold = append(cold, time.Since(start))
		if err != nil {
			return run, fmt.Errorf("lot %s: %w", lot, err)
		}
		start = time.Now()
		again, err := rd.LotScore(ctx, lot)
		warm = append(warm, time.Since(start))
		if err != nil {
			return run, fmt.Errorf("lot %s again: %w", lot, err)
		}
		if len(cs.Hops) != m.hops {
			return run, fmt.Errorf("lot %s: the chain scored with %d hops, want %d", lot, len(cs.Hops), m.hops)
		}
		if again.Score != cs.Score || len(again.Hops) != len(cs.Hops) || again.Final != cs.Final {
			return run, fmt.Errorf("lot %s: a second score differs from the first (%v, %v)", lot, cs.Score, again.Score)
		}
		d, err := scoreBenchRead(l, cs)
		if err != nil {
			return run, fmt.Errorf("lot %s: %w", lot, err)
		}
		read = append(read, d)
	}
	run.Hops = m.hops
	run.Cold = scoreBenchLatency(cold)
	run.Warm = scoreBenchLatency(warm)
	run.Read = scoreBenchLatency(read)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	run.HeapInuseMB = benchMB(int64(ms.HeapInuse))
	run.HeapLiveMB = benchMB(int64(ms.HeapAlloc))
	run.PeakRSSMB = benchMB(ledger.PeakRSS())
	if pm := l.Metrics(); pm != nil {
		run.BlockCacheMB = benchMB(pm.BlockCache.Size)
		run.Tables = pm.Total().TablesCount
	}
	runtime.KeepAlive(rd)
	return run, nil
}

// scoreBenchRead is the baseline: the time to read and decode the entries
// a chain score names (its hops and their attestations) by sequence
// number.
func scoreBenchRead(l *ledger.Log, cs score.ChainScore) (time.Duration, error) {
	var seqs []uint64
	for _, h := range cs.Hops {
		seqs = append(seqs, h.Entry.Seq)
		for _, in := range h.Inputs {
			if in.Role == "attestation" {
				seqs = append(seqs, in.Entry.Seq)
			}
		}
	}
	start := time.Now()
	for _, seq := range seqs {
		b, err := l.RecordBytes(seq)
		if err != nil {
			return 0, err
		}
		if _, err := scoreBenchDecode(b); err != nil {
			return 0, fmt.Errorf("entry %d: %w", seq, err)
		}
	}
	return time.Since(start), nil
}

// scoreBenchDecode decodes the statement a stored record holds.
func scoreBenchDecode(b []byte) (schemas.Event, error) {
	rec, err := ledger.DecodeRecord(b)
	if err != nil {
		return nil, err
	}
	var env schemas.Envelope
	if err := json.Unmarshal(rec.Envelope, &env); err != nil {
		return nil, err
	}
	ev, problems := schemas.DecodeEvent(&env)
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", problems[0].String())
	}
	return ev, nil
}

func scoreBenchLatency(d []time.Duration) scoreLatency {
	return scoreLatency{P50MS: benchQuantileUS(d, 0.50) / 1000, P99MS: benchQuantileUS(d, 0.99) / 1000}
}

// scoreBenchDirMB is the size of the files under dir.
func scoreBenchDirMB(dir string) (float64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	return benchMB(n), err
}

// scoreBenchCheck replays admission over the ledger in dir.
func scoreBenchCheck(ctx context.Context, dir string, logger *slog.Logger) error {
	l, err := ledger.Open(dir, ledger.Options{ReadOnly: true, Logger: logger})
	if err != nil {
		return err
	}
	defer l.Close()
	vs, err := verifier.ReplayAdmission(ctx, l)
	if err != nil {
		return fmt.Errorf("bench score: replaying admission: %w", err)
	}
	if len(vs) > 0 {
		v := vs[0]
		return fmt.Errorf("bench score: admission rejects %d entries of the built ledger, the first at %d (%s): %v %v", len(vs), v.Seq, v.Kind, v.Problems, v.EnvelopeProblems)
	}
	return nil
}

// ---- Building the ledger. ----

// scoreBuild appends the generator's entries to the ledger in dir, in
// runs that each stop at a size; the ledger is closed between runs.
type scoreBuild struct {
	g      *scoreGen
	dir    string
	batch  int
	logger *slog.Logger

	registered bool
	group      int    // the next group of chains to append
	size       uint64 // entries appended
	benchmarks int    // benchmark.published entries appended
	spent      time.Duration
}

// scoreJob is the chains [from, to) of a group, built by one worker.
type scoreJob struct {
	group, from, to int
	last            bool // the group's last job
	out             [][]scoreEntry
	err             error
	done            chan struct{}
}

// run appends whole groups of chains until the ledger holds at least stop
// entries. Chains are signed on every core while the previous group is
// appended; the workers stop when run returns, so nothing else runs while
// the ledger is measured.
func (b *scoreBuild) run(ctx context.Context, stop int) error {
	start := time.Now()
	defer func() { b.spent += time.Since(start) }()
	l, err := ledger.Open(b.dir, ledger.Options{Logger: b.logger})
	if err != nil {
		return fmt.Errorf("bench score: %w", err)
	}
	defer l.Close()
	b.size = l.Head().Size
	a := &scoreAppender{l: l, ctx: ctx, batch: b.batch, next: b.size}
	if !b.registered {
		regs, err := b.g.registrations()
		if err != nil {
			return err
		}
		for _, e := range regs {
			if err := a.add(e); err != nil {
				return err
			}
		}
		b.registered = true
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	jobs := make(chan *scoreJob)
	order := make(chan *scoreJob, 4*runtime.GOMAXPROCS(0))
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				for c := j.from; c < j.to && j.err == nil; c++ {
					var ch []scoreEntry
					ch, j.err = b.g.chain(c)
					j.out = append(j.out, ch)
				}
				close(j.done)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(jobs)
		for g := b.group; ; g++ {
			first, end := g*b.g.groupSize, (g+1)*b.g.groupSize
			for from := first; from < end; from += scoreBenchJobChains {
				j := &scoreJob{group: g, from: from, to: min(from+scoreBenchJobChains, end), done: make(chan struct{})}
				j.last = j.to == end
				select {
				case order <- j:
				case <-ctx.Done():
					return
				}
				select {
				case jobs <- j:
				case <-ctx.Done():
					return
				}
			}
		}
	}()

	// The appender writes one group while the next is collected.
	groups := make(chan []ledger.Entry, 1)
	appended := make(chan error, 1)
	go func() {
		var err error
		for es := range groups {
			for _, e := range es {
				if err == nil {
					err = a.add(e)
				}
			}
			if err == nil {
				err = a.flush()
			}
			if err != nil {
				cancel()
			}
		}
		appended <- err
	}()
	sent := a.next + uint64(len(a.pending))
	err = func() error {
		defer close(groups)
		var chains [][]scoreEntry
		for j := range order {
			select {
			case <-j.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if j.err != nil {
				return j.err
			}
			chains = append(chains, j.out...)
			if !j.last {
				continue
			}
			es := b.g.interleave(j.group, chains)
			chains = chains[:0]
			b.group = j.group + 1
			// A few benchmarks, spread over the log.
			if k := b.benchmarks; k < len(b.g.benchmarks) && sent >= uint64(k*b.g.entries/len(b.g.benchmarks)) {
				es = append(es, b.g.benchmarks[k])
				b.benchmarks++
			}
			select {
			case groups <- es:
			case <-ctx.Done():
				return ctx.Err()
			}
			if sent += uint64(len(es)); sent >= uint64(stop) {
				return nil
			}
		}
		return nil
	}()
	if aerr := <-appended; aerr != nil {
		return aerr
	}
	b.size = a.next
	return err
}

// scoreAppender batches entries into ledger.Append calls, stamping each
// with a received_at that grows with its sequence number.
type scoreAppender struct {
	l       *ledger.Log
	ctx     context.Context
	batch   int
	next    uint64 // sequence number of the next entry appended
	pending []ledger.Entry
}

func (a *scoreAppender) add(e ledger.Entry) error {
	e.ReceivedAt = scoreBenchReceivedAt(a.next + uint64(len(a.pending)))
	a.pending = append(a.pending, e)
	if len(a.pending) >= a.batch {
		return a.flush()
	}
	return nil
}

func (a *scoreAppender) flush() error {
	if len(a.pending) == 0 {
		return nil
	}
	res, _, err := a.l.Append(a.ctx, a.pending)
	if err != nil {
		return fmt.Errorf("bench score: append at %d: %w", a.next, err)
	}
	for i, r := range res {
		if r.Duplicate || r.Seq != a.next+uint64(i) {
			return fmt.Errorf("bench score: entry %d appended as %d (duplicate %v)", a.next+uint64(i), r.Seq, r.Duplicate)
		}
	}
	a.next += uint64(len(a.pending))
	a.pending = a.pending[:0]
	return nil
}

// scoreBenchReceivedAt is the received_at of entry seq: 10 ms apart from
// 2024-06-01, after every hop's occurred_at.
func scoreBenchReceivedAt(seq uint64) time.Time {
	return time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(seq) * 10 * time.Millisecond)
}

// ---- The chains. ----

// scoreEntry is an entry of a chain, with the step it belongs to: step k
// is hop k and the attestations about it.
type scoreEntry struct {
	step  int
	entry ledger.Entry
}

// scoreStage is one hop of the chain template: who sells what to whom, at
// which price, with which costs and labour. Amounts vary by ±15% from
// chain to chain (quantities do not, so that every input matches the lot
// it consumes).
type scoreStage struct {
	// The seller's pool: Pool parties of this role, organisation form and
	// place, named Name with a number.
	Role, OrgForm, Country, Region, Name string
	Pool                                 int

	Place  string // where the hop took place
	Offset int    // its UTC offset in hours
	Day    int    // days after the chain's start

	Lot, Product, Qty, Unit string
	// Consumes is the quantity of the previous lot the hop consumes;
	// empty: all of it.
	Consumes string
	Price    schemas.Money
	Costs    []schemas.Cost
	Labour   []schemas.Labour

	// Attestations about the hop: the buyer confirms its price, a union
	// (or collective) confirms wages, an auditor audits, a collective
	// disputes the first category's hours (×1.25) — each with its
	// probability.
	PriceConfirmed float64
	WageBy         string
	WageConfirmed  float64
	Audited        float64
	DisputeBy      string
	Disputed       float64
}

func usd(a string) schemas.Money { return schemas.Money{Amount: schemas.Decimal(a), Currency: "USD"} }

func scoreCost(cat, amount, cur, note string) schemas.Cost {
	return schemas.Cost{Category: cat, Amount: schemas.Money{Amount: schemas.Decimal(amount), Currency: cur}, Note: note}
}

func scoreLabour(cat string, workers int, hours, cur, basic, bonus, inKind string, self bool) schemas.Labour {
	return schemas.Labour{Category: cat, Workers: workers, Hours: schemas.Decimal(hours), SelfEmployed: self,
		Pay: schemas.Pay{Currency: cur, Basic: schemas.Decimal(basic), Bonus: schemas.Decimal(bonus), InKind: schemas.Decimal(inKind)}}
}

// scoreTemplate is a 12-hop cobalt chain: the demo chain (internal/demo)
// with the ore trade, the hydroxide plant, precursor, cathode and battery
// pack makers that the demo folds into fewer hops. Figures for a lot of
// 1,000 kg of ore, about 10% cobalt, ending in one smartphone; prices and
// pay are of the demo chain's order where it has the hop, illustrative
// where it does not.
var scoreTemplate = []scoreStage{
	{
		Role: "miner", OrgForm: "worker_cooperative", Country: "CD", Region: "CD-LU", Name: "Kolwezi artisanal miners' cooperative", Pool: 48,
		Place: "Kolwezi", Offset: 2, Day: 0,
		Lot: "ore-coop", Product: "heterogenite (cobalt) ore, hand-sorted, about 10% cobalt", Qty: "1000", Unit: "KGM",
		Price: usd("300.00"),
		Costs: []schemas.Cost{scoreCost("equipment", "30.00", "USD", "shovels, sacks and headlamp batteries"), scoreCost("transport", "30.00", "USD", "motorbike haul to the depot")},
		Labour: []schemas.Labour{
			scoreLabour("digger", 6, "480", "USD", "150.00", "0", "0", true),
			scoreLabour("sorter-washer", 2, "160", "USD", "50.00", "0", "0", true),
		},
		PriceConfirmed: 0.8, WageBy: "union-cd", WageConfirmed: 0.5, Audited: 0.2,
	},
	{
		Role: "trader", OrgForm: "corporation", Country: "CD", Region: "CD-LU", Name: "Musompo ore négociant", Pool: 32,
		Place: "Musompo, Kolwezi", Offset: 2, Day: 7,
		Lot: "ore-negociant", Product: "heterogenite (cobalt) ore, weighed, assayed and bagged", Qty: "1000", Unit: "KGM",
		Price: usd("450.00"),
		Costs: []schemas.Cost{scoreCost("transport", "40.00", "USD", "truck to the buying centre"), scoreCost("rent", "10.00", "USD", "share of the depot")},
		Labour: []schemas.Labour{
			scoreLabour("loader", 2, "16", "CDF", "16000", "0", "10000", false),
			scoreLabour("weigher-grader", 1, "8", "CDF", "20000", "5000", "0", false),
		},
		PriceConfirmed: 0.5, WageBy: "union-cd", WageConfirmed: 0.2,
	},
	{
		Role: "trader", OrgForm: "corporation", Country: "CD", Region: "CD-HK", Name: "Lubumbashi ore exporter", Pool: 16,
		Place: "Lubumbashi", Offset: 2, Day: 14,
		Lot: "ore-export", Product: "heterogenite (cobalt) ore, consolidated lot for processing", Qty: "1000", Unit: "KGM",
		Price: usd("520.00"),
		Costs: []schemas.Cost{scoreCost("transport", "35.00", "USD", "truck to the hydroxide plant"), scoreCost("services", "10.00", "USD", "assay laboratory")},
		Labour: []schemas.Labour{
			scoreLabour("driver", 1, "10", "CDF", "18000", "0", "3000", false),
			scoreLabour("clerk", 1, "6", "CDF", "15000", "0", "0", false),
		},
		PriceConfirmed: 0.3,
	},
	{
		Role: "processor", OrgForm: "corporation", Country: "CD", Region: "CD-LU", Name: "Lualaba cobalt hydroxide plant", Pool: 12,
		Place: "Kolwezi", Offset: 2, Day: 30,
		Lot: "hydroxide", Product: "cobalt hydroxide; quantity is the contained cobalt", Qty: "95", Unit: "KGM",
		Price: usd("1600.00"),
		Costs: []schemas.Cost{
			scoreCost("energy", "120.00", "USD", ""), scoreCost("materials", "150.00", "USD", "lime and magnesia"),
			scoreCost("transport", "400.00", "USD", "road to Dar es Salaam and sea freight to Ningbo"),
		},
		Labour: []schemas.Labour{
			scoreLabour("plant-operator", 3, "24", "CDF", "90000", "10000", "15000", false),
			scoreLabour("lab-technician", 1, "4", "CDF", "20000", "0", "0", false),
		},
		PriceConfirmed: 0.3, WageBy: "union-cd", WageConfirmed: 0.2,
	},
	{
		Role: "refiner", OrgForm: "corporation", Country: "CN", Region: "CN-ZJ", Name: "Zhejiang cobalt refinery", Pool: 12,
		Place: "Quzhou", Offset: 8, Day: 75,
		Lot: "sulfate", Product: "battery-grade cobalt sulfate; quantity is the contained cobalt", Qty: "90", Unit: "KGM",
		Price: usd("2700.00"),
		Costs: []schemas.Cost{scoreCost("materials", "500.00", "USD", "sulfuric acid, lime and reductant"), scoreCost("energy", "300.00", "USD", "")},
		Labour: []schemas.Labour{
			scoreLabour("process-operator", 4, "32", "CNY", "1120", "160", "120", false),
			scoreLabour("lab-technician", 1, "4", "CNY", "180", "20", "0", false),
		},
		PriceConfirmed: 0.3,
	},
	{
		Role: "processor", OrgForm: "corporation", Country: "CN", Region: "CN-HN", Name: "Hunan cobalt precursor works", Pool: 12,
		Place: "Changsha", Offset: 8, Day: 90,
		Lot: "precursor", Product: "cobalt oxide (Co3O4) precursor; quantity is the contained cobalt", Qty: "89", Unit: "KGM",
		Price: usd("3600.00"),
		Costs: []schemas.Cost{scoreCost("energy", "250.00", "USD", "calcining kilns"), scoreCost("materials", "200.00", "USD", "")},
		Labour: []schemas.Labour{
			scoreLabour("kiln-operator", 3, "24", "CNY", "900", "100", "90", false),
		},
		PriceConfirmed: 0.3,
	},
	{
		Role: "manufacturer", OrgForm: "corporation", Country: "KR", Region: "KR-47", Name: "Gyeongbuk cathode materials", Pool: 8,
		Place: "Pohang", Offset: 9, Day: 110,
		Lot: "cathode", Product: "lithium cobalt oxide cathode powder; quantity is the contained cobalt", Qty: "88", Unit: "KGM",
		Price: usd("6000.00"),
		Costs: []schemas.Cost{scoreCost("materials", "1800.00", "USD", "lithium carbonate"), scoreCost("energy", "300.00", "USD", "")},
		Labour: []schemas.Labour{
			scoreLabour("furnace-operator", 3, "24", "KRW", "480000", "120000", "30000", false),
			scoreLabour("quality-engineer", 1, "6", "KRW", "180000", "40000", "0", false),
		},
		PriceConfirmed: 0.3,
	},
	{
		Role: "manufacturer", OrgForm: "corporation", Country: "KR", Region: "KR-44", Name: "Chungnam battery cells", Pool: 8,
		Place: "Cheonan", Offset: 9, Day: 130,
		Lot: "cells", Product: "lithium-ion phone cells (lithium cobalt oxide cathode), 3 g of cobalt each", Qty: "30000", Unit: "H87",
		Price: usd("90000.00"),
		Costs: []schemas.Cost{
			scoreCost("materials", "52000.00", "USD", "graphite, electrolyte, separator, foils and pouches"),
			scoreCost("energy", "4300.00", "USD", ""), scoreCost("maintenance", "5000.00", "USD", "coating and formation lines"),
		},
		Labour: []schemas.Labour{
			scoreLabour("line-operator", 20, "400", "KRW", "6400000", "1600000", "400000", false),
			scoreLabour("process-engineer", 4, "80", "KRW", "2400000", "600000", "100000", false),
		},
		PriceConfirmed: 0.3,
	},
	{
		Role: "manufacturer", OrgForm: "corporation", Country: "VN", Region: "VN-SG", Name: "Saigon battery pack assembly", Pool: 8,
		Place: "Ho Chi Minh City", Offset: 7, Day: 145,
		Lot: "packs", Product: "phone battery packs with protection circuit", Qty: "30000", Unit: "H87",
		Price: usd("126000.00"),
		Costs: []schemas.Cost{scoreCost("materials", "24000.00", "USD", "protection circuits, flex cables and casings"), scoreCost("energy", "800.00", "USD", "")},
		Labour: []schemas.Labour{
			scoreLabour("assembly-worker", 40, "800", "VND", "34400000", "3000000", "2000000", false),
			scoreLabour("tester", 6, "120", "VND", "6000000", "500000", "300000", false),
		},
		PriceConfirmed: 0.3,
	},
	{
		Role: "assembler", OrgForm: "corporation", Country: "CN", Region: "CN-GD", Name: "Shenzhen handset assembly", Pool: 8,
		Place: "Shenzhen", Offset: 8, Day: 160,
		Lot: "phones-assembly", Product: "smartphones, boxed", Qty: "30000", Unit: "H87",
		Price: usd("10300000.00"),
		Costs: []schemas.Cost{
			scoreCost("materials", "9700000.00", "USD", "display, processor, memory, cameras, casing and other parts bought off the ledger"),
			scoreCost("energy", "60000.00", "USD", ""), scoreCost("rent", "30000.00", "USD", "factory and dormitory buildings"),
		},
		Labour: []schemas.Labour{
			scoreLabour("line-worker", 600, "60000", "CNY", "1080000", "180000", "200000", false),
			scoreLabour("quality-inspector", 80, "8000", "CNY", "176000", "24000", "40000", false),
		},
		PriceConfirmed: 0.3, DisputeBy: "collective-cn", Disputed: 0.1,
	},
	{
		Role: "brand", OrgForm: "corporation", Country: "US", Region: "US-CA", Name: "Californian phone brand", Pool: 8,
		Place: "San Jose", Offset: -7, Day: 190,
		Lot: "phones-brand", Product: "smartphones, boxed, for the UK market", Qty: "1000", Unit: "H87", Consumes: "1000",
		Price: usd("530000.00"),
		Costs: []schemas.Cost{scoreCost("transport", "6000.00", "USD", "air freight to the UK"), scoreCost("services", "14000.00", "USD", "advertising and licences bought in")},
		Labour: []schemas.Labour{
			scoreLabour("design-engineering", 12, "150", "USD", "10500.00", "4500.00", "0", false),
			scoreLabour("marketing-sales", 8, "100", "USD", "4000.00", "1000.00", "0", false),
		},
		PriceConfirmed: 0.3,
	},
	{
		Role: "retailer", OrgForm: "corporation", Country: "GB", Region: "GB-BST", Name: "Bristol electronics retailer", Pool: 48,
		Place: "Bristol", Offset: 1, Day: 230,
		Lot: "phone", Product: "smartphone; price excludes 20% VAT", Qty: "1", Unit: "H87", Consumes: "1",
		Price: schemas.Money{Amount: "500.00", Currency: "GBP"},
		Costs: []schemas.Cost{
			scoreCost("rent", "12.00", "GBP", "share of shop and stockroom"), scoreCost("energy", "1.00", "GBP", ""),
			scoreCost("services", "8.00", "GBP", "card payment and web shop fees"),
		},
		Labour: []schemas.Labour{
			scoreLabour("sales-assistant", 1, "0.5", "GBP", "5.25", "0.50", "0", false),
			scoreLabour("stock-handler", 1, "0.25", "GBP", "2.75", "0", "0", false),
		},
		WageBy: "union-gb", WageConfirmed: 0.3,
	},
}

// scoreAttesters are the parties that attest and publish, by pool.
var scoreAttesters = []struct {
	pool, role, orgForm, country, region, name string
	n                                          int
}{
	{"union-cd", "union", "ngo", "CD", "CD-LU", "Lualaba mine workers' union", 4},
	{"auditor", "auditor", "corporation", "CD", "CD-LU", "Lualaba supply-chain audits", 4},
	{"collective-cn", "workers_collective", "informal", "CN", "CN-GD", "Shenzhen electronics workers' collective", 4},
	{"union-gb", "union", "ngo", "GB", "", "Shopworkers' union", 2},
	{"researcher", "researcher", "ngo", "GB", "", "Living wage research desk", 1},
}

// scoreBenchmarks are the figures the researcher publishes on the ledger:
// rows of the bundled reference data (reference/data/wages.csv) or of the
// demo chain, with their sources, for the subdivisions the chains use.
var scoreBenchmarks = []schemas.BenchmarkPublished{
	{
		Measure: schemas.MeasureLivingWage, Country: "CD", Region: "CD-LU", Year: 2024, Value: "501", Currency: "USD", Period: "month",
		Source: schemas.Source{
			Citation: "RAID and CAJJ, Kolwezi living wage 2024 update (Minimum Expenditure Basket method), published 10 Jun 2024",
			URL:      "https://www.business-humanrights.org/en/latest-news/dr-congo-mine-workers-labouring-for-the-energy-transition-are-trapped-in-exploitative-low-wage-system",
		},
	},
	{
		Measure: schemas.MeasureLivingWage, Country: "VN", Region: "VN-SG", Year: 2022, Value: "8545680", Currency: "VND", Period: "month",
		Source: schemas.Source{
			Citation: "Anker Research Institute living wage benchmark for Region 1 (Ho Chi Minh City and Hanoi), value as of Nov 2022",
			URL:      "https://www.ankerresearchinstitute.org/vietnam-benchmarks/tag/Ho+Chi+Minh+City",
		},
	},
	{
		Measure: schemas.MeasureLivingWage, Country: "GB", Region: "GB-BST", Year: 2023, Value: "12.00", Currency: "GBP", Period: "hour",
		Source: schemas.Source{
			Citation: "Living Wage Foundation, Real Living Wage 2023-24 for the United Kingdom outside London (Resolution Foundation calculation)",
			URL:      "https://www.resolutionfoundation.org/publications/calculating-the-real-living-wage-for-london-and-the-rest-of-the-uk-2023/",
		},
	},
}

// scoreParty is a party of the benchmark ledger.
type scoreParty struct {
	reg *schemas.PartyRegistered
	key ed25519.PrivateKey
}

// scoreGen generates the ledger: deterministic for a seed, chain by chain,
// so chains can be signed in parallel and in any order.
type scoreGen struct {
	seed    uint64
	entries int   // the ledger size aimed at, for spreading the benchmarks
	stages  []int // template stage of each hop of a chain
	pools   map[string][]*scoreParty
	parties []*scoreParty // in registration order
	// groupSize is how many chains are interleaved on the log: step k of
	// every chain of a group comes before step k+1 of any, so a chain's
	// hops lie about a group's width of entries apart, as a real log's
	// chains interleave, rather than in one run of neighbouring blocks.
	groupSize  int
	benchmarks []ledger.Entry
}

// scoreStagesFor returns the template stages of a chain of hops: the last
// hops of the template, or, for more than the template holds, the ore
// négociant's stage repeated (ore resold between traders).
func scoreStagesFor(hops int) []int {
	n := len(scoreTemplate)
	if hops <= n {
		s := make([]int, hops)
		for i := range s {
			s[i] = n - hops + i
		}
		return s
	}
	s := []int{0}
	for range hops - n + 1 {
		s = append(s, 1)
	}
	for i := 2; i < n; i++ {
		s = append(s, i)
	}
	return s
}

func scoreKey(id string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("tally bench score/" + id))
	return ed25519.NewKeyFromSeed(seed[:])
}

func newScoreGen(hops, entries int, seed uint64) (*scoreGen, error) {
	g := &scoreGen{seed: seed, entries: entries, stages: scoreStagesFor(hops), pools: map[string][]*scoreParty{}}
	add := func(pool string, i int, role, orgForm, country, region, name string) {
		id := fmt.Sprintf("%s-%02d", pool, i+1)
		p := &scoreParty{key: scoreKey(id), reg: &schemas.PartyRegistered{
			ID: id, Name: fmt.Sprintf("%s no. %d (bench)", name, i+1), Role: role,
			Country: country, Region: region, OrgForm: orgForm,
		}}
		p.reg.Keys = []string{schemas.EncodePublicKey(p.key.Public().(ed25519.PublicKey))}
		g.pools[pool] = append(g.pools[pool], p)
		g.parties = append(g.parties, p)
	}
	for i, st := range scoreTemplate {
		if !slices.Contains(g.stages, i) {
			continue
		}
		for n := range st.Pool {
			add(fmt.Sprintf("s%02d-%s", i, st.Role), n, st.Role, st.OrgForm, st.Country, st.Region, st.Name)
		}
	}
	for _, a := range scoreAttesters {
		for n := range a.n {
			add(a.pool, n, a.role, a.orgForm, a.country, a.region, a.name)
		}
	}
	researcher := g.pools["researcher"][0]
	for i := range scoreBenchmarks {
		b := scoreBenchmarks[i]
		b.Publisher = researcher.reg.ID
		e, _, err := scoreSign(schemas.KindBenchmarkPublished, &b, researcher.key, true)
		if err != nil {
			return nil, err
		}
		g.benchmarks = append(g.benchmarks, e)
	}
	// About hops + 3 entries a chain; interleave enough chains that a
	// chain's hops are far apart, but at least 16 groups on the log.
	chains := max(1, (entries-len(g.parties))/(hops+3))
	g.groupSize = min(scoreBenchMaxGroup, max(1, chains/16))
	return g, nil
}

// pool is the seller pool of template stage i.
func (g *scoreGen) pool(i int) []*scoreParty {
	return g.pools[fmt.Sprintf("s%02d-%s", i, scoreTemplate[i].Role)]
}

// registrations returns every party's self-signed registration.
func (g *scoreGen) registrations() ([]ledger.Entry, error) {
	out := make([]ledger.Entry, len(g.parties))
	for i, p := range g.parties {
		e, _, err := scoreSign(schemas.KindPartyRegistered, p.reg, p.key, true)
		if err != nil {
			return nil, fmt.Errorf("bench score: party %s: %w", p.reg.ID, err)
		}
		out[i] = e
	}
	return out, nil
}

// scoreSign signs an event by key and returns its ledger entry (without
// received_at) and its digest in hex.
//
// The index keys are verifier.EventIndex of the event signed, as the
// ingest path writes them once it has decoded an envelope; decoding the
// envelope again (verifier.EnvelopeIndex) gives the same keys and costs a
// quarter of the build's time. With check, the event is validated against
// the vocabulary's rules and its keys compared with EnvelopeIndex's, so a
// template mistake fails the build at once, naming the field.
func scoreSign(kind string, ev schemas.Event, key ed25519.PrivateKey, check bool) (ledger.Entry, string, error) {
	if check {
		if problems := schemas.Validate(ev); len(problems) > 0 {
			return ledger.Entry{}, "", fmt.Errorf("bench score: %s: %s", kind, problems[0].Message)
		}
	}
	env, err := schemas.Sign(kind, ev, key)
	if err != nil {
		return ledger.Entry{}, "", err
	}
	b, err := env.Canonical()
	if err != nil {
		return ledger.Entry{}, "", err
	}
	d, err := env.Digest()
	if err != nil {
		return ledger.Entry{}, "", err
	}
	ix := verifier.EventIndex(ev)
	if check {
		want, err := verifier.EnvelopeIndex(&env)
		if err != nil {
			return ledger.Entry{}, "", err
		}
		if !slices.EqualFunc(ix, want, func(a, b ledger.IndexKey) bool { return a.Name == b.Name && string(a.Key) == string(b.Key) }) {
			return ledger.Entry{}, "", fmt.Errorf("bench score: %s: index keys %v, EnvelopeIndex gives %v", kind, ix, want)
		}
	}
	return ledger.Entry{Digest: d, Envelope: b, Index: ix}, hex.EncodeToString(d[:]), nil
}

// vary returns amount × (0.85…1.15), to places decimal places; "0" stays.
func vary(rng *rand.Rand, amount schemas.Decimal, places int32) schemas.Decimal {
	v, err := amount.Value()
	if err != nil || v.IsZero() {
		return amount
	}
	f := decimal.New(int64(85+rng.IntN(31)), -2)
	v = v.Mul(f).Round(places)
	if v.IsZero() {
		v = decimal.New(1, -places)
	}
	return schemas.Decimal(v.StringFixed(places))
}

// moneyPlaces is how many decimal places amounts in a currency carry.
func moneyPlaces(cur string) int32 {
	switch cur {
	case "CDF", "KRW", "VND", "JPY":
		return 0
	}
	return 2
}

func varyMoney(rng *rand.Rand, m schemas.Money) schemas.Money {
	return schemas.Money{Amount: vary(rng, m.Amount, moneyPlaces(m.Currency)), Currency: m.Currency}
}

// chain builds chain c: its hops from the first seller to the end
// consumer, each signed by its seller, and the attestations about them.
func (g *scoreGen) chain(c int) ([]scoreEntry, error) {
	rng := rand.New(rand.NewPCG(g.seed, uint64(c)))
	tag := fmt.Sprintf("%07d", c)
	start := time.Date(2023, 1, 2, 8, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(150*24)) * time.Hour)

	sellers := make([]*scoreParty, len(g.stages))
	for k, st := range g.stages {
		pool := g.pool(st)
		i := rng.IntN(len(pool))
		if k > 0 && g.stages[k-1] == st && pool[i] == sellers[k-1] {
			i = (i + 1) % len(pool) // a resale goes to another trader
		}
		sellers[k] = pool[i]
	}
	pick := func(pool string) *scoreParty {
		ps := g.pools[pool]
		return ps[rng.IntN(len(ps))]
	}

	var out []scoreEntry
	var prev *schemas.HopRecorded
	for k, si := range g.stages {
		st := &scoreTemplate[si]
		buyer := schemas.EndConsumer
		if k+1 < len(g.stages) {
			buyer = sellers[k+1].reg.ID
		}
		at := start.Add(time.Duration(st.Day)*24*time.Hour + time.Duration(k)*time.Hour)
		zone := time.FixedZone("", st.Offset*3600)
		h := &schemas.HopRecorded{
			ID: "hop-" + tag + fmt.Sprintf("-%02d", k), Seller: sellers[k].reg.ID, Buyer: buyer, HopKind: schemas.HopSale,
			Output: schemas.Output{
				Lot:      fmt.Sprintf("%s-%s-%02d", st.Lot, tag, k),
				Quantity: schemas.Quantity{Amount: schemas.Decimal(st.Qty), Unit: st.Unit},
				Product:  st.Product,
			},
			Price:      varyMoney(rng, st.Price),
			OccurredAt: schemas.Timestamp(at.In(zone).Format("2006-01-02T15:04:05-07:00")),
			Location:   schemas.Location{Country: st.Country, Region: st.Region, Place: st.Place},
		}
		if prev != nil {
			q := prev.Output.Quantity
			if st.Consumes != "" {
				q.Amount = schemas.Decimal(st.Consumes)
			}
			h.Inputs = []schemas.Input{{Lot: prev.Output.Lot, Quantity: q}}
		}
		for _, cost := range st.Costs {
			cost.Amount = varyMoney(rng, cost.Amount)
			h.Costs = append(h.Costs, cost)
		}
		for _, lab := range st.Labour {
			lab.Hours = vary(rng, lab.Hours, 2)
			p := moneyPlaces(lab.Pay.Currency)
			lab.Pay.Basic, lab.Pay.Bonus, lab.Pay.InKind = vary(rng, lab.Pay.Basic, p), vary(rng, lab.Pay.Bonus, p), vary(rng, lab.Pay.InKind, p)
			h.Labour = append(h.Labour, lab)
		}
		// The first chain is checked (see scoreSign).
		e, digest, err := scoreSign(schemas.KindHopRecorded, h, sellers[k].key, c == 0)
		if err != nil {
			return nil, fmt.Errorf("bench score: chain %d, hop %d: %w", c, k, err)
		}
		out = append(out, scoreEntry{step: k, entry: e})

		subject := schemas.Subject{Hop: h.ID, Digest: digest}
		var atts []struct {
			by *scoreParty
			ev *schemas.AttestationRecorded
		}
		attest := func(by *scoreParty, ev *schemas.AttestationRecorded) {
			ev.Attester, ev.Subject = by.reg.ID, subject
			atts = append(atts, struct {
				by *scoreParty
				ev *schemas.AttestationRecorded
			}{by, ev})
		}
		if buyer != schemas.EndConsumer && rng.Float64() < st.PriceConfirmed {
			attest(sellers[k+1], &schemas.AttestationRecorded{Claim: schemas.ClaimPriceConfirmed})
		}
		if st.WageBy != "" && rng.Float64() < st.WageConfirmed {
			attest(pick(st.WageBy), &schemas.AttestationRecorded{Claim: schemas.ClaimWageConfirmed, Note: "Checked against the pay book with the workers."})
		}
		if rng.Float64() < st.Audited {
			attest(pick("auditor"), &schemas.AttestationRecorded{
				Claim: schemas.ClaimAudited, Scope: []string{"labour", "price", "quantities"},
				Standard: "Site audit: weighbridge slips, sales receipt and pay book (bench)",
			})
		}
		if st.DisputeBy != "" && rng.Float64() < st.Disputed && len(h.Labour) > 0 {
			l0 := h.Labour[0]
			hrs, _ := l0.Hours.Value()
			attest(pick(st.DisputeBy), &schemas.AttestationRecorded{
				Claim:   schemas.ClaimDisputed,
				Figures: &schemas.Figures{Labour: []schemas.LabourFigures{{Category: l0.Category, Hours: schemas.Decimal(hrs.Mul(decimal.New(125, -2)).Round(2).StringFixed(2))}}},
				Note:    "Workers report 12.5-hour shifts where 10 were declared; the extra hours were not paid.",
			})
		}
		for _, a := range atts {
			e, _, err := scoreSign(schemas.KindAttestationRecorded, a.ev, a.by.key, c == 0)
			if err != nil {
				return nil, fmt.Errorf("bench score: chain %d, attestation on hop %d: %w", c, k, err)
			}
			out = append(out, scoreEntry{step: k, entry: e})
		}
		prev = h
	}
	return out, nil
}

// interleave lays the chains of a group out on the log: every chain's
// step 0 in a shuffled order, then every chain's step 1, and so on. A hop
// follows the hop whose lot it consumes, and an attestation its hop.
func (g *scoreGen) interleave(group int, chains [][]scoreEntry) []ledger.Entry {
	rng := rand.New(rand.NewPCG(g.seed^0x1eaf, uint64(group)))
	var out []ledger.Entry
	next := make([]int, len(chains))
	order := make([]int, len(chains))
	for i := range order {
		order[i] = i
	}
	for step := range g.stages {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, c := range order {
			ch := chains[c]
			for next[c] < len(ch) && ch[next[c]].step == step {
				out = append(out, ch[next[c]].entry)
				next[c]++
			}
		}
	}
	return out
}
