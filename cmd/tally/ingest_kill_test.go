package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// Shape of TestIngestSurvivesSIGKILL.
const (
	killHops       = 2400 // hop envelopes, besides the registrations
	killSellers    = 6
	killPublishers = 8
	killRate       = 600 // hops offered per second, all publishers together
	killKills      = 3
)

// killProc is one tally serve child process.
type killProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *serveBuffer
}

// killServer starts and kills tally serve on one data dir and fixed ports,
// so that clients reconnect to the restarted server by themselves.
type killServer struct {
	t                 *testing.T
	bin, data         string
	httpURL, natsURL  string
	httpAddr          string
	natsPort          int
	vkey              string
	cur               *killProc
	starts, sigkilled int
}

var killVkeyLine = regexp.MustCompile(`verifier key\s+(\S+)`)

// TestIngestSurvivesSIGKILL runs tally serve as a child process with its
// embedded NATS server, submits signed statements to it from concurrent
// publishers and kills it with SIGKILL at random moments mid-ingest,
// restarting it each time on the same data dir. Then:
//
//   - every submission that got a receipt is in the ledger exactly once,
//     at the receipt's seq, and the receipt's proof verifies;
//   - every submission the stream acknowledged arrives in the ledger after
//     the restarts, without being submitted again;
//   - nothing else is in the ledger, and nothing was rejected.
func TestIngestSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds tally and kills it several times; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	s := &killServer{t: t, bin: killBuild(t), data: filepath.Join(t.TempDir(), "data")}
	s.natsPort = killFreePort(t)
	s.httpAddr = "127.0.0.1:" + strconv.Itoa(killFreePort(t))
	s.httpURL = "http://" + s.httpAddr
	s.natsURL = "nats://127.0.0.1:" + strconv.Itoa(s.natsPort)
	s.start(ctx)
	t.Cleanup(s.kill)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	conn := func(name string) *nats.Conn {
		nc, err := events.Connect(events.ConnectOptions{URL: s.natsURL, Name: name, Logger: log, ReconnectWait: 25 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}

	// Statements: sellers and a buyer, then hops (sales between them).
	parties, hops := killStatements(t)
	digestOf := map[string]int{} // hex digest → index in all
	all := append(append([][]byte{}, parties...), hops...)
	for i, b := range all {
		env, err := schemas.DecodeEnvelope(b)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := env.Digest()
		digestOf[hex.EncodeToString(d[:])] = i
	}

	// Every outcome, as it comes; a receipt repeated after a restart must
	// name the same seq.
	var mu sync.Mutex
	receipts := map[int]*client.Receipt{}
	var rejected []string
	dupReceipts := 0 // answers to a redelivery of a committed submission
	var receiptCount atomic.Int64
	rc := conn("kill-receipts")
	sub, err := rc.Subscribe(events.SubjectReceiptPrefix+">", func(m *nats.Msg) {
		var o struct {
			Receipt   *client.Receipt   `json:"receipt"`
			Rejection *events.Rejection `json:"rejection"`
		}
		i, ok := digestOf[m.Subject[len(events.SubjectReceiptPrefix):]]
		if !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch err := json.Unmarshal(m.Data, &o); {
		case err != nil || (o.Receipt == nil) == (o.Rejection == nil):
			rejected = append(rejected, fmt.Sprintf("statement %d: unreadable outcome %q", i, m.Data))
		case o.Rejection != nil:
			rejected = append(rejected, fmt.Sprintf("statement %d: %+v", i, o.Rejection.Reasons))
		default:
			r := o.Receipt
			if r.Duplicate {
				dupReceipts++
			}
			if prev, seen := receipts[i]; seen {
				if prev.Seq != r.Seq || prev.EntryHash != r.EntryHash {
					rejected = append(rejected, fmt.Sprintf("statement %d: receipts for seq %d and %d", i, prev.Seq, r.Seq))
				}
				return
			}
			receipts[i] = r
			receiptCount.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	sub.SetPendingLimits(-1, -1)
	rc.Flush()

	// The parties first, through the same stream, as a producer would.
	reg := &client.NATS{Conn: rc}
	for i, p := range parties {
		env, _ := schemas.DecodeEnvelope(p)
		if _, err := reg.Submit(ctx, env); err != nil {
			t.Fatalf("registering party %d: %v", i, err)
		}
	}

	// Publishers: each publishes its share of the hops, paced, and retries
	// a publication until the stream acknowledges it (a retry after a lost
	// acknowledgement is a resubmission, which the ledger answers with the
	// original receipt).
	acked := make([]atomic.Bool, len(hops))
	var pubs sync.WaitGroup
	var next atomic.Int64
	start := time.Now()
	interval := time.Second / killRate
	for p := range killPublishers {
		js, err := jetstream.New(conn(fmt.Sprintf("kill-publisher-%d", p)))
		if err != nil {
			t.Fatal(err)
		}
		pubs.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(hops) {
					return
				}
				if d := time.Duration(i)*interval - time.Since(start); d > 0 {
					time.Sleep(d)
				}
				m := nats.NewMsg(events.SubjectSubmitPrefix + schemas.KindHopRecorded)
				m.Data = hops[i]
				for ctx.Err() == nil {
					pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
					_, err := js.PublishMsg(pctx, m, jetstream.WithExpectStream(events.StreamSubmissions))
					cancel()
					if err == nil {
						acked[i].Store(true)
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}

	// The kills: at random moments spread over the publishing (kill k once
	// about 0.9·k/(killKills+1) of the hops have been handed to the
	// publishers, give or take, and with 50 receipts or more since the last
	// restart), so that publishing and ingest always go on past the last
	// one, however fast ingest catches up after a restart.
	var killedAt []int64
	for k := range killKills {
		frac := 0.9 * (float64(k+1) + rand.Float64() - 0.5) / (killKills + 1)
		wantPub := int64(frac * float64(len(hops)))
		wantReceipts := receiptCount.Load() + 50
		for (next.Load() < wantPub || receiptCount.Load() < wantReceipts) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		killedAt = append(killedAt, receiptCount.Load())
		s.sigkill()
		t.Logf("kill %d: SIGKILL after %d receipts (%.1fs)", k+1, killedAt[k], time.Since(start).Seconds())
		s.start(ctx)
	}
	pubs.Wait()
	if ctx.Err() != nil {
		t.Fatalf("publishing did not finish: %v", ctx.Err())
	}
	publishedBy := time.Since(start)
	for i := range acked {
		if !acked[i].Load() {
			t.Fatalf("hop %d never acknowledged by the stream", i)
		}
	}
	if last := killedAt[len(killedAt)-1]; last >= int64(len(all)) {
		t.Fatalf("the last kill came after every receipt (%d): not mid-ingest", last)
	}

	// Drain: the ledger must come to hold every statement.
	total := uint64(len(all))
	var size uint64
	for size < total {
		if ctx.Err() != nil {
			t.Fatalf("the ledger holds %d entries, want %d: acknowledged submissions did not arrive\n%s", size, total, s.cur.stderr)
		}
		size = s.size()
		time.Sleep(50 * time.Millisecond)
	}
	drained := time.Since(start)
	s.stop()

	mu.Lock()
	defer mu.Unlock()
	if len(rejected) > 0 {
		t.Fatalf("%d outcomes were rejections or inconsistent, e.g. %s", len(rejected), rejected[0])
	}
	// Every statement is in the ledger exactly once; receipted ones at the
	// receipt's seq.
	l, err := ledger.Open(filepath.Join(s.data, "ledger"), ledger.Options{ReadOnly: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.Head().Size; got != total {
		t.Fatalf("ledger holds %d entries, want %d", got, total)
	}
	seqOf := map[int]uint64{}
	err = l.Scan(0, 0, func(r ledger.Record) error {
		env, err := schemas.DecodeEnvelope(r.Envelope)
		if err != nil {
			return fmt.Errorf("record %d: %w", r.Seq, err)
		}
		d, _ := env.Digest()
		i, ok := digestOf[hex.EncodeToString(d[:])]
		if !ok {
			return fmt.Errorf("record %d holds a statement nobody submitted", r.Seq)
		}
		if prev, dup := seqOf[i]; dup {
			return fmt.Errorf("statement %d is in the ledger twice: seq %d and %d", i, prev, r.Seq)
		}
		seqOf[i] = r.Seq
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		if _, ok := seqOf[i]; !ok {
			t.Fatalf("statement %d is not in the ledger", i)
		}
	}
	for i, r := range receipts {
		if seqOf[i] != r.Seq {
			t.Fatalf("statement %d: receipt says seq %d, ledger has it at %d", i, r.Seq, seqOf[i])
		}
		if err := client.VerifyReceipt(r, s.vkey, all[i]); err != nil {
			t.Fatalf("statement %d: receipt does not verify: %v", i, err)
		}
	}
	if len(receipts) == 0 {
		t.Fatal("no receipts at all")
	}
	t.Logf("%d statements, %d live receipts (%d more marked duplicate: committed before a kill, answered after), %d SIGKILLs (at %v receipts), %d starts; published in %.1fs, drained in %.1fs",
		len(all), len(receipts), dupReceipts, s.sigkilled, killedAt, s.starts, publishedBy.Seconds(), drained.Seconds())
}

// killStatements signs the registrations (killSellers traders and one
// refiner) and killHops sales from the traders to the refiner, each its
// own hop and lot, as canonical envelopes.
func killStatements(t *testing.T) (parties, hops [][]byte) {
	t.Helper()
	canon := func(env schemas.Envelope, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		b, err := env.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	register := func(id, role string) *client.Key {
		k, err := client.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		parties = append(parties, canon(client.Sign(schemas.KindPartyRegistered, &schemas.PartyRegistered{
			ID: id, Name: "Party " + id, Role: role, Country: "CD", OrgForm: "corporation", Keys: []string{k.PublicKeyString()},
		}, k)))
		return k
	}
	keys := make([]*client.Key, killSellers)
	for s := range keys {
		keys[s] = register(fmt.Sprintf("kill-trader-%d", s), "trader")
	}
	register("kill-refinery", "refiner")
	tmpl, err := schemas.ExampleEvent(schemas.KindHopRecorded)
	if err != nil {
		t.Fatal(err)
	}
	for i := range killHops {
		h := *tmpl.(*schemas.HopRecorded)
		s := i % killSellers
		h.ID, h.Seller, h.Buyer = fmt.Sprintf("kill-hop-%d", i), fmt.Sprintf("kill-trader-%d", s), "kill-refinery"
		h.Output.Lot = fmt.Sprintf("kill-lot-%d", i)
		hops = append(hops, canon(client.Sign(schemas.KindHopRecorded, &h, keys[s])))
	}
	return parties, hops
}

// killBuild builds the tally binary into a temporary directory.
func killBuild(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build tally with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "tally")
	cmd := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// killFreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func killFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start starts tally serve and waits until it is ready (ingest consuming).
func (s *killServer) start(ctx context.Context) {
	t := s.t
	t.Helper()
	p := &killProc{exited: make(chan struct{}), stderr: &serveBuffer{}}
	stdout := &serveBuffer{}
	p.cmd = exec.Command(s.bin, "serve", "--data", s.data, "--http", s.httpAddr,
		"--nats-port", strconv.Itoa(s.natsPort), "--log-level", "warn")
	p.cmd.Stdout, p.cmd.Stderr = stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	s.cur = p
	s.starts++
	for {
		if m := killVkeyLine.FindStringSubmatch(stdout.String()); m != nil {
			if s.vkey != "" && s.vkey != m[1] {
				t.Fatalf("verifier key changed across restarts: %s, then %s", s.vkey, m[1])
			}
			s.vkey = m[1]
			if resp, err := http.Get(s.httpURL + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("tally serve exited while starting (%v):\n%s", p.cmd.ProcessState, p.stderr)
		case <-ctx.Done():
			t.Fatalf("tally serve not ready: %v\n%s", ctx.Err(), p.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// sigkill kills the running server with SIGKILL and waits until it is gone.
func (s *killServer) sigkill() {
	if err := s.cur.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.t.Fatal(err)
	}
	<-s.cur.exited
	s.sigkilled++
}

// stop stops the running server gracefully (SIGTERM) and checks that it
// exited cleanly.
func (s *killServer) stop() {
	t := s.t
	t.Helper()
	_ = s.cur.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.cur.exited:
	case <-time.After(30 * time.Second):
		s.kill()
		t.Fatalf("tally serve did not stop on SIGTERM:\n%s", s.cur.stderr)
	}
	if !s.cur.cmd.ProcessState.Success() {
		t.Fatalf("tally serve: %v\n%s", s.cur.cmd.ProcessState, s.cur.stderr)
	}
}

// kill makes sure no child outlives the test.
func (s *killServer) kill() {
	if s.cur == nil {
		return
	}
	select {
	case <-s.cur.exited:
	default:
		_ = s.cur.cmd.Process.Kill()
		<-s.cur.exited
	}
}

// size reads the size of the ledger's latest checkpoint (0 if the server
// does not answer).
func (s *killServer) size() uint64 {
	resp, err := http.Get(s.httpURL + "/v1/checkpoint")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0
	}
	cp, err := client.OpenCheckpoint(b, s.vkey)
	if err != nil {
		s.t.Fatalf("checkpoint does not verify: %v", err)
	}
	return cp.Size
}
