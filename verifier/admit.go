package verifier

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// Candidate is one envelope offered to admission: an envelope as read by
// schemas.DecodeEnvelope, and the time the log received it (the JetStream
// message timestamp, so every replica judges it at the same time).
type Candidate struct {
	Envelope   schemas.Envelope
	ReceivedAt time.Time

	// Known, optional, is what a caller that has decoded the envelope
	// already worked out from it, so that admission does not do it again.
	Known *Known

	// Prepared, optional, is Prepare's result for this same candidate,
	// done ahead (for a batch to come, while the current one commits).
	Prepared *Prepared
}

// Known is what is known of a candidate's envelope. Every field must be
// of the Candidate's own Envelope: set it only from that (events.Decode
// does).
type Known struct {
	Body      []byte   // the decoded payload: Envelope.Body()
	Digest    [32]byte // Envelope.Digest()
	Canonical []byte   // Envelope.Canonical()
	// Raw are the bytes schemas.DecodeEnvelope accepted and decoded the
	// Envelope from. When they equal Canonical, the check that the
	// canonical form decodes again is known to pass.
	Raw []byte
}

// Status is what admission decided about a candidate.
type Status int

const (
	// Rejected: the envelope breaks a rule; Problems and EnvelopeProblems
	// say which.
	Rejected Status = iota
	// Admitted: the envelope may be appended; Entry is what to append.
	Admitted
	// Duplicate: the envelope's digest is already on the ledger, or is
	// that of a candidate admitted earlier in the same batch; it is
	// answered with the original's receipt and never appended twice.
	Duplicate
)

