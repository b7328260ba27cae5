package verifier

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// prepared is a candidate with everything that does not depend on the
// state worked out: the work that runs in parallel before the ordered
// pass (decoding, validation, index keys, signature verification).
type prepared struct {
	c         Candidate
	digest    [32]byte
	hasDigest bool
	kind      string
	canonical []byte
	pae       []byte
	ev        schemas.Event // nil unless the event decoded and validated
	index     []ledger.IndexKey
	sigs      [][]byte // decoded signatures; nil where undecodable
	sigOK     []bool   // per signature: verified with the key its keyid names
	// introduced are the keys the statement itself brings (a
	// registration's keys, a rotation's new key), by key id: their
	// signatures can be checked before the key is in the state.
	introduced map[string]ed25519.PublicKey

	problems    []schemas.Problem // into the payload
	envProblems []schemas.Problem // into the envelope
}

// Prepared is the state-independent part of admitting a candidate: its
// envelope checked and its statement decoded and validated. It depends on
// nothing admission has seen, so it can be done ahead of AdmitBatch.
type Prepared struct{ p *prepared }

// Prepare does the state-independent work of admitting c. Its result
// belongs in c.Prepared; AdmitBatch then does not do that work again.
func Prepare(c Candidate) *Prepared { return &Prepared{prepare(c)} }

// take returns the prepared state for a batch: a copy of pp's (which may
// be used again when a batch is retried) with fresh signature results, or
// c prepared now.
func (pp *Prepared) take(c Candidate) *prepared {
	if pp == nil || pp.p == nil {
		return prepare(c)
	}
	p := *pp.p
	p.c = c
	p.sigOK = make([]bool, len(p.sigs))
	return &p
}

// rejected reports whether preparation already found the candidate
// inadmissible. Signature problems come later, in the ordered pass.
func (p *prepared) rejected() bool { return len(p.problems) > 0 || len(p.envProblems) > 0 }

// prepare does the state-independent work for one candidate.
func prepare(c Candidate) *prepared {
	p := &prepared{c: c}
	env := &p.c.Envelope
	var body []byte
	if k := c.Known; k != nil {
		body, p.digest, p.canonical = k.Body, k.Digest, k.Canonical
		p.pae = schemas.PAE(env.PayloadType, body)
	} else {
		var err error
		if body, err = env.Body(); err != nil {
			p.envProblems = append(p.envProblems, schemas.Problem{Path: "/payload", Rule: "base64", Message: "payload must be standard base64 with padding"})
			return p
		}
		p.pae = schemas.PAE(env.PayloadType, body)
		if p.digest, err = env.Digest(); err != nil {
			p.envProblems = append(p.envProblems, schemas.Problem{Path: "/payload", Rule: "base64", Message: err.Error()})
			return p
		}
		if p.canonical, err = env.Canonical(); err != nil {
			p.hasDigest = true
			p.envProblems = append(p.envProblems, schemas.Problem{Path: "", Rule: "json", Message: "envelope does not encode as JSON: " + err.Error()})
			return p
		}
	}
	p.hasDigest = true
	// What is stored must be what DecodeEnvelope accepts: replicas and
	// auditors read records back with it. (Known when it was decoded from
	// exactly these bytes.)
	if k := c.Known; k == nil || !bytes.Equal(k.Raw, p.canonical) {
		if _, err := schemas.DecodeEnvelope(p.canonical); err != nil {
			var ee *schemas.EnvelopeError
			if errors.As(err, &ee) {
				p.envProblems = append(p.envProblems, ee.Problems...)
			} else {
				p.envProblems = append(p.envProblems, schemas.Problem{Path: "", Rule: "envelope", Message: err.Error()})
			}
			return p
		}
	}
	kind, ok := schemas.KindOf(env.PayloadType)
	if !ok || !schemas.KnownKind(kind) {
		p.envProblems = append(p.envProblems, schemas.Problem{Path: "/payloadType", Rule: RuleKind,
			Message: fmt.Sprintf("payloadType %q names no event kind of the vocabulary (want one of %v)", env.PayloadType, schemas.Kinds())})
		return p
	}
	p.kind = kind
	p.sigs = make([][]byte, len(env.Signatures))
	p.sigOK = make([]bool, len(env.Signatures))
	for i, s := range env.Signatures {
		sig, err := base64.StdEncoding.Strict().DecodeString(s.Sig)
		if err != nil || len(sig) != ed25519.SignatureSize {
			p.envProblems = append(p.envProblems, schemas.Problem{Path: "/signatures/" + strconv.Itoa(i) + "/sig", Rule: RuleSignature,
				Message: "sig must be standard base64 of a 64-byte Ed25519 signature"})
			continue
		}
		p.sigs[i] = sig
	}
	ev, problems := schemas.DecodeEventPayload(env.PayloadType, body)
	p.problems = append(p.problems, problems...)
	if ev == nil || len(problems) > 0 {
		return p
	}
	if problems := schemas.Validate(ev); len(problems) > 0 {
		p.problems = append(p.problems, problems...)
		return p
	}
	p.ev = ev
	p.index = EventIndex(ev)
	switch e := ev.(type) {
	case *schemas.PartyRegistered:
		p.introduced = make(map[string]ed25519.PublicKey, len(e.Keys))
		for _, enc := range e.Keys {
			if pub, err := schemas.ParsePublicKey(enc); err == nil {
				p.introduced[schemas.KeyID(pub)] = pub
			}
		}
	case *schemas.PartyKeyRotated:
		if pub, err := schemas.ParsePublicKey(e.NewKey); err == nil {
			p.introduced = map[string]ed25519.PublicKey{schemas.KeyID(pub): pub}
		}
	}
	return p
}

// parallel runs fn(i) for i in [0, n) on every core.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// verifySignatures checks every decodable signature of ps whose key
// keyOf knows, in one batch verification spread over every core (see
// schemas.VerifyBatch), and records each result in sigOK. A signature is
// identified by its key id and the PAE it signs, so the ordered pass only
// has to decide whether that key was current.
func verifySignatures(ps []*prepared, keyOf func(id string) (ed25519.PublicKey, bool), verify func([]schemas.VerifyItem) []bool) {
	type ref struct{ p, s int }
	var items []schemas.VerifyItem
	var refs []ref
	for i, p := range ps {
		if p == nil || p.rejected() {
			continue
		}
		for j, sig := range p.sigs {
			if sig == nil {
				continue
			}
			id := p.c.Envelope.Signatures[j].KeyID
			pub, ok := keyOf(id)
			if !ok {
				pub, ok = p.introduced[id]
			}
			if !ok {
				continue
			}
			items = append(items, schemas.VerifyItem{PublicKey: pub, Message: p.pae, Signature: sig})
			refs = append(refs, ref{i, j})
		}
	}
	if len(items) == 0 {
		return
	}
	ok := verify(items)
	for k, r := range refs {
		ps[r.p].sigOK[r.s] = ok[k]
	}
}
