package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/verifier"
)

// AdmissionProcessor is the Processor of a ledger guarded by the domain's
// admission rules (verifier.Admitter): for each batch it
//
//  1. decodes every submission (Decode) and rejects the malformed ones;
//  2. admits the rest with verifier.Admitter.AdmitBatch: signatures
//     verified in parallel on every core, then every envelope judged in
//     stream order, each seeing the ones admitted before it;
//  3. appends the admitted entries with one ledger.Append (one fsync);
//  4. only then commits the admission state (on a failed append it is
//     discarded, so the state never holds what the log does not);
//  5. answers every submission: a receipt with an inclusion proof, the
//     original receipt for a statement already logged (Duplicate), or a
//     rejection with its reasons.
//
// Reasons point into the envelope ("/signatures/0/sig", "/payloadType") or,
// prefixed with "/payload", into the decoded payload
// ("/payload/inputs/0/quantity"): the convention of Reason.
//
// An AdmissionProcessor is used by one ingest loop at a time and must be
// the only writer of its ledger.
type AdmissionProcessor struct {
	log *ledger.Log
	adm *verifier.Admitter
	// Workers builds receipts (inclusion proofs) in parallel; 0 means
	// GOMAXPROCS.
	Workers int

	judged judgedRejections
}

// judgedRejections remembers the rejections of submissions whose batch
// was committed, by their place in the stream. A committed batch can come
// again before it was acknowledged (answering it failed, the session was
// set up again, the loop was stopped): its admitted statements are then
// found in the log, and its rejected ones must get the same answer, not be
// judged again against a state that now holds what came after them in the
// stream (they could be admitted, out of stream order). Bounded: past
// judgedMax the oldest are forgotten, far more than the batches that can be
// committed and not yet acknowledged. A restart of the process forgets
// them (see the package documentation, "Order and crashes").
type judgedRejections struct {
	m     map[streamPlace]judgedRejection
	order []streamPlace
}

const judgedMax = 1 << 16

// streamPlace is a submission's place in the stream.
type streamPlace struct {
	seq  uint64
	line int
}

type judgedRejection struct {
	sum [32]byte // SHA-256 of the submission, so that a recreated stream's
	// new message at the same sequence is not taken for the old one
	rej *Rejection
}

// lookup returns the rejection remembered for s, if any.
func (j *judgedRejections) lookup(s Submission) *Rejection {
	if s.StreamSeq == 0 || j.m == nil {
		return nil
	}
	r, ok := j.m[streamPlace{s.StreamSeq, s.BulkLine}]
	if !ok || r.sum != sha256.Sum256(s.Data) {
		return nil
	}
	return r.rej
}

// remember keeps rej as the answer to s.
func (j *judgedRejections) remember(s Submission, rej *Rejection) {
	if s.StreamSeq == 0 {
		return
	}
	if j.m == nil {
		j.m = make(map[streamPlace]judgedRejection)
	}
	k := streamPlace{s.StreamSeq, s.BulkLine}
	if _, ok := j.m[k]; !ok {
		j.order = append(j.order, k)
	}
	j.m[k] = judgedRejection{sum: sha256.Sum256(s.Data), rej: rej}
	if len(j.order) > judgedMax {
		drop := len(j.order) - judgedMax/2
		for _, k := range j.order[:drop] {
			delete(j.m, k)
		}
		j.order = append(j.order[:0], j.order[drop:]...)
	}
}

var _ Preparer = (*AdmissionProcessor)(nil)

// preparedSub is what Prepare works out for one submission.
type preparedSub struct {
	d       Decoded
	reasons []Reason
	v       *verifier.Prepared // nil when reasons
}

// Prepare implements Preparer: decoding (Decode) and the state-independent
// part of admission (verifier.Prepare: the statement decoded and
// validated), which depend on nothing the ledger holds.
func (p *AdmissionProcessor) Prepare(s Submission) any {
	ps := &preparedSub{}
	ps.d, ps.reasons = Decode(s.Data)
	if ps.reasons == nil {
		ps.v = verifier.Prepare(candidate(&ps.d, s))
	}
	return ps
}

// candidate is the admission candidate of a decoded submission.
func candidate(d *Decoded, s Submission) verifier.Candidate {
	return verifier.Candidate{Envelope: d.Envelope, ReceivedAt: s.ReceivedAt, Known: &verifier.Known{
		Body: d.Payload, Digest: d.Digest, Canonical: d.Canonical, Raw: s.Data,
	}}
}

// NewAdmissionProcessor builds the admission state of l by replaying its
// records (verifier.LoadState) and returns the Processor that appends to it.
func NewAdmissionProcessor(ctx context.Context, l *ledger.Log) (*AdmissionProcessor, error) {
	if l == nil {
		return nil, fmt.Errorf("%w: AdmissionProcessor without a Log", ErrProcessor)
	}
	st, err := verifier.LoadState(ctx, l)
	if err != nil {
		return nil, fmt.Errorf("admission state: %w", err)
	}
	return &AdmissionProcessor{log: l, adm: verifier.NewAdmitter(l, st)}, nil
}

// State is the admission state: what the log holds, as admission sees it.
func (p *AdmissionProcessor) State() verifier.State { return p.adm.State() }

