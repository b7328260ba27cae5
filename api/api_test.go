package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tally-ledger/tally/api"
	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/internal/provenance"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/schemas"
)

func testLogger() *slog.Logger {
	if os.Getenv("TALLY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// stack is the whole write and read path in one process: embedded NATS,
// a ledger, the ingest loop and the API.
type stack struct {
	emb *events.Embedded
	nc  *nats.Conn
	l   *ledger.Log
	srv *api.Server
	ts  *httptest.Server
	key *client.Key
}

func newStack(t *testing.T, admit events.Admitter) *stack {
	t.Helper()
	s, _ := startStack(t, stackOptions{processor: func(l *ledger.Log) (events.Processor, error) {
		return &events.LedgerProcessor{Log: l, Admission: admit}, nil
	}})
	return s
}

// stackOptions say how startStack builds its stack.
type stackOptions struct {
	// onDisk puts the ledger in a temporary directory instead of memory.
	onDisk bool
	// processor is the ingest loop's processor over the ledger.
	processor func(l *ledger.Log) (events.Processor, error)
	// provenance serves the score and provenance routes.
	provenance bool
}

// startStack starts an embedded NATS server, a ledger, the ingest loop and
// the API over them, and waits until the loop consumes.
func startStack(t *testing.T, o stackOptions) (*stack, *provenance.Reader) {
	t.Helper()
	log := testLogger()
	emb, err := events.StartEmbedded(events.EmbeddedOptions{Dir: t.TempDir(), Port: -1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	nc, err := events.Connect(events.ConnectOptions{URL: emb.ClientURL(), Logger: log, ReconnectWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	dir, opts := "ledger", ledger.Options{FS: vfs.NewMem(), Logger: log, Origin: "tally.test/log"}
	if o.onDisk {
		dir, opts.FS = t.TempDir(), nil
	}
	l, err := ledger.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	proc, err := o.processor(l)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	ing, err := events.NewIngester(nc, proc, events.IngestOptions{
		Logger: log, Metrics: events.NewMetrics(reg), PullExpiry: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ing.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	var r *provenance.Reader
	if o.provenance {
		set, err := reference.Bundled()
		if err != nil {
			t.Fatal(err)
		}
		r = provenance.New(l, set)
	}
	srv := api.New(api.Deps{
		Log: l, Publisher: &client.NATS{Conn: nc, PollInterval: 200 * time.Millisecond},
		Logger: log, Registry: reg, SubmitTimeout: 10 * time.Second, Provenance: r,
		Ready: []api.ReadyCheck{
			{Name: "nats", Check: func(context.Context) error {
				if !nc.IsConnected() {
					return fmt.Errorf("disconnected")
				}
				return nil
			}},
		},
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	key, err := client.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !ing.Running() {
		if time.Now().After(deadline) {
			t.Fatal("ingest did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &stack{emb: emb, nc: nc, l: l, srv: srv, ts: ts, key: key}, r
}

// party is a signed party.registered statement; id is its party id.
func (s *stack) party(t *testing.T, id string) (schemas.Envelope, []byte) {
	t.Helper()
	p, _ := json.Marshal(schemas.PartyRegistered{ID: id, Name: "Coop " + id, Role: "miner", Country: "BO", OrgForm: "worker_cooperative", Keys: []string{s.key.PublicKeyString()}})
	env, err := client.Sign(schemas.KindPartyRegistered, p, s.key)
	if err != nil {
		t.Fatal(err)
	}
	canon, _ := env.Canonical()
	return env, canon
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (s *stack) do(t *testing.T, method, path string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer %d %q: %v", a.status, a.body, err)
	}
	return v
}

func TestSubmitAndRead(t *testing.T) {
	s := newStack(t, nil)
	var canons [][]byte
	var receipts []client.Receipt
	for i := range 3 {
		_, canon := s.party(t, fmt.Sprintf("coop-%d", i))
		a := s.do(t, http.MethodPost, "/v1/submissions", canon)
		if a.status != http.StatusCreated {
			t.Fatalf("POST %d: %d %s", i, a.status, a.body)
		}
		r := decode[client.Receipt](t, a)
		if err := client.VerifyReceipt(&r, s.l.VerifierKey(), canon); err != nil {
			t.Fatalf("receipt %d: %v", i, err)
		}
		if loc := a.header.Get("Location"); loc != fmt.Sprintf("/v1/entries/%d", r.Seq) {
			t.Errorf("Location %q", loc)
		}
		canons = append(canons, canon)
		receipts = append(receipts, r)
	}

	t.Run("repeated submission", func(t *testing.T) {
		a := s.do(t, http.MethodPost, "/v1/submissions", canons[1])
		if a.status != http.StatusOK {
			t.Fatalf("POST again: %d %s", a.status, a.body)
		}
		r := decode[client.Receipt](t, a)
		if !r.Duplicate || r.Seq != receipts[1].Seq || r.EntryHash != receipts[1].EntryHash {
			t.Errorf("got seq %d dup %v, want the original seq %d", r.Seq, r.Duplicate, receipts[1].Seq)
		}
		if s.l.Head().Size != 3 {
			t.Errorf("log size %d, want 3", s.l.Head().Size)
		}
	})

	t.Run("entry", func(t *testing.T) {
		a := s.do(t, http.MethodGet, "/v1/entries/1", nil)
		if a.status != http.StatusOK {
			t.Fatalf("%d %s", a.status, a.body)
		}
		e := decode[api.Entry](t, a)
		want := api.Entry{
			Seq: 1, ReceivedAt: receipts[1].ReceivedAt, Digest: receipts[1].Digest, Kind: schemas.KindPartyRegistered,
			EntryHash: receipts[1].EntryHash, ChainHash: receipts[1].ChainHash, Envelope: canons[1],
		}
		var env schemas.Envelope
		_ = json.Unmarshal(canons[1], &env)
		want.Payload, _ = env.Body()
		if diff := cmp.Diff(want, e); diff != "" {
			t.Errorf("entry (-want +got):\n%s", diff)
		}
	})

	t.Run("pages", func(t *testing.T) {
		page := decode[api.EntryPage](t, s.do(t, http.MethodGet, "/v1/entries?limit=2", nil))
		if len(page.Entries) != 2 || page.Next != "/v1/entries?from=2&limit=2" || page.Size != 3 {
			t.Fatalf("first page: %d entries, next %q, size %d", len(page.Entries), page.Next, page.Size)
		}
		page = decode[api.EntryPage](t, s.do(t, http.MethodGet, page.Next, nil))
		if len(page.Entries) != 1 || page.Entries[0].Seq != 2 || page.Next != "" {
			t.Errorf("last page: %d entries, next %q", len(page.Entries), page.Next)
		}
	})

	t.Run("checkpoint", func(t *testing.T) {
		a := s.do(t, http.MethodGet, "/v1/checkpoint", nil)
		if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
			t.Fatalf("%d %s %s", a.status, a.header.Get("Content-Type"), a.body)
		}
		cp, err := client.OpenCheckpoint(a.body, s.l.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		if cp.Size != 3 || cp.Origin != "tally.test/log" {
			t.Errorf("checkpoint size %d origin %s", cp.Size, cp.Origin)
		}
	})

	t.Run("inclusion proof", func(t *testing.T) {
		p := decode[api.InclusionProof](t, s.do(t, http.MethodGet, "/v1/proofs/inclusion?seq=1&size=3", nil))
		if err := tlog.CheckRecord(hashes(t, p.Hashes), int64(p.Size), hash(t, p.Root), int64(p.Seq), hash(t, p.Leaf)); err != nil {
			t.Errorf("inclusion proof: %v", err)
		}
		if p.Checkpoint == "" {
			t.Errorf("no checkpoint with the proof")
		}
		def := decode[api.InclusionProof](t, s.do(t, http.MethodGet, "/v1/proofs/inclusion?seq=0", nil))
		if def.Size != 3 {
			t.Errorf("default size %d, want the log's 3", def.Size)
		}
	})

	t.Run("consistency proof", func(t *testing.T) {
		p := decode[api.ConsistencyProof](t, s.do(t, http.MethodGet, "/v1/proofs/consistency?from=1&to=3", nil))
		if err := tlog.CheckTree(hashes(t, p.Hashes), int64(p.To), hash(t, p.Root), int64(p.From), hash(t, p.RootFrom)); err != nil {
			t.Errorf("consistency proof: %v", err)
		}
	})

	t.Run("operations", func(t *testing.T) {
		if a := s.do(t, http.MethodGet, "/healthz", nil); a.status != http.StatusOK {
			t.Errorf("healthz %d", a.status)
		}
		if a := s.do(t, http.MethodGet, "/readyz", nil); a.status != http.StatusOK {
			t.Errorf("readyz %d %s", a.status, a.body)
		}
		a := s.do(t, http.MethodGet, "/metrics", nil)
		if a.status != http.StatusOK || !bytes.Contains(a.body, []byte(`tally_ingest_submissions_total{result="committed"} 3`)) {
			t.Errorf("metrics %d lack the committed count:\n%s", a.status, a.body)
		}
		if a.header.Get("X-Request-Id") == "" {
			t.Errorf("no X-Request-Id")
		}
	})
}

func hash(t *testing.T, s string) tlog.Hash {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		t.Fatalf("hash %q", s)
	}
	return tlog.Hash(b)
}

func hashes(t *testing.T, ss []string) []tlog.Hash {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		out[i] = hash(t, s)
	}
	return out
}

func TestErrorAnswers(t *testing.T) {
	banned := events.AdmitterFunc(func(_ context.Context, b []events.Candidate) ([][]events.Reason, error) {
		out := make([][]events.Reason, len(b))
		for i, c := range b {
			if bytes.Contains(c.Payload, []byte(`"id":"banned"`)) {
				out[i] = []events.Reason{{Path: "/payload/id", Rule: "banned", Message: "party banned"}}
			}
		}
		return out, nil
	})
	s := newStack(t, banned)
	_, good := s.party(t, "coop-1")
	if a := s.do(t, http.MethodPost, "/v1/submissions", good); a.status != http.StatusCreated {
		t.Fatalf("setup: %d %s", a.status, a.body)
	}
	_, bannedEnv := s.party(t, "banned")
	var env map[string]any
	_ = json.Unmarshal(good, &env)
	env["payloadType"] = "text/plain"
	badType, _ := json.Marshal(env)

	cases := []struct {
		name    string
		method  string
		path    string
		body    []byte
		status  int
		typ     string
		errors  []api.FieldError // path, in, rule
		retry   bool
		withDig bool
	}{
		{"not JSON", "POST", "/v1/submissions", []byte("{nope"), 400, api.TypeBadRequest, []api.FieldError{{Path: "", In: "body", Rule: "json"}}, false, false},
		{"empty body", "POST", "/v1/submissions", []byte(""), 400, api.TypeBadRequest, []api.FieldError{{Path: "", In: "body", Rule: "json"}}, false, false},
		{"not an object", "POST", "/v1/submissions", []byte(`[1]`), 400, api.TypeBadRequest, []api.FieldError{{Path: "", In: "body", Rule: "json"}}, false, false},
		{"too large", "POST", "/v1/submissions", bytes.Repeat([]byte(" "), api.MaxBodyBytes+1), 413, api.TypeTooLarge, []api.FieldError{{Path: "", In: "body", Rule: "max_size"}}, false, false},
		{"bad payload type", "POST", "/v1/submissions", badType, 422, api.TypeRejected, []api.FieldError{{Path: "/payloadType", In: "body", Rule: "payload_type"}}, false, false},
		{"not admitted", "POST", "/v1/submissions", bannedEnv, 422, api.TypeRejected, []api.FieldError{{Path: "/payload/id", In: "body", Rule: "banned"}}, false, true},
		{"seq not a number", "GET", "/v1/entries/abc", nil, 400, api.TypeBadRequest, []api.FieldError{{Path: "seq", In: "path", Rule: "uint"}}, false, false},
		{"no such entry", "GET", "/v1/entries/7", nil, 404, api.TypeNotFound, nil, false, false},
		{"limit zero", "GET", "/v1/entries?limit=0", nil, 400, api.TypeBadRequest, []api.FieldError{{Path: "limit", In: "query", Rule: "range"}}, false, false},
		{"from negative", "GET", "/v1/entries?from=-1", nil, 400, api.TypeBadRequest, []api.FieldError{{Path: "from", In: "query", Rule: "uint"}}, false, false},
		{"seq missing", "GET", "/v1/proofs/inclusion", nil, 400, api.TypeBadRequest, []api.FieldError{{Path: "seq", In: "query", Rule: "required"}}, false, false},
		{"seq beyond size", "GET", "/v1/proofs/inclusion?seq=1&size=1", nil, 400, api.TypeBadRequest, []api.FieldError{{Path: "seq", In: "query", Rule: "range"}}, false, false},
		{"size beyond log", "GET", "/v1/proofs/inclusion?seq=0&size=9", nil, 400, api.TypeBadRequest, []api.FieldError{{Path: "size", In: "query", Rule: "range"}}, false, false},
		{"from zero", "GET", "/v1/proofs/consistency?from=0&to=1", nil, 400, api.TypeBadRequest, []api.FieldError{{Path: "from", In: "query", Rule: "range"}}, false, false},
		{"no route", "GET", "/v1/nothing", nil, 404, api.TypeNotFound, nil, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := s.do(t, c.method, c.path, c.body)
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.body)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			p := decode[api.Problem](t, a)
			if p.Type != c.typ || p.Status != c.status || p.Title == "" || p.Detail == "" {
				t.Errorf("problem %+v", p)
			}
			var got []api.FieldError
			for _, e := range p.Errors {
				if e.Message == "" {
					t.Errorf("error %s without a message", e.Path)
				}
				got = append(got, api.FieldError{Path: e.Path, In: e.In, Rule: e.Rule})
			}
			if diff := cmp.Diff(c.errors, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if c.withDig && len(p.Digest) != 64 {
				t.Errorf("no digest in %+v", p)
			}
		})
	}
}

func TestUnavailableWithoutNATS(t *testing.T) {
	s := newStack(t, nil)
	_, canon := s.party(t, "coop-1")
	s.emb.Shutdown()
	deadline := time.Now().Add(5 * time.Second)
	for s.nc.IsConnected() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	a := s.do(t, http.MethodPost, "/v1/submissions", canon)
	if a.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", a.status, a.body)
	}
	if a.header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After")
	}
	if p := decode[api.Problem](t, a); p.Type != api.TypeUnavailable {
		t.Errorf("type %s", p.Type)
	}
	if a := s.do(t, http.MethodGet, "/readyz", nil); a.status != http.StatusServiceUnavailable || !bytes.Contains(a.body, []byte("nats")) {
		t.Errorf("readyz %d %s", a.status, a.body)
	}
	if a := s.do(t, http.MethodGet, "/healthz", nil); a.status != http.StatusOK {
		t.Errorf("healthz %d", a.status)
	}
}

func TestPanicIsAProblem(t *testing.T) {
	s := newStack(t, nil)
	s.srv.Echo().GET("/boom", func(*echo.Context) error { panic("kaboom") })
	a := s.do(t, http.MethodGet, "/boom", nil)
	if a.status != http.StatusInternalServerError {
		t.Fatalf("status %d", a.status)
	}
	p := decode[api.Problem](t, a)
	if p.Type != api.TypeInternal || strings.Contains(string(a.body), "kaboom") {
		t.Errorf("problem %s (the panic must not leak)", a.body)
	}
	if a.header.Get("X-Request-Id") == "" {
		t.Errorf("no X-Request-Id")
	}
}

// Without an ingest loop the stream fills: the first submission is
// accepted but not answered in time, the next finds the stream full.
func TestBackpressureAnswers(t *testing.T) {
	log := testLogger()
	emb, err := events.StartEmbedded(events.EmbeddedOptions{Dir: t.TempDir(), Port: -1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	nc, err := events.Connect(events.ConnectOptions{URL: emb.ClientURL(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := events.SetupStreams(t.Context(), js, events.StreamOptions{MaxMsgs: 1}); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open("ledger", ledger.Options{FS: vfs.NewMem(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	srv := api.New(api.Deps{Log: l, Publisher: &client.NATS{Conn: nc}, Logger: log, SubmitTimeout: 300 * time.Millisecond})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	s := &stack{ts: ts, key: mustKey(t)}
	for i, want := range []string{api.TypePending, api.TypeBusy} {
		_, canon := s.party(t, fmt.Sprintf("coop-%d", i))
		a := s.do(t, http.MethodPost, "/v1/submissions", canon)
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
			t.Fatalf("submission %d: %d (Retry-After %q) %s", i, a.status, a.header.Get("Retry-After"), a.body)
		}
		if p := decode[api.Problem](t, a); p.Type != want {
			t.Errorf("submission %d: problem type %s, want %s", i, p.Type, want)
		}
	}
}

func mustKey(t *testing.T) *client.Key {
	t.Helper()
	k, err := client.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