func (s Status) String() string {
	switch s {
	case Rejected:
		return "rejected"
	case Admitted:
		return "admitted"
	case Duplicate:
		return "duplicate"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Verdict is admission's answer for one candidate.
type Verdict struct {
	Status Status
	// Digest is the envelope's identity (schemas.Envelope.Digest); zero
	// only when the payload is not base64.
	Digest [32]byte
	// Kind is the event kind named by the payload type, when it is one.
	Kind string
	// Event is the decoded event, when it decoded and validated.
	Event schemas.Event
	// Entry is what to append for an admitted envelope: digest,
	// received_at, the canonical envelope and its index keys (EventIndex,
	// exactly the keys the audit expects).
	Entry ledger.Entry
	// Seq is, for Admitted, the sequence number the entry gets when the
	// staged batch is appended; for Duplicate, the original's (on the
	// ledger, or staged earlier in the batch).
	Seq uint64
	// DuplicateOf is, for a Duplicate of a candidate admitted earlier in
	// the same batch, that candidate's index; -1 otherwise. (A repeat of a
	// rejected candidate is judged again, on its own, like any other.)
	DuplicateOf int
	// Problems are the rules the statement breaks, with JSON Pointers
	// into the decoded payload ("/inputs/0/quantity", "/buyer").
	Problems []schemas.Problem
	// EnvelopeProblems are the rules the envelope breaks, with JSON
	// Pointers into the envelope ("/signatures/0/sig", "/payloadType").
	EnvelopeProblems []schemas.Problem
}

// Admitter admits batches of candidates against a log and its state. It
// is used by one goroutine (the ingest loop); the state it commits to may
// be read concurrently.
//
// The cycle of one batch is:
//
//	vs, err := a.AdmitBatch(ctx, cands)   // verify in parallel, judge in order, stage
//	appended, _, err := log.Append(ctx, verifier.Entries(vs))
//	if err != nil { a.Discard() } else { err = a.Commit(appended) }
//
// The staged changes reach the state only after the ledger has durably
// appended the entries, so the state never holds what the log does not.
type Admitter struct {
	log   *ledger.Log
	state *MemState

	staged     *overlay
	stagedSeqs []uint64 // the seqs the staged entries expect, in order

	// verify checks signatures in a batch; schemas.VerifyBatch except in
	// benchmarks that measure admission without it.
	verify func([]schemas.VerifyItem) []bool
}

// NewAdmitter returns an Admitter for log l whose state is st (LoadState
// of l, usually). l is used for deduplication (ledger.Lookup) and to catch
// the state up when the log is ahead of it. A nil l judges against st
// alone, with no deduplication beyond the batch.
func NewAdmitter(l *ledger.Log, st *MemState) *Admitter {
	return &Admitter{log: l, state: st, verify: schemas.VerifyBatch}
}

// State returns the committed state.
func (a *Admitter) State() *MemState { return a.state }

// AdmitBatch judges items in order, each as if the ones admitted before it
// in the batch were already in the log, and stages the changes the
// admitted ones make to the state (Commit applies them, Discard drops
// them; a new AdmitBatch drops a batch left staged).
//
// Work that does not depend on the state runs first, in parallel on every
// core: decoding, validation, deduplication lookups, and the verification
// of every signature. The ordered pass that follows only decides which
// keys were current and checks references.
//
// Verdicts depend only on the state, the envelopes and their received_at.
// An error reports a failure to read the ledger or a bad candidate, never
// a bad envelope.
func (a *Admitter) AdmitBatch(ctx context.Context, items []Candidate) ([]Verdict, error) {
	a.Discard()
	for i, c := range items {
		if c.ReceivedAt.IsZero() {
			return nil, fmt.Errorf("%w: candidate %d has no received_at", ErrCandidate, i)
		}
	}
	if err := a.catchUp(ctx); err != nil {
		return nil, err
	}

	// State-independent work, in parallel.
	ps := make([]*prepared, len(items))
	onLedger := make([]uint64, len(items))
	logged := make([]bool, len(items))
	lookupErr := make([]error, len(items))
	parallel(len(items), func(i int) {
		p := items[i].Prepared.take(items[i])
		ps[i] = p
		if a.log != nil && p.hasDigest {
			onLedger[i], logged[i], lookupErr[i] = a.log.Lookup(p.digest)
		}
	})
	if err := errors.Join(lookupErr...); err != nil {
		return nil, fmt.Errorf("verifier: dedupe lookup: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Only the first copy of a statement in the batch is verified up
	// front; a later copy is answered by the first if that one is admitted
	// (the common case: a redelivery), and judged on its own otherwise.
	vs := make([]Verdict, len(items))
	firstCopy := make(map[[32]byte]bool, len(items))
	toVerify := make([]*prepared, len(items))
	for i, p := range ps {
		vs[i] = Verdict{Digest: p.digest, Kind: p.kind, DuplicateOf: -1}
		if logged[i] {
			vs[i].Status, vs[i].Seq, vs[i].Event = Duplicate, onLedger[i], p.ev
			continue
		}
		if p.hasDigest && !firstCopy[p.digest] {
			firstCopy[p.digest] = true
			toVerify[i] = p
		}
	}

	// Every signature, in parallel. A key registered earlier in the batch
	// is not in the state yet: look it up among the keys the batch
	// introduces. Key ids are hashes of the keys, so any source of a key
	// id's key is as good as another.
	batchKeys := map[string]ed25519.PublicKey{}
	for _, p := range toVerify {
		if p != nil {
			for id, pub := range p.introduced {
				batchKeys[id] = pub
			}
		}
	}
	keyOf := func(id string) (ed25519.PublicKey, bool) {
		if k, ok := a.state.Key(id); ok {
			return k.Public, true
		}
		pub, ok := batchKeys[id]
		return pub, ok
	}
	verifySignatures(toVerify, keyOf, a.verify)

	// The ordered pass: judge against the state plus what the batch has
	// admitted so far. A statement is judged exactly as it would be in a
	// batch of its own after the earlier ones, so verdicts never depend on
	// where batch boundaries fall (replicas batch differently).
	ov := newOverlay(a.state)
	var seqs []uint64
	admittedAt := make(map[[32]byte]int, len(items))
	for i := range vs {
		v := &vs[i]
		if v.Status == Duplicate {
			continue
		}
		p := ps[i]
		if j, dup := admittedAt[p.digest]; dup && p.hasDigest {
			v.Status, v.Seq, v.DuplicateOf, v.Event = Duplicate, vs[j].Seq, j, vs[j].Event
			continue
		}
		if toVerify[i] == nil && p.hasDigest {
			// A later copy of a statement whose first copy was rejected:
			// a rare case, verified here on its own.
			verifySignatures([]*prepared{p}, keyOf, a.verify)
		}
		judgeInto(v, ov, p)
		if v.Status == Admitted {
			v.Seq = ov.Size()
			apply(ov, p.c.ReceivedAt, p.digest, p.ev)
			seqs = append(seqs, v.Seq)
			admittedAt[p.digest] = i
		}
	}
	if len(seqs) > 0 {
		a.staged, a.stagedSeqs = ov, seqs
	}
	return vs, nil
}

// judgeInto fills v with the verdict on p against view.
func judgeInto(v *Verdict, view State, p *prepared) {
	v.Event = p.ev
	if p.rejected() || p.ev == nil {
		v.Status = Rejected
		v.Problems = sortedProblems(p.problems)
		v.EnvelopeProblems = sortedProblems(p.envProblems)
		return
	}
	j := &judgement{view: view, p: p, at: p.c.ReceivedAt}
	j.judge()
	if len(j.problems) > 0 || len(j.envProblems) > 0 {
		v.Status = Rejected
		v.Problems = sortedProblems(j.problems)
		v.EnvelopeProblems = sortedProblems(j.envProblems)
		return
	}
	v.Status = Admitted
	v.Entry = ledger.Entry{Digest: p.digest, ReceivedAt: p.c.ReceivedAt, Envelope: p.canonical, Index: p.index}
}

// Entries returns the entries of the admitted verdicts, in order: what to
// append for a batch.
func Entries(vs []Verdict) []ledger.Entry {
	var es []ledger.Entry
	for _, v := range vs {
		if v.Status == Admitted {
			es = append(es, v.Entry)
		}
	}
	return es
}

// Commit applies the staged batch to the state, once the ledger has
// appended its entries (Entries of the last AdmitBatch) with results
// appended. If the ledger did not put them where the state expected them
// (another writer appended in between), the staged batch is dropped, the
// state is caught up from the log, and the error wraps ErrDiverged.
func (a *Admitter) Commit(appended []ledger.Appended) error {
	if a.staged == nil {
		if len(appended) == 0 {
			return nil
		}
		return fmt.Errorf("%w: %d entries appended", ErrNotStaged, len(appended))
	}
	ov, seqs := a.staged, a.stagedSeqs
	a.staged, a.stagedSeqs = nil, nil
	match := len(appended) == len(seqs) && ov.base.Size() == seqs[0]
	for i := 0; match && i < len(appended); i++ {
		match = !appended[i].Duplicate && appended[i].Seq == seqs[i]
	}
	if !match {
		if a.log == nil {
			return fmt.Errorf("%w: staged %d entries from seq %d, appended %d", ErrDiverged, len(seqs), seqs[0], len(appended))
		}
		if err := a.state.CatchUp(context.Background(), a.log); err != nil {
			return fmt.Errorf("%w: staged entries not appended as expected; catching up: %w", ErrDiverged, err)
		}
		return fmt.Errorf("%w: staged entries not appended as expected; state caught up from the log", ErrDiverged)
	}
	ov.commitTo(a.state)
	return nil
}

// Discard drops the staged batch: the ledger did not append it.
func (a *Admitter) Discard() {
	a.staged, a.stagedSeqs = nil, nil
}

// catchUp replays records the log holds but the state does not (appended
// by an Append whose result was lost, or by another writer), so admission
// never judges against a stale state.
func (a *Admitter) catchUp(ctx context.Context) error {
	if a.log == nil {
		return nil
	}
	switch head, size := a.log.Head().Size, a.state.Size(); {
	case head == size:
		return nil
	case head < size:
		return fmt.Errorf("%w: the state reflects %d records, the log holds %d", ErrDiverged, size, head)
	}
	return a.state.CatchUp(ctx, a.log)
}

// Admit judges one candidate against st: the admission rules in their
// plainest form, with signatures verified one by one, no deduplication and
// no change to st. AdmitBatch reaches the same verdict for a candidate
// that is not a duplicate, given the same state.
func Admit(st State, c Candidate) Verdict {
	if c.ReceivedAt.IsZero() {
		return Verdict{Status: Rejected, DuplicateOf: -1, EnvelopeProblems: []schemas.Problem{{Path: "", Rule: "received_at", Message: "the candidate has no received_at"}}}
	}
	p := prepare(c)
	verifySignatures([]*prepared{p}, func(id string) (ed25519.PublicKey, bool) {
		k, ok := st.Key(id)
		return k.Public, ok
	}, func(items []schemas.VerifyItem) []bool {
		ok := make([]bool, len(items))
		for i, it := range items {
			ok[i] = schemas.VerifySignature(it.PublicKey, it.Message, it.Signature)
		}
		return ok
	})
	v := Verdict{Digest: p.digest, Kind: p.kind, DuplicateOf: -1}
	judgeInto(&v, st, p)
	if v.Status == Admitted {
		v.Seq = st.Size()
	}
	return v
}

// sortedProblems orders problems by path (array indices as numbers, so
// they follow the payload), then rule; nil stays nil.
func sortedProblems(ps []schemas.Problem) []schemas.Problem {
	if len(ps) == 0 {
		return nil
	}
	slices.SortStableFunc(ps, func(a, b schemas.Problem) int {
		if c := comparePointers(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	return ps
}

func comparePointers(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		ai, aerr := strconv.Atoi(as[i])
		bi, berr := strconv.Atoi(bs[i])
		if aerr == nil && berr == nil {
			return ai - bi
		}
		return strings.Compare(as[i], bs[i])
	}
	return len(as) - len(bs)
}
