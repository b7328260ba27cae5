package verifier_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/verifier"
)

// testKey is the deterministic key named name: anyone can derive it, so it
// signs tests only.
func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("tally admission test key/" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func testPub(name string) ed25519.PublicKey { return testKey(name).Public().(ed25519.PublicKey) }

// signEnvelope makes an envelope of payloadType around body, signed by the
// named keys in order.
func signEnvelope(t testing.TB, payloadType string, body []byte, signers ...string) schemas.Envelope {
	t.Helper()
	env := schemas.Envelope{Payload: base64.StdEncoding.EncodeToString(body), PayloadType: payloadType}
	for _, s := range signers {
		if err := env.Sign(testKey(s)); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// signEvent makes a signed envelope of a typed event.
func signEvent(t testing.TB, ev schemas.Event, signers ...string) schemas.Envelope {
	t.Helper()
	body, err := schemas.Canonicalize(ev)
	if err != nil {
		t.Fatal(err)
	}
	return signEnvelope(t, schemas.PayloadType(ev.Kind()), body, signers...)
}

// corruptSig flips one bit of signature i.
func corruptSig(t testing.TB, env *schemas.Envelope, i int) {
	t.Helper()
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[i].Sig)
	if err != nil {
		t.Fatal(err)
	}
	sig[7] ^= 0x10
	env.Signatures[i].Sig = base64.StdEncoding.EncodeToString(sig)
}

func digestHex(t testing.TB, env schemas.Envelope) string {
	t.Helper()
	d, err := env.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(d[:])
}

// admitLog is a ledger with admission in front of it: the ingest cycle
// without NATS.
type admitLog struct {
	fs  vfs.FS
	dir string
	log *ledger.Log
	adm *verifier.Admitter
}

func newAdmitLog(t testing.TB) *admitLog {
	t.Helper()
	a := &admitLog{fs: vfs.NewMem(), dir: "log"}
	a.open(t)
	return a
}

func (a *admitLog) open(t testing.TB) {
	t.Helper()
	l, err := ledger.Open(a.dir, ledger.Options{FS: a.fs, Logger: quiet, CacheSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	st, err := verifier.LoadState(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	a.log, a.adm = l, verifier.NewAdmitter(l, st)
	t.Cleanup(func() { _ = l.Close() })
}

// restart closes the ledger, opens it again and rebuilds the state from
// the records alone.
func (a *admitLog) restart(t testing.TB) {
	t.Helper()
	if err := a.log.Close(); err != nil {
		t.Fatal(err)
	}
	a.open(t)
}

// submit runs one batch through admission, appends what was admitted and
// commits the staged state.
func (a *admitLog) submit(t testing.TB, cands ...verifier.Candidate) []verifier.Verdict {
	t.Helper()
	ctx := context.Background()
	vs, err := a.adm.AdmitBatch(ctx, cands)
	if err != nil {
		t.Fatal(err)
	}
	entries := verifier.Entries(vs)
	if len(entries) == 0 {
		return vs
	}
	appended, _, err := a.log.Append(ctx, entries)
	if err != nil {
		a.adm.Discard()
		t.Fatal(err)
	}
	if err := a.adm.Commit(appended); err != nil {
		t.Fatal(err)
	}
	return vs
}

// problemRef is a problem without its message: what the golden files pin.
type problemRef struct {
	Path string `json:"path"`
	Rule string `json:"rule"`
}

func refs(ps []schemas.Problem) []problemRef {
	var out []problemRef
	for _, p := range ps {
		out = append(out, problemRef{p.Path, p.Rule})
	}
	return out
}

// ---- the golden specification's format (testdata/admit/*.json) ----

type specWorld struct {
	Description string                     `json:"description"`
	Start       time.Time                  `json:"start"`
	Bases       map[string]json.RawMessage `json:"bases"`
	Steps       []specStep                 `json:"steps"`
}

type specFile struct {
	Description string     `json:"description"`
	Cases       []specCase `json:"cases"`
}

type specCase struct {
	Name         string       `json:"name"`
	Rule         string       `json:"rule"`
	Steps        []specStep   `json:"steps"`
	Submit       specStep     `json:"submit"`
	Status       string       `json:"status"`
	Want         []problemRef `json:"want"`
	WantEnvelope []problemRef `json:"want_envelope"`
}

type specStep struct {
	Name        string          `json:"name"`
	Kind        string          `json:"kind"`
	PayloadType string          `json:"payload_type"`
	Base        string          `json:"base"`
	Payload     json.RawMessage `json:"payload"`
	Sign        []string        `json:"sign"`
	Corrupt     []int           `json:"corrupt"`
	At          *time.Time      `json:"at"`
	Resubmit    string          `json:"resubmit"`
	Raw         bool            `json:"raw"`
}

// specBuilder turns steps into candidates, remembering named steps'
// envelopes for {{digest NAME}} and resubmissions.
type specBuilder struct {
	t     testing.TB
	world *specWorld
	named map[string]schemas.Envelope
	next  time.Time
	known bool // hand candidates over with Known, as the ingest path does
	// prepared: and with Prepared, as the ingest loop does when it
	// prepares a batch ahead.
	prepared bool
	spaced   bool // the last one was submitted with a leading space
}

func newSpecBuilder(t testing.TB, w *specWorld) *specBuilder {
	return &specBuilder{t: t, world: w, named: map[string]schemas.Envelope{}, next: w.Start}
}

var templateRE = regexp.MustCompile(`\{\{(key|keyid|digest) ([^}]+)\}\}`)

func (b *specBuilder) expand(v any) any {
	switch x := v.(type) {
	case string:
		return templateRE.ReplaceAllStringFunc(x, func(m string) string {
			sub := templateRE.FindStringSubmatch(m)
			switch sub[1] {
			case "key":
				return schemas.EncodePublicKey(testPub(sub[2]))
			case "keyid":
				return schemas.KeyID(testPub(sub[2]))
			default:
				env, ok := b.named[sub[2]]
				if !ok {
					b.t.Fatalf("{{digest %s}}: no step of that name before", sub[2])
				}
				return digestHex(b.t, env)
			}
		})
	case map[string]any:
		for k, e := range x {
			x[k] = b.expand(e)
		}
	case []any:
		for i, e := range x {
			x[i] = b.expand(e)
		}
	}
	return v
}

// mergePatch applies an RFC 7386 JSON merge patch.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

func (b *specBuilder) candidate(s specStep) verifier.Candidate {
	b.t.Helper()
	c := b.candidateOf(s)
	if b.known {
		// Every other candidate as submitted in a form that is not the
		// canonical one (a leading space), which admission checks again.
		b.spaced = !b.spaced
		c = withKnown(c, b.spaced)
	}
	if b.prepared {
		c.Prepared = verifier.Prepare(c)
	}
	return c
}

// withKnown returns c as the ingest path hands it over: decoded from the
// bytes submitted (its canonical bytes, with a leading space if spaced),
// with what that decoding learnt in Known. An envelope the ingest path
// would have refused before admission is left as it is.
func withKnown(c verifier.Candidate, spaced bool) verifier.Candidate {
	raw, err := c.Envelope.Canonical()
	if err != nil {
		return c
	}
	if spaced {
		raw = append([]byte(" "), raw...)
	}
	env, err := schemas.DecodeEnvelope(raw)
	if err != nil {
		return c
	}
	body, err := env.Body()
	if err != nil {
		return c
	}
	digest, err := env.Digest()
	if err != nil {
		return c
	}
	canon, err := env.Canonical()
	if err != nil {
		return c
	}
	c.Envelope = env
	c.Known = &verifier.Known{Body: body, Digest: digest, Canonical: canon, Raw: raw}
	return c
}

func (b *specBuilder) candidateOf(s specStep) verifier.Candidate {
	t := b.t
	t.Helper()
	at := b.next
	if s.At != nil {
		at = *s.At
	}
	b.next = at.Add(time.Minute)
	if s.Resubmit != "" {
		env, ok := b.named[s.Resubmit]
		if !ok {
			t.Fatalf("resubmit %q: no step of that name", s.Resubmit)
		}
		return verifier.Candidate{Envelope: env, ReceivedAt: at}
	}
	var doc any = map[string]any{}
	if s.Base != "" {
		base, ok := b.world.Bases[s.Base]
		if !ok {
			t.Fatalf("no base %q", s.Base)
		}
		if err := json.Unmarshal(base, &doc); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.Payload) > 0 {
		var patch any
		if err := json.Unmarshal(s.Payload, &patch); err != nil {
			t.Fatal(err)
		}
		doc = mergePatch(doc, patch)
	}
	doc = b.expand(doc)
	var body []byte
	var err error
	if s.Raw {
		body, err = json.MarshalIndent(doc, "", "  ")
	} else {
		body, err = schemas.Canonicalize(doc)
	}
	if err != nil {
		t.Fatal(err)
	}
	pt := s.PayloadType
	if pt == "" {
		pt = schemas.PayloadType(s.Kind)
	}
	env := signEnvelope(t, pt, body, s.Sign...)
	for _, i := range s.Corrupt {
		corruptSig(t, &env, i)
	}
	if s.Name != "" {
		b.named[s.Name] = env
	}
	return verifier.Candidate{Envelope: env, ReceivedAt: at}
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func verdictString(v verifier.Verdict) string {
	return fmt.Sprintf("%s seq=%d dupOf=%d problems=%v envelope=%v", v.Status, v.Seq, v.DuplicateOf, v.Problems, v.EnvelopeProblems)
}
