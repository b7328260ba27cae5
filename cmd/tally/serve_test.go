package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// serveBuffer is a bytes.Buffer safe for the concurrent writes of a
// running command and the reads of a test.
type serveBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *serveBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *serveBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// servedTally is a running tally serve.
type servedTally struct {
	http, nats, vkey string
	stdout, stderr   *serveBuffer
	stop             func() error
}

var (
	serveHTTPLine = regexp.MustCompile(`HTTP API\s+(http://\S+)`)
	serveNATSLine = regexp.MustCompile(`NATS\s+(nats://\S+)`)
	serveVkeyLine = regexp.MustCompile(`verifier key\s+(\S+)`)
)

// serve runs tally serve in-process on random ports until stop.
func startServe(t *testing.T, data string, extra ...string) *servedTally {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &servedTally{stdout: &serveBuffer{}, stderr: &serveBuffer{}}
	args := append([]string{"serve", "--data", data, "--http", "127.0.0.1:0", "--nats-port", "-1", "--log-level", "warn"}, extra...)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, s.stdout, s.stderr) }()
	var once sync.Once
	var stopErr error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = errors.New("serve did not stop")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = s.stop() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		out := s.stdout.String()
		if m := serveVkeyLine.FindStringSubmatch(out); m != nil {
			s.http = serveHTTPLine.FindStringSubmatch(out)[1]
			s.nats = serveNATSLine.FindStringSubmatch(out)[1]
			s.vkey = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s\n%s", err, s.stdout, s.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s\n%s", s.stdout, s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Ready means the ingest consumer runs too.
	for {
		resp, err := http.Get(s.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never ready:\n%s", s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runTally(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = run(t.Context(), args, &o, &e)
	return o.String(), e.String(), err
}

func tallyExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// writeStatementLines writes, as JSON Lines of {"kind", "payload"}, the
// registration of party id with key and then n sales of its own lots to the
// end consumer: statements that admission accepts, all signed by one key.
func writeStatementLines(t *testing.T, path string, key *client.Key, id string, n int) {
	t.Helper()
	var b bytes.Buffer
	line := func(kind string, ev any) {
		p, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "{\"kind\":%q,\"payload\":%s}\n", kind, p)
	}
	line(schemas.KindPartyRegistered, schemas.PartyRegistered{ID: id, Name: "Coop " + id, Role: "miner", Country: "PE", OrgForm: "worker_cooperative", Keys: []string{key.PublicKeyString()}})
	for i := range n {
		ev, err := schemas.ExampleEvent(schemas.KindHopRecorded)
		if err != nil {
			t.Fatal(err)
		}
		h := ev.(*schemas.HopRecorded)
		h.ID, h.Seller, h.Buyer = fmt.Sprintf("%s-sale-%d", id, i), id, schemas.EndConsumer
		h.Output.Lot, h.Inputs = fmt.Sprintf("%s-lot-%d", id, i), nil
		line(schemas.KindHopRecorded, h)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newKey(t *testing.T, dir, party string) (string, *client.Key) {
	t.Helper()
	keyFile := filepath.Join(dir, party+".key")
	out, _, err := runTally(t, "keygen", "--out", keyFile, "--party", party)
	if err != nil {
		t.Fatalf("keygen: %v", err)
	}
	key, err := client.LoadKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{key.ID, key.PublicKeyString(), fmt.Sprintf(`"id":%q`, party), "tally submit --key " + keyFile} {
		if !strings.Contains(out, want) {
			t.Errorf("keygen output lacks %q:\n%s", want, out)
		}
	}
	return keyFile, key
}

func TestServeKeygenSubmit(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	s := startServe(t, data)
	if !strings.HasPrefix(s.vkey, serveDefaultOrigin+"+") {
		t.Errorf("verifier key %q is not for origin %s", s.vkey, serveDefaultOrigin)
	}

	keyFile, key := newKey(t, dir, "coop-1")
	if _, _, err := runTally(t, "keygen", "--out", keyFile); err == nil {
		t.Errorf("keygen replaced an existing key file")
	}
	payloads := filepath.Join(dir, "coop-1.jsonl")
	writeStatementLines(t, payloads, key, "coop-1", 2)

	t.Run("over HTTP", func(t *testing.T) {
		out, errOut, err := runTally(t, "submit", "--key", keyFile, "--http", s.http, "--log-key", s.vkey, payloads)
		if err != nil {
			t.Fatalf("submit: %v\n%s", err, errOut)
		}
		for i, kind := range []string{schemas.KindPartyRegistered, schemas.KindHopRecorded, schemas.KindHopRecorded} {
			if !strings.Contains(out, fmt.Sprintf("%s:%d: %s seq %d entry ", payloads, i+1, kind, i)) || !strings.Contains(out, "verified") {
				t.Errorf("no verified receipt line for statement %d:\n%s", i, out)
			}
		}
	})
	t.Run("over NATS, repeated", func(t *testing.T) {
		out, errOut, err := runTally(t, "submit", "--key", keyFile, "--nats", s.nats, "--log-key", s.vkey, payloads)
		if err != nil {
			t.Fatalf("submit: %v\n%s", err, errOut)
		}
		if strings.Count(out, "(already in the log)") != 3 {
			t.Errorf("resubmitted statements not reported as already logged:\n%s", out)
		}
	})
	t.Run("one bare payload with --kind, --json", func(t *testing.T) {
		key2File, key2 := newKey(t, dir, "coop-2")
		p, _ := json.Marshal(schemas.PartyRegistered{ID: "coop-2", Name: "Coop 2", Role: "miner", Country: "PE", OrgForm: "worker_cooperative", Keys: []string{key2.PublicKeyString()}})
		f := filepath.Join(dir, "coop-2.json")
		os.WriteFile(f, p, 0o644)
		out, errOut, err := runTally(t, "submit", "--key", key2File, "--http", s.http, "--kind", schemas.KindPartyRegistered, "--json", f)
		if err != nil {
			t.Fatalf("submit: %v\n%s", err, errOut)
		}
		var r client.Receipt
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil || r.Seq != 3 {
			t.Errorf("--json output %q: %v", out, err)
		}
	})
	t.Run("not admitted", func(t *testing.T) {
		// coop-2's key signs a sale by coop-1: admission names the rule.
		p := filepath.Join(dir, "forged.jsonl")
		writeStatementLines(t, p, key, "coop-1", 3)
		_, errOut, err := runTally(t, "submit", "--key", filepath.Join(dir, "coop-2.key"), "--http", s.http, p)
		if tallyExitCode(err) != 1 {
			t.Fatalf("exit code %d (%v), want 1", tallyExitCode(err), err)
		}
		if !strings.Contains(errOut, "forged.jsonl:4: rejected") || !strings.Contains(errOut, "[signer]") {
			t.Errorf("stderr does not name the statement and the rule:\n%s", errOut)
		}
	})
	t.Run("not admitted, in bulk over NATS", func(t *testing.T) {
		// The same four statements in two bulk submissions (3 + 1): the
		// three already logged are answered as such (receipts verified,
		// though signed by another key), the fourth is rejected.
		p := filepath.Join(dir, "forged.jsonl")
		out, errOut, err := runTally(t, "submit", "--key", filepath.Join(dir, "coop-2.key"), "--nats", s.nats, "--bulk", "3", "--log-key", s.vkey, p)
		if tallyExitCode(err) != 1 {
			t.Fatalf("exit code %d (%v), want 1\n%s", tallyExitCode(err), err, errOut)
		}
		if !strings.Contains(errOut, "forged.jsonl:4: rejected") || !strings.Contains(errOut, "[signer]") ||
			strings.Count(out, "verified (already in the log)") != 3 {
			t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
		}
	})
	t.Run("rejected", func(t *testing.T) {
		// A statement over the vocabulary's payload limit is rejected by
		// the ledger with its reason; submit exits 1 and says why.
		big, _ := json.Marshal(schemas.PartyRegistered{ID: "coop-big", Name: strings.Repeat("x", schemas.MaxPayloadSize), Role: "miner", Country: "PE", OrgForm: "worker_cooperative", Keys: []string{key.PublicKeyString()}})
		f := filepath.Join(dir, "big.json")
		os.WriteFile(f, big, 0o644)
		_, errOut, err := runTally(t, "submit", "--key", keyFile, "--nats", s.nats, "--timeout", "10s", "--kind", schemas.KindPartyRegistered, f)
		if tallyExitCode(err) != 1 {
			t.Fatalf("exit code %d (%v), want 1", tallyExitCode(err), err)
		}
		if !strings.Contains(errOut, "rejected") || !strings.Contains(errOut, "/payload") || !strings.Contains(errOut, "[max_size]") {
			t.Errorf("stderr does not give the reason:\n%s", errOut)
		}
	})
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{
			{"submit", payloads},
			{"submit", "--key", keyFile},
			{"submit", "--key", keyFile, "--kind", "nope", payloads},
			{"submit", "--key", keyFile, "--bulk", "2", payloads},
			{"keygen"},
			{"serve", "extra"},
		} {
			if _, _, err := runTally(t, args...); tallyExitCode(err) != 2 {
				t.Errorf("%v: exit code %d (%v), want 2", args, tallyExitCode(err), err)
			}
		}
	})

	if err := s.stop(); err != nil {
		t.Fatalf("serve: %v\n%s", err, s.stderr)
	}
	// Stopped cleanly: the ledger opens again, with everything.
	l, err := ledger.Open(filepath.Join(data, "ledger"), ledger.Options{})
	if err != nil {
		t.Fatalf("reopen ledger after serve: %v", err)
	}
	defer l.Close()
	if l.Head().Size != 4 {
		t.Errorf("ledger holds %d entries, want 4 (coop-1, its 2 sales, coop-2)", l.Head().Size)
	}

	// Served again from the same data directory, the log keeps its key.
	l.Close()
	s2 := startServe(t, data)
	if s2.vkey != s.vkey {
		t.Errorf("verifier key changed across restarts: %s then %s", s.vkey, s2.vkey)
	}
}

func TestServeDemo(t *testing.T) {
	envs, err := demo.Envelopes()
	if err != nil {
		t.Fatal(err)
	}
	n := len(envs)
	data := filepath.Join(t.TempDir(), "data")

	// The demo goes through admission over NATS; loading it again after a
	// restart adds nothing.
	for i, want := range []string{
		fmt.Sprintf("demo          %d statements (%d new, 0 already logged)", n, n),
		fmt.Sprintf("demo          %d statements (0 new, %d already logged)", n, n),
	} {
		s := startServe(t, data, "--demo")
		for deadline := time.Now().Add(30 * time.Second); !strings.Contains(s.stdout.String(), "final lot") && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if out := s.stdout.String(); !strings.Contains(out, want) || !strings.Contains(out, "/v1/lots/"+demo.FinalLot()+"/score") {
			t.Errorf("start %d: output lacks %q and the final lot's URL:\n%s", i+1, want, out)
		}
		if err := s.stop(); err != nil {
			t.Fatalf("serve: %v\n%s", err, s.stderr)
		}
	}
	out, errOut, err := runTally(t, "verify", "--data", filepath.Join(data, "ledger"))
	if err != nil {
		t.Fatalf("verify after loading the demo twice: %v\n%s\n%s", err, out, errOut)
	}
	l, err := ledger.Open(filepath.Join(data, "ledger"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.Head().Size; got != uint64(n) {
		t.Errorf("ledger holds %d entries, want the demo's %d", got, n)
	}
}
