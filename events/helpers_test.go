package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// testLogger discards logs unless TALLY_TEST_LOG is set (then they go to
// stderr): servers log from their own goroutines, which may outlive a test.
func testLogger() *slog.Logger {
	if os.Getenv("TALLY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startNATS starts an embedded server on a random port with its store in
// dir (a new temporary directory if empty).
func startNATS(t testing.TB, dir string, port int) *events.Embedded {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if port == 0 {
		port = -1
	}
	emb, err := events.StartEmbedded(events.EmbeddedOptions{Dir: dir, Port: port, Logger: testLogger()})
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(emb.Shutdown)
	return emb
}

func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := events.Connect(events.ConnectOptions{URL: url, Logger: testLogger(), ReconnectWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func openLedger(t testing.TB) *ledger.Log {
	t.Helper()
	l, err := ledger.Open("ledger", ledger.Options{FS: vfs.NewMem(), Logger: testLogger(), CacheSize: 8 << 20})
	if err != nil {
		t.Fatalf("ledger.Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// runIngest runs an ingest loop until the test ends (or stop is called).
func runIngest(t testing.TB, nc *nats.Conn, p events.Processor, o events.IngestOptions) (*events.Ingester, func()) {
	t.Helper()
	if o.Logger == nil {
		o.Logger = testLogger()
	}
	if o.PullExpiry == 0 {
		o.PullExpiry = time.Second
	}
	if o.LagInterval == 0 {
		o.LagInterval = 100 * time.Millisecond
	}
	ing, err := events.NewIngester(nc, p, o)
	if err != nil {
		t.Fatalf("NewIngester: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ing.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	waitFor(t, 10*time.Second, "ingest running", ing.Running)
	return ing, stop
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// partyPayload is a valid party.registered statement number i for key.
func partyPayload(i int, key *client.Key) []byte {
	b, err := json.Marshal(schemas.PartyRegistered{
		ID:      fmt.Sprintf("coop-%d", i),
		Name:    fmt.Sprintf("Mining Cooperative %d", i),
		Role:    "miner",
		Country: "CD",
		OrgForm: "worker_cooperative",
		Keys:    []string{key.PublicKeyString()},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// signedParty signs partyPayload(i).
func signedParty(t testing.TB, i int, key *client.Key) (schemas.Envelope, []byte) {
	t.Helper()
	env, err := client.Sign(schemas.KindPartyRegistered, partyPayload(i, key), key)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	canon, err := env.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return env, canon
}

func newKey(t testing.TB) *client.Key {
	t.Helper()
	k, err := client.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// value reads a counter or gauge, or a histogram's sample count.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	case d.Histogram != nil:
		return float64(d.Histogram.GetSampleCount())
	}
	panic("unsupported metric")
}

// admissionProcessor opens a fresh ledger and its AdmissionProcessor.
func admissionProcessor(t testing.TB) (*ledger.Log, *events.AdmissionProcessor) {
	t.Helper()
	l := openLedger(t)
	proc, err := events.NewAdmissionProcessor(t.Context(), l)
	if err != nil {
		t.Fatal(err)
	}
	return l, proc
}

func lp(l *ledger.Log) *events.LedgerProcessor { return &events.LedgerProcessor{Log: l} }

func ingestOpts() events.IngestOptions { return events.IngestOptions{} }
