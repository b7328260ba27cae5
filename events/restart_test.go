package events_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// submitWithRetry submits env until it gets an answer, resubmitting after
// errors that may go away (the server restarting); resubmitting is safe.
func submitWithRetry(ctx context.Context, sub *client.NATS, env schemas.Envelope) (*client.Receipt, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		r, err := sub.Submit(actx, env)
		cancel()
		if err == nil || !client.IsRetryable(err) || ctx.Err() != nil {
			return r, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// restartScenario submits m envelopes from several producers while
// restart is called once, after the first third has its receipts. Every
// envelope must end up in the log exactly once, with a receipt that
// verifies.
func restartScenario(t *testing.T, nc *nats.Conn, l *ledger.Log, m int, restart func()) {
	t.Helper()
	base := l.Head().Size
	key := newKey(t)
	envs := make([]schemas.Envelope, m)
	canons := make([][]byte, m)
	for i := range envs {
		envs[i], canons[i] = signedParty(t, i, key)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	sub := &client.NATS{Conn: nc, PollInterval: 100 * time.Millisecond}
	receipts := make([]*client.Receipt, m)
	errs := make([]error, m)
	var answered atomic.Int32
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		for answered.Load() < int32(m/3) {
			if ctx.Err() != nil {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		restart()
	}()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range jobs {
				receipts[i], errs[i] = submitWithRetry(ctx, sub, envs[i])
				answered.Add(1)
			}
		})
	}
	for i := range envs {
		jobs <- i
		if i%8 == 7 {
			time.Sleep(10 * time.Millisecond) // spread the load over the restart
		}
	}
	close(jobs)
	wg.Wait()
	<-restarted

	seqs := map[uint64]int{}
	for i := range envs {
		if errs[i] != nil {
			t.Fatalf("envelope %d: %v", i, errs[i])
		}
		if err := client.VerifyReceipt(receipts[i], l.VerifierKey(), canons[i]); err != nil {
			t.Fatalf("receipt %d: %v", i, err)
		}
		if j, dup := seqs[receipts[i].Seq]; dup {
			t.Fatalf("envelopes %d and %d share seq %d", j, i, receipts[i].Seq)
		}
		seqs[receipts[i].Seq] = i
		d, _ := envs[i].Digest()
		if seq, ok, err := l.Lookup(d); err != nil || !ok || seq != receipts[i].Seq {
			t.Fatalf("envelope %d: lookup seq %d ok %v err %v, receipt seq %d", i, seq, ok, err, receipts[i].Seq)
		}
	}
	if got := l.Head().Size; got != base+uint64(m) {
		t.Fatalf("log size %d, want %d (nothing lost, nothing twice)", got, base+uint64(m))
	}
}

func TestIngestSurvivesNATSRestart(t *testing.T) {
	dir := t.TempDir()
	emb := startNATS(t, dir, 0)
	port := emb.Server().Addr().(*net.TCPAddr).Port
	nc := connect(t, emb.ClientURL())
	l := openLedger(t)
	runIngest(t, nc, lp(l), ingestOpts())
	restartScenario(t, nc, l, 90, func() {
		emb.Shutdown()
		startNATS(t, dir, port)
	})
}

// A delivery the loop never sees (here: taken by another client of the
// same consumer, as a delivery lost in flight would be) must not let later
// submissions overtake it: the loop resets the consumer and the ledger
// keeps the stream's order.
func TestIngestRepairsLostDelivery(t *testing.T) {
	emb := startNATS(t, "", 0)
	nc := connect(t, emb.ClientURL())
	l := openLedger(t)
	m := events.NewMetrics(nil)
	runIngest(t, nc, lp(l), events.IngestOptions{Metrics: m})
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	thief, err := js.Consumer(t.Context(), events.StreamSubmissions, events.DefaultDurable)
	if err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	const n = 60
	var want [][]byte
	var stolen atomic.Int32
	stop := make(chan struct{})
	go func() {
		for stolen.Load() < 3 {
			select {
			case <-stop:
				return
			default:
			}
			b, err := thief.Fetch(1, jetstream.FetchMaxWait(100*time.Millisecond))
			if err != nil {
				continue
			}
			for range b.Messages() {
				stolen.Add(1) // never acknowledged
			}
		}
	}()
	for i := range n {
		_, canon := signedParty(t, i, key)
		want = append(want, canon)
		if _, err := js.Publish(t.Context(), events.SubjectSubmitPrefix+schemas.KindPartyRegistered, canon); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	waitFor(t, 20*time.Second, "all submissions committed", func() bool { return l.Head().Size == n })
	if stolen.Load() == 0 {
		t.Skip("the other client took no delivery; nothing to repair")
	}
	for i, w := range want {
		rec, err := l.Get(uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		if string(rec.Envelope) != string(w) {
			t.Fatalf("record %d is not submission %d: ledger order differs from stream order", i, i)
		}
	}
	t.Logf("%d deliveries taken by the other client; %v consumer resets", stolen.Load(), value(m.Resets))
	if value(m.Resets) == 0 {
		t.Errorf("%d deliveries taken, but the consumer was never reset", stolen.Load())
	}
}
