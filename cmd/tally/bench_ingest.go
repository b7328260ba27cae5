package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/schemas"
)

// Defaults of `tally bench ingest`.
const (
	benchIngestDefaultEvents     = 100_000
	benchIngestDefaultPublishers = 16
	benchIngestDefaultSellers    = 16
	benchIngestDefaultTimeout    = 10 * time.Minute
)

// benchIngestResult is the line `tally bench ingest` prints.
type benchIngestResult struct {
	Mode   string `json:"mode"` // "embedded" (one process) or "external" (client of tally serve)
	Events int    `json:"events"`
	// Receipts counts the hops answered with a receipt, Duplicates those
	// of them marked duplicate (none, unless something was delivered
	// twice), Rejected those answered with a rejection, Missing those
	// never answered.
	Receipts   int `json:"receipts"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
	Missing    int `json:"missing"`
	// Seconds runs from the first publication to the last outcome.
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	// OfferedPerSec is --rate (0: as fast as the publishers can).
	OfferedPerSec float64 `json:"offered_per_sec"`
	// Submission to receipt: from the moment a submission was due (paced)
	// or published (unpaced) to the moment its outcome arrived.
	P50ms float64 `json:"p50_ms"`
	P90ms float64 `json:"p90_ms"`
	P99ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// VerifyCeiling is Ed25519 verifications per second on all cores
	// (schemas.VerifyBatch, the processor's code), measured in this run.
	VerifyCeiling float64 `json:"verify_ceiling_events_per_sec"`
	CeilingRatio  float64 `json:"ratio_to_verify_ceiling"`
	// TransportCeiling is the same run's envelopes, publishers and ingest
	// loop on a fresh embedded server whose processor does no work: no
	// decoding, admission or ledger, each submission answered with a bare
	// receipt (its digest). What is left is NATS and JetStream — storing
	// each submission and each receipt, delivering, acknowledging — and
	// the ingest loop around them: the bound the transport puts on ingest
	// in this process on this machine. Embedded runs only (--transport).
	TransportCeiling   float64 `json:"transport_ceiling_events_per_sec,omitempty"`
	TransportCPUMicros float64 `json:"transport_cpu_us_per_event,omitempty"`
	TransportP99ms     float64 `json:"transport_p99_ms,omitempty"`
	TransportRatio     float64 `json:"ratio_to_transport_ceiling,omitempty"`
	// CPUSeconds is the CPU time (user and system, all threads) this
	// process spent in the timed part: with everything in one process,
	// the whole cost of ingest, which other load on the machine does not
	// inflate the way it does wall time. With --nats, the client's only.
	CPUSeconds        float64 `json:"cpu_seconds"`
	CPUMicrosPerEvent float64 `json:"cpu_us_per_event"`
	Publishers        int     `json:"publishers"`
	// Bulk is the envelopes per NATS message (1: each on its own;
	// more: bulk submissions on tally.submit.bulk).
	Bulk           int     `json:"bulk"`
	Inflight       int     `json:"inflight,omitempty"`
	GOMAXPROCS     int     `json:"gomaxprocs"`
	EnvelopeBytes  int     `json:"envelope_bytes"`
	SignSeconds    float64 `json:"sign_seconds"`
	Batches        int     `json:"batches,omitempty"`
	MeanBatch      float64 `json:"mean_batch,omitempty"`
	MeanProcessMs  float64 `json:"mean_process_ms,omitempty"`
	PublishErrors  int     `json:"publish_errors,omitempty"`
	PublishRetries int     `json:"publish_retries,omitempty"`
	CPUProfile     string  `json:"cpu_profile,omitempty"`
	IngestBatchMax int     `json:"ingest_batch_max,omitempty"`
}

func benchIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprintln(stderr, `usage: tally bench ingest [flags]

Registers its parties, then submits N individually signed hop.recorded
envelopes (sales between the registered parties, each its own hop and lot)
over NATS from many concurrent publishers, waits for every receipt and
prints one JSON line: throughput, submission-to-receipt latency, and the
Ed25519 verification ceiling of this machine measured in the same run.

Without --nats everything runs in this process, as tally serve wires it:
an embedded NATS server, a ledger in a temporary directory (fsync before
every acknowledgement) and the ingest loop with the admission rules. With
--nats it is only a client of a running tally serve.

Envelopes are signed before the clock starts. With --rate, submissions are
paced at R per second and latency counts from when each was due, so a
publisher that falls behind adds to it.

flags:`)
		fl.PrintDefaults()
	}
	var (
		nEvents    = fl.Int("events", benchIngestDefaultEvents, "hop envelopes to submit")
		publishers = fl.Int("publishers", benchIngestDefaultPublishers, "concurrent publishers, each with its own NATS connection")
		rate       = fl.Float64("rate", 0, "offered load in events per `second` (0: as fast as possible)")
		inflight   = fl.Int("inflight", 0, "at most this many messages awaiting their answer (0: no limit)")
		sellers    = fl.Int("sellers", benchIngestDefaultSellers, "registered selling parties (each with its own key)")
		batch      = fl.Int("batch", 0, "ingest batch size (embedded only; default that of tally serve)")
		cpuprofile = fl.String("cpuprofile", "", "write a CPU profile of the timed part to `file`")
		memprofile = fl.String("memprofile", "", "write a heap profile to `file` after the timed part (live objects after a collection)")
		tmp        = fl.String("tmp", "", "work `dir` for the ledger and the NATS store (embedded; default the temp dir unless it is in memory)")
		timeout    = fl.Duration("timeout", benchIngestDefaultTimeout, "give up waiting for receipts after this long")
		bulk       = fl.Int("bulk", 1, "envelopes per NATS message: 1 publishes each on its own; more publishes bulk submissions (at most 256 per message), each envelope still signed and answered on its own")
		transport  = fl.Bool("transport", true, "embedded only: then measure the transport ceiling (the same run through NATS and the ingest loop with a processor that does no work)")
	)
	var nf natsFlags
	nf.add(fl, "`URL` of the NATS server of a running tally serve (default: run everything in this process)")
	if err := fl.Parse(args); err != nil {
		return verifyFlagError(err)
	}
	if *nEvents < 1 || *publishers < 1 || *sellers < 1 || *rate < 0 || *inflight < 0 || *batch < 0 || *bulk < 1 || *bulk > events.MaxBulkEnvelopes || fl.NArg() > 0 {
		fl.Usage()
		return &exitError{code: 2, err: fmt.Errorf("bench ingest: --events, --publishers and --sellers must be positive; --rate, --inflight and --batch not negative; --bulk from 1 to %d", events.MaxBulkEnvelopes)}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	res := benchIngestResult{
		Mode: "embedded", Events: *nEvents, OfferedPerSec: *rate, Publishers: *publishers,
		Inflight: *inflight, Bulk: *bulk, GOMAXPROCS: runtime.GOMAXPROCS(0), CPUProfile: *cpuprofile,
	}

	// The ledger side, in this process unless --nats names a running one.
	url := nf.url
	var metrics *events.Metrics
	stopLedger := func() {}
	if url == "" {
		dir, err := benchWorkDir(*tmp, "")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		metrics = events.NewMetrics(prometheus.NewRegistry())
		st, err := openIngestStack(ctx, ingestStackOptions{
			Data: dir, NATSPort: -1, ConnName: "tally-bench-ledger", Logger: log,
			Ingest: events.IngestOptions{Metrics: metrics, BatchSize: *batch},
		})
		if err != nil {
			return fmt.Errorf("bench ingest: %w", err)
		}
		runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		go func() { done <- st.Run(runCtx) }()
		var once sync.Once
		stopLedger = func() {
			once.Do(func() {
				stop()
				if err := <-done; err != nil {
					log.Error("ingest loop", "err", err)
				}
				st.Close()
			})
		}
		defer stopLedger()
		url = st.URL
		res.IngestBatchMax = *batch
		if res.IngestBatchMax == 0 {
			res.IngestBatchMax = events.DefaultBatchSize
		}
	} else {
		res.Mode = "external"
	}

	// Parties, keys and every envelope, before the clock starts.
	run, err := benchIngestRunID()
	if err != nil {
		return err
	}
	signStart := time.Now()
	w, err := newBenchIngestWork(run, *sellers, *nEvents, *bulk)
	if err != nil {
		return fmt.Errorf("bench ingest: %w", err)
	}
	res.SignSeconds = time.Since(signStart).Seconds()
	res.EnvelopeBytes = len(w.data[0])

	res.VerifyCeiling, err = benchVerifyCeiling(w, time.Second)
	if err != nil {
		return fmt.Errorf("bench ingest: %w", err)
	}

	connect := func(name string) (*nats.Conn, error) { return nf.connect(url, name, log) }
	rc, err := connect("tally-bench-receipts")
	if err != nil {
		return fmt.Errorf("bench ingest: %w", err)
	}
	defer rc.Close()
	if err := w.register(ctx, rc); err != nil {
		return fmt.Errorf("bench ingest: %w", err)
	}
	var before benchIngestBatches
	if metrics != nil {
		before = benchIngestBatchStats(metrics)
	}

	cpu0 := benchCPUTime()
	if err := w.submit(ctx, rc, connect, *publishers, *rate, *inflight, *timeout, *cpuprofile, stderr); err != nil {
		return fmt.Errorf("bench ingest: %w", err)
	}
	res.CPUSeconds = (benchCPUTime() - cpu0).Seconds()
	res.CPUMicrosPerEvent = 1e6 * res.CPUSeconds / float64(res.Events)
	w.fill(&res)
	if *memprofile != "" {
		if err := benchHeapProfile(*memprofile); err != nil {
			return fmt.Errorf("bench ingest: %w", err)
		}
	}
	if metrics != nil {
		after := benchIngestBatchStats(metrics)
		res.Batches = int(after.count - before.count)
		if res.Batches > 0 {
			res.MeanBatch = (after.sum - before.sum) / float64(res.Batches)
			res.MeanProcessMs = 1000 * (after.seconds - before.seconds) / float64(res.Batches)
		}
	}
	if *transport && res.Mode == "embedded" && res.Rejected == 0 && res.Missing == 0 {
		stopLedger()
		var tr benchIngestResult
		if err := benchTransportCeiling(ctx, w, &tr, *tmp, *batch, *publishers, *rate, *inflight, *timeout, log, stderr); err != nil {
			return fmt.Errorf("bench ingest: transport ceiling: %w", err)
		}
		res.TransportCeiling, res.TransportCPUMicros, res.TransportP99ms = tr.EventsPerSec, tr.CPUMicrosPerEvent, tr.P99ms
		if tr.EventsPerSec > 0 {
			res.TransportRatio = res.EventsPerSec / tr.EventsPerSec
		}
	}
	if err := benchWriteJSON(stdout, res); err != nil {
		return err
	}
	if res.Rejected > 0 || res.Missing > 0 {
		return &exitError{code: 1, err: fmt.Errorf("bench ingest: %d rejected, %d without an answer", res.Rejected, res.Missing)}
	}
	return nil
}

// benchIngestRunID names this run's parties, hops and lots, so that runs
// against the same ledger never collide.
func benchIngestRunID() (string, error) {
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// benchIngestWork is one run: the parties, the signed hops and what became
// of each.
type benchIngestWork struct {
	run       string
	parties   []schemas.Envelope // registrations: sellers, then the buyer
	sellerKey []*client.Key
	data      [][]byte         // canonical hop envelopes
	bulk      int              // hops per message
	msgs      [][]byte         // message j: hops [j*bulk, (j+1)*bulk)
	pae       [][]byte         // what each hop's signature signs
	sig       [][]byte         // each hop's signature
	signer    []int            // index of each hop's seller
	index     map[string]int32 // hex digest → hop

	due  []int64        // ns after start: when each was due or published
	got  []atomic.Int64 // ns after start when its outcome arrived; 0: not yet
	dup  []atomic.Bool
	rej  []atomic.Bool
	left atomic.Int64 // hops without an outcome
	fin  chan struct{}

	start      time.Time
	end        atomic.Int64
	pubErrs    atomic.Int64 // publications that failed (and were retried)
	pubRetries atomic.Int64 // publications repeated (stalled or failed)
	rejShown   atomic.Int64
	stderr     io.Writer
}

func newBenchIngestWork(run string, sellers, n, bulk int) (*benchIngestWork, error) {
	w := &benchIngestWork{run: run, index: make(map[string]int32, n), bulk: bulk}
	buyer := "bench-" + run + "-refinery"
	reg := func(id, role string) (*client.Key, error) {
		k, err := client.GenerateKey()
		if err != nil {
			return nil, err
		}
		env, err := client.Sign(schemas.KindPartyRegistered, &schemas.PartyRegistered{
			ID: id, Name: "Bench party " + id, Role: role, Country: "CD", Region: "CD-LU",
			OrgForm: "corporation", Keys: []string{k.PublicKeyString()},
		}, k)
		if err != nil {
			return nil, err
		}
		w.parties = append(w.parties, env)
		return k, nil
	}
	for s := range sellers {
		k, err := reg(fmt.Sprintf("bench-%s-trader-%d", run, s), "trader")
		if err != nil {
			return nil, err
		}
		w.sellerKey = append(w.sellerKey, k)
	}
	if _, err := reg(buyer, "refiner"); err != nil {
		return nil, err
	}

	tmpl, err := schemas.ExampleEvent(schemas.KindHopRecorded)
	if err != nil {
		return nil, err
	}
	w.data, w.pae, w.sig, w.signer = make([][]byte, n), make([][]byte, n), make([][]byte, n), make([]int, n)
	digests := make([]string, n)
	var firstErr error
	var mu sync.Mutex
	benchParallel(n, func(i int) {
		h := *tmpl.(*schemas.HopRecorded)
		s := i % sellers
		h.ID = fmt.Sprintf("bench-%s-hop-%d", run, i)
		h.Seller = fmt.Sprintf("bench-%s-trader-%d", run, s)
		h.Buyer = buyer
		h.Output.Lot = fmt.Sprintf("bench-%s-lot-%d", run, i)
		env, err := client.Sign(schemas.KindHopRecorded, &h, w.sellerKey[s])
		if err == nil {
			w.data[i], err = env.Canonical()
		}
		var d [32]byte
		if err == nil {
			d, err = env.Digest()
		}
		if err == nil {
			w.pae[i], err = env.SignedMessage()
		}
		if err == nil {
			w.sig[i], err = base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
		}
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = fmt.Errorf("hop %d: %w", i, err)
			}
			mu.Unlock()
			return
		}
		digests[i] = hex.EncodeToString(d[:])
		w.signer[i] = s
	})
	if firstErr != nil {
		return nil, firstErr
	}
	for i, d := range digests {
		w.index[d] = int32(i)
	}
	// The messages: hops [j*bulk, (j+1)*bulk) as JSON Lines, or each hop
	// on its own.
	for first := 0; first < n; first += bulk {
		if bulk == 1 {
			w.msgs = append(w.msgs, w.data[first])
			continue
		}
		w.msgs = append(w.msgs, bytes.Join(w.data[first:min(n, first+bulk)], []byte("\n")))
	}
	w.reset()
	return w, nil
}

// reset sets up what becomes of the hops in a run: none answered yet.
func (w *benchIngestWork) reset() {
	n := len(w.data)
	w.due, w.got = make([]int64, n), make([]atomic.Int64, n)
	w.dup, w.rej = make([]atomic.Bool, n), make([]atomic.Bool, n)
	w.left.Store(int64(n))
	w.fin = make(chan struct{})
	w.end.Store(0)
	w.pubErrs.Store(0)
	w.pubRetries.Store(0)
	w.rejShown.Store(0)
}

// benchTransportCeiling submits w's hops again, as the main run did, to a
// fresh embedded server and ingest loop whose processor does no work: it
// answers each submission with a receipt that holds only its digest
// (looked up by the SHA-256 of the message, computed here), which the
// loop stores in TALLY_RECEIPTS, publishes on the committed feed and
// acknowledges exactly as it does real ones. It fills res as the main run
// fills its own.
func benchTransportCeiling(ctx context.Context, w *benchIngestWork, res *benchIngestResult, tmp string, batch, publishers int,
	rate float64, inflight int, timeout time.Duration, log *slog.Logger, stderr io.Writer) error {
	dir, err := benchWorkDir(tmp, "")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	digestOf := make(map[[32]byte]string, len(w.data))
	for d, i := range w.index {
		digestOf[sha256.Sum256(w.data[i])] = d
	}
	null := events.ProcessorFunc(func(_ context.Context, subs []events.Submission) ([]events.Outcome, error) {
		out := make([]events.Outcome, len(subs))
		for i, s := range subs {
			d, ok := digestOf[sha256.Sum256(s.Data)]
			if !ok {
				return nil, fmt.Errorf("transport ceiling: a submission that is not one of the run's hops")
			}
			out[i].Receipt = &events.Receipt{Digest: d, Kind: schemas.KindHopRecorded}
		}
		return out, nil
	})
	emb, err := events.StartEmbedded(events.EmbeddedOptions{Dir: filepath.Join(dir, "nats"), Port: -1, Logger: log})
	if err != nil {
		return err
	}
	defer emb.Shutdown()
	var nf natsFlags
	connect := func(name string) (*nats.Conn, error) { return nf.connect(emb.ClientURL(), name, log) }
	nc, err := connect("tally-bench-transport")
	if err != nil {
		return err
	}
	defer nc.Close()
	ing, err := events.NewIngester(nc, null, events.IngestOptions{BatchSize: batch, Logger: log})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- ing.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			log.Error("transport ingest loop", "err", err)
		}
	}()
	rc, err := connect("tally-bench-transport-receipts")
	if err != nil {
		return err
	}
	defer rc.Close()

	w.reset()
	cpu0 := benchCPUTime()
	if err := w.submit(ctx, rc, connect, publishers, rate, inflight, timeout, "", stderr); err != nil {
		return err
	}
	res.CPUSeconds = (benchCPUTime() - cpu0).Seconds()
	res.CPUMicrosPerEvent = 1e6 * res.CPUSeconds / float64(len(w.data))
	w.fill(res)
	if res.Rejected > 0 || res.Missing > 0 {
		return fmt.Errorf("%d rejected, %d without an answer", res.Rejected, res.Missing)
	}
	return nil
}

// benchParallel runs fn(i) for i in [0, n) on every core.
func benchParallel(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// benchVerifyCeiling measures how many Ed25519 signatures per second this
// machine verifies on all cores with the code admission uses
// (schemas.VerifyBatch over batches of up to 1024): the bound signature
// checking puts on ingest.
func benchVerifyCeiling(w *benchIngestWork, d time.Duration) (float64, error) {
	items := make([]schemas.VerifyItem, min(len(w.data), events.DefaultBatchSize))
	for i := range items {
		items[i] = schemas.VerifyItem{PublicKey: w.sellerKey[w.signer[i]].Public, Message: w.pae[i], Signature: w.sig[i]}
	}
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		for i, ok := range schemas.VerifyBatch(items) {
			if !ok {
				return 0, fmt.Errorf("verify ceiling: signature of hop %d does not verify", i)
			}
		}
		n += len(items)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// register submits the parties' registrations through the stream, the way
// a producer does, and waits for their receipts.
func (w *benchIngestWork) register(ctx context.Context, nc *nats.Conn) error {
	sub := &client.NATS{Conn: nc}
	errs := make([]error, len(w.parties))
	var wg sync.WaitGroup
	for i, env := range w.parties {
		wg.Go(func() {
			_, err := sub.Submit(ctx, env)
			if err != nil {
				errs[i] = fmt.Errorf("registering party %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// submit publishes every hop and waits for every outcome.
func (w *benchIngestWork) submit(ctx context.Context, rc *nats.Conn, connect func(string) (*nats.Conn, error),
	publishers int, rate float64, inflight int, timeout time.Duration, cpuprofile string, stderr io.Writer) error {
	w.stderr = stderr
	var slots chan struct{}
	if inflight > 0 {
		slots = make(chan struct{}, inflight)
	}
	// One subscription takes every outcome; it is in place before the
	// first publication, so none can pass it by.
	sub, err := rc.Subscribe(events.SubjectReceiptPrefix+">", func(m *nats.Msg) {
		w.outcome(m, slots)
	})
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return err
	}
	if err := rc.Flush(); err != nil {
		return err
	}

	type pub struct {
		nc *nats.Conn
		js jetstream.JetStream
	}
	pubs := make([]pub, publishers)
	for p := range pubs {
		nc, err := connect(fmt.Sprintf("tally-bench-publisher-%d", p))
		if err != nil {
			return err
		}
		defer nc.Close()
		var js jetstream.JetStream
		js, err = jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1024),
			jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
				// Refused by the stream (or lost): publish again; the
				// message id makes a repeat harmless.
				w.pubRetries.Add(1)
				go w.publish(ctx, js, m)
			}))
		if err != nil {
			return err
		}
		pubs[p] = pub{nc, js}
	}

	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	n := len(w.msgs)
	subject := events.SubjectSubmitPrefix + schemas.KindHopRecorded
	if w.bulk > 1 {
		subject = events.SubjectSubmitBulk
	}
	var next atomic.Int64
	var interval float64
	if rate > 0 {
		interval = float64(time.Second) / rate
	}
	var wg sync.WaitGroup
	w.start = time.Now()
	for _, p := range pubs {
		wg.Go(func() {
			for {
				j := int(next.Add(1) - 1)
				if j >= n || ctx.Err() != nil {
					break
				}
				// Message j holds hops [i, end); it is due when its last
				// hop is (the hops of a bulk are offered together).
				i, end := j*w.bulk, min(len(w.data), (j+1)*w.bulk)
				var due int64
				if interval > 0 {
					d := time.Duration(float64(end-1) * interval)
					if wait := d - time.Since(w.start); wait > 0 {
						time.Sleep(wait)
					}
					due = int64(d)
				}
				if slots != nil {
					select {
					case slots <- struct{}{}:
					case <-ctx.Done():
						return
					}
				}
				if interval == 0 {
					due = int64(time.Since(w.start))
				}
				for k := i; k < end; k++ {
					w.due[k] = due
				}
				m := nats.NewMsg(subject)
				m.Data = w.msgs[j]
				m.Header.Set(jetstream.MsgIDHeader, w.run+"-"+fmt.Sprint(j))
				m.Header.Set(jetstream.ExpectedStreamHeader, events.StreamSubmissions)
				w.publish(ctx, p.js, m)
			}
			select {
			case <-p.js.PublishAsyncComplete():
			case <-ctx.Done():
			}
		})
	}
	wg.Wait()

	// Wait for every outcome; give up after timeout, or when nothing has
	// come for a minute.
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	left, quiet := w.left.Load(), 0
	for {
		select {
		case <-w.fin:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if now := w.left.Load(); now != left {
			left, quiet = now, 0
		} else if quiet++; quiet >= 60 || time.Now().After(deadline) {
			fmt.Fprintf(stderr, "bench ingest: giving up with %d outcomes missing\n", left)
			return nil
		}
	}
}

// publish hands m to js, waiting and retrying while too many publications
// await their acknowledgement (the stream is behind): backpressure, not
// an error.
func (w *benchIngestWork) publish(ctx context.Context, js jetstream.JetStream, m *nats.Msg) {
	for ctx.Err() == nil {
		_, err := js.PublishMsgAsync(m)
		if err == nil {
			return
		}
		w.pubRetries.Add(1)
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			if w.pubErrs.Add(1) <= 3 {
				fmt.Fprintf(w.stderr, "bench ingest: publish %s: %v (retrying)\n", m.Header.Get(jetstream.MsgIDHeader), err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// benchOutcome is what the bench reads of an outcome.
type benchOutcome struct {
	Receipt *struct {
		Digest    string `json:"digest"`
		Duplicate bool   `json:"duplicate"`
	} `json:"receipt"`
	Rejection *events.Rejection `json:"rejection"`
}

// outcome records the answer to one message: one hop's, or a part of a
// bulk answer.
func (w *benchIngestWork) outcome(m *nats.Msg, slots chan struct{}) {
	now := int64(time.Since(w.start))
	if m.Header.Get(events.HeaderBulkLines) == "" {
		i, ok := w.index[strings.TrimPrefix(m.Subject, events.SubjectReceiptPrefix)]
		if !ok {
			return // another producer's outcome
		}
		var o benchOutcome
		if err := json.Unmarshal(m.Data, &o); err != nil {
			o = benchOutcome{}
		}
		if w.record(i, o, now) && slots != nil {
			<-slots
		}
		return
	}
	var part struct {
		Outcomes []benchOutcome `json:"outcomes"`
	}
	if err := json.Unmarshal(m.Data, &part); err != nil {
		return
	}
	mine, done := 0, 0
	for _, o := range part.Outcomes {
		d := ""
		switch {
		case o.Receipt != nil:
			d = o.Receipt.Digest
		case o.Rejection != nil:
			d = o.Rejection.Digest
		}
		i, ok := w.index[d]
		if !ok {
			continue
		}
		mine++
		if w.record(i, o, now) && i%int32(w.bulk) == 0 {
			done++ // the first hop of a message stands for it in slots
		}
	}
	if mine == 0 && w.rejShown.Add(1) <= 3 {
		fmt.Fprintf(w.stderr, "bench ingest: a bulk answer naming none of this run's hops: %.200s\n", m.Data)
	}
	for ; slots != nil && done > 0; done-- {
		<-slots
	}
}

// record notes the outcome o of hop i; false if it was answered before (a
// repeat after a redelivery).
func (w *benchIngestWork) record(i int32, o benchOutcome, now int64) bool {
	if !w.got[i].CompareAndSwap(0, max(now, 1)) {
		return false
	}
	switch {
	case o.Receipt == nil && o.Rejection == nil:
		w.rej[i].Store(true)
	case o.Rejection != nil:
		w.rej[i].Store(true)
		if w.rejShown.Add(1) <= 3 {
			fmt.Fprintf(w.stderr, "bench ingest: hop %d rejected: %+v\n", i, o.Rejection.Reasons)
		}
	case o.Receipt.Duplicate:
		w.dup[i].Store(true)
	}
	w.end.Store(now)
	if w.left.Add(-1) == 0 {
		close(w.fin)
	}
	return true
}

// fill puts the run's figures into res.
func (w *benchIngestWork) fill(res *benchIngestResult) {
	var lat []time.Duration
	for i := range w.got {
		got := w.got[i].Load()
		switch {
		case got == 0:
			res.Missing++
			continue
		case w.rej[i].Load():
			res.Rejected++
		case w.dup[i].Load():
			res.Duplicates++
			res.Receipts++
		default:
			res.Receipts++
		}
		lat = append(lat, time.Duration(got-w.due[i]))
	}
	res.PublishErrors = int(w.pubErrs.Load())
	res.PublishRetries = int(w.pubRetries.Load())
	res.Seconds = time.Duration(w.end.Load()).Seconds()
	if res.Seconds > 0 {
		res.EventsPerSec = float64(res.Receipts) / res.Seconds
	}
	if res.VerifyCeiling > 0 {
		res.CeilingRatio = res.EventsPerSec / res.VerifyCeiling
	}
	if len(lat) > 0 {
		ms := func(q float64) float64 { return benchQuantileUS(lat, q) / 1000 }
		res.P50ms, res.P90ms, res.P99ms, res.MaxMs = ms(0.50), ms(0.90), ms(0.99), ms(1)
	}
}

// benchIngestBatches are the ingest loop's batch counters.
type benchIngestBatches struct {
	count        uint64
	sum, seconds float64
}

func benchIngestBatchStats(m *events.Metrics) benchIngestBatches {
	var b, c dto.Metric
	if m.BatchSize.Write(&b) != nil || m.CommitSeconds.Write(&c) != nil {
		return benchIngestBatches{}
	}
	return benchIngestBatches{count: b.Histogram.GetSampleCount(), sum: b.Histogram.GetSampleSum(), seconds: c.Histogram.GetSampleSum()}
}

// benchHeapProfile writes the live heap, after a collection, to file.
func benchHeapProfile(file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// benchCPUTime is the CPU time this process has used (user and system).
func benchCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