// Process implements Processor.
func (p *AdmissionProcessor) Process(ctx context.Context, batch []Submission) ([]Outcome, error) {
	out := make([]Outcome, len(batch))
	decoded := make([]*Decoded, len(batch))
	cands := make([]verifier.Candidate, 0, len(batch))
	candOf := make([]int, len(batch)) // submission → index in cands, or -1
	// Decoding (strict envelope form, canonical payload) and the rest of
	// Prepare are independent per submission: done ahead by the ingest
	// loop (Submission.Prepared), or here on every core.
	ps := make([]*preparedSub, len(batch))
	parallelFor(len(batch), p.Workers, func(i int) {
		var ok bool
		if ps[i], ok = batch[i].Prepared.(*preparedSub); !ok {
			ps[i] = p.Prepare(batch[i]).(*preparedSub)
		}
	})
	for i, s := range batch {
		candOf[i] = -1
		if rej := p.judged.lookup(s); rej != nil {
			out[i].Rejection = rej
			continue
		}
		d, reasons := &ps[i].d, ps[i].reasons
		if reasons != nil {
			// Answered under the envelope's digest when it has one, so
			// that its submitter, waiting on tally.receipt.<digest>, hears
			// why.
			out[i].Rejection = &Rejection{Reasons: reasons}
			if d.Digest != ([32]byte{}) {
				out[i].Rejection.Digest = hex.EncodeToString(d.Digest[:])
			}
			continue
		}
		decoded[i] = d
		candOf[i] = len(cands)
		c := candidate(d, s)
		c.Prepared = ps[i].v
		cands = append(cands, c)
	}

	vs, err := p.adm.AdmitBatch(ctx, cands)
	if err != nil {
		return nil, fmt.Errorf("admission: %w", err)
	}
	entries := verifier.Entries(vs)
	entryOf := make([]int, len(vs)) // candidate → index in entries, or -1
	for i, k := 0, 0; i < len(vs); i++ {
		entryOf[i] = -1
		if vs[i].Status == verifier.Admitted {
			entryOf[i] = k
			k++
		}
	}

	var appended []ledger.Appended
	var cp ledger.Checkpoint
	if len(entries) > 0 {
		// The commit: nothing of this batch is answered, and so nothing is
		// acknowledged, before Append has returned, and Append returns only
		// after its Pebble batch is synced.
		appended, cp, err = p.log.Append(ctx, entries)
		if err != nil {
			p.adm.Discard()
			return nil, fmt.Errorf("append: %w", err)
		}
	}
	// The batch's place in the stream is taken: its rejections stand.
	for i := range batch {
		if c := candOf[i]; c >= 0 && vs[c].Status == verifier.Rejected {
			out[i].Rejection = &Rejection{Digest: hex.EncodeToString(vs[c].Digest[:]), Reasons: admissionReasons(&vs[c])}
			p.judged.remember(batch[i], out[i].Rejection)
		}
	}
	if len(entries) > 0 {
		if err := p.adm.Commit(appended); err != nil {
			// The entries are durable, but the ledger did not put them where
			// admission expected (another writer): the state has been caught
			// up from the log; the retried batch is answered from the log.
			return nil, fmt.Errorf("admission state: %w", err)
		}
	}

	// What each submission is answered with.
	type job struct {
		i int
		a ledger.Appended
		e int // index in entries of an entry appended now, or -1
	}
	var jobs []job
	for i := range batch {
		c := candOf[i]
		if c < 0 {
			continue
		}
		v := &vs[c]
		switch v.Status {
		case verifier.Rejected:
			// Answered above.
		case verifier.Admitted:
			jobs = append(jobs, job{i, appended[entryOf[c]], entryOf[c]})
		case verifier.Duplicate:
			var a ledger.Appended
			if j := v.DuplicateOf; j >= 0 {
				a = appended[entryOf[j]]
			} else {
				if a, err = p.logged(v.Seq); err != nil {
					return nil, err
				}
			}
			a.Duplicate = true
			jobs = append(jobs, job{i, a, -1})
		}
	}
	if len(jobs) == 0 {
		return out, nil
	}
	if len(entries) == 0 {
		// Only duplicates: their proofs lead to the latest checkpoint.
		if cp, err = p.log.Checkpoint(); err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
	}

	// Receipts are built even if ctx is cancelled meanwhile: the batch is
	// committed, and answering it now spares every submitter a redelivery.
	errs := make([]error, len(jobs))
	parallelFor(len(jobs), p.Workers, func(k int) {
		jb := jobs[k]
		d := decoded[jb.i]
		if jb.e >= 0 && !jb.a.Duplicate {
			out[jb.i].Receipt, errs[k] = newEntryReceipt(p.log, d.Kind, d.Digest, entries[jb.e], jb.a, cp)
			return
		}
		out[jb.i].Receipt, errs[k] = BuildReceipt(p.log, d.Kind, d.Digest, d.Canonical, jb.a, cp)
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// logged returns the Appended of a record already in the log.
func (p *AdmissionProcessor) logged(seq uint64) (ledger.Appended, error) {
	leaf, err := p.log.LeafHash(seq)
	if err != nil {
		return ledger.Appended{}, fmt.Errorf("receipt for seq %d: %w", seq, err)
	}
	chain, err := p.log.ChainHash(seq)
	if err != nil {
		return ledger.Appended{}, fmt.Errorf("receipt for seq %d: %w", seq, err)
	}
	return ledger.Appended{Seq: seq, Leaf: leaf, Chain: chain, Duplicate: true}, nil
}

// admissionReasons turns a rejected verdict's problems into reasons:
// envelope problems as they are, payload problems under "/payload".
func admissionReasons(v *verifier.Verdict) []Reason {
	rs := make([]Reason, 0, len(v.EnvelopeProblems)+len(v.Problems))
	rs = append(rs, ReasonsOf(v.EnvelopeProblems)...)
	for _, r := range ReasonsOf(v.Problems) {
		r.Path = "/payload" + r.Path
		rs = append(rs, r)
	}
	return rs
}
