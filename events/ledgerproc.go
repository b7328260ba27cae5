package events

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/verifier"
)

// Candidate is a structurally valid submission offered to admission.
type Candidate struct {
	Submission
	Decoded
}

// Admitter decides which structurally valid submissions may enter the log.
// It is where the domain's admission rules (verifier.Admit: signatures, key
// validity at the time, references, double spends) plug into
// LedgerProcessor.
//
// Admit sees the batch in stream order and must judge each candidate as if
// the candidates it admitted before it in the same batch were already in
// the log (they will be, in that order). It returns one list of reasons per
// candidate: empty admits it, otherwise the candidate is rejected with
// those reasons. Candidates already in the log are not offered (they are
// answered with their original receipt), nor are repeats of an earlier
// candidate of the same batch (they share its verdict). An error is an
// infrastructure failure: the whole batch is retried.
type Admitter interface {
	Admit(ctx context.Context, batch []Candidate) ([][]Reason, error)
}

// AdmitterFunc adapts a function to the Admitter interface.
type AdmitterFunc func(ctx context.Context, batch []Candidate) ([][]Reason, error)

// Admit calls f.
func (f AdmitterFunc) Admit(ctx context.Context, batch []Candidate) ([][]Reason, error) {
	return f(ctx, batch)
}

// RuleIndex names the rejection of an envelope whose event cannot be
// indexed (its payload does not decode as its kind).
const RuleIndex = "indexable"

// LedgerProcessor is the Processor that appends to a ledger.Log: it checks
// each envelope's structure (Decode), asks Admission about the
// valid ones, appends the admitted ones in one ledger.Append (one fsync),
// and answers each submission with a receipt (with an inclusion proof in
// the batch's checkpoint) or a rejection.
type LedgerProcessor struct {
	// Log is the ledger appended to. Required.
	Log *ledger.Log
	// Admission decides admissibility. nil admits every structurally
	// valid envelope; only for tests and for running before the domain's
	// admission rules are configured.
	Admission Admitter
	// Index returns the secondary index keys of an admitted envelope; nil
	// means verifier.EnvelopeIndex, the keys the audit expects.
	Index func(c *Candidate) ([]ledger.IndexKey, error)
	// Workers builds receipts (inclusion proofs) in parallel; 0 means
	// GOMAXPROCS.
	Workers int
}

var _ Processor = (*LedgerProcessor)(nil)

// verdict is what happened to one submission of the batch.
type verdict struct {
	cand    *Candidate
	digest  [32]byte // of an envelope rejected by Decode, if it has one
	reasons []Reason
	entry   int // index into entries, or -1
}

// Process implements Processor.
func (p *LedgerProcessor) Process(ctx context.Context, batch []Submission) ([]Outcome, error) {
	if p.Log == nil {
		return nil, fmt.Errorf("%w: LedgerProcessor without a Log", ErrProcessor)
	}
	workers := p.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Decoding is pure and per submission: in parallel.
	type decoded struct {
		d       Decoded
		reasons []Reason
	}
	decs := make([]decoded, len(batch))
	parallelFor(len(batch), workers, func(i int) { decs[i].d, decs[i].reasons = Decode(batch[i].Data) })

	vs := make([]verdict, len(batch))
	var offered []*Candidate
	var offeredAt []int
	first := make(map[[32]byte]int, len(batch)) // digest → index of its first candidate in batch
	for i, s := range batch {
		vs[i].entry = -1
		d, reasons := decs[i].d, decs[i].reasons
		if reasons != nil {
			vs[i].reasons = reasons
			vs[i].digest = d.Digest
			continue
		}
		c := &Candidate{Submission: s, Decoded: d}
		vs[i].cand = c
		if _, dup := first[d.Digest]; dup {
			continue
		}
		first[d.Digest] = i
		// Entries already in the log are answered with their original
		// receipt; admission rules (e.g. "this lot is spent") must not
		// judge a statement against its own earlier copy.
		if _, ok, err := p.Log.Lookup(d.Digest); err != nil {
			return nil, fmt.Errorf("dedupe lookup: %w", err)
		} else if ok {
			continue
		}
		offered = append(offered, c)
		offeredAt = append(offeredAt, i)
	}
	if p.Admission != nil && len(offered) > 0 {
		cands := make([]Candidate, len(offered))
		for i, c := range offered {
			cands[i] = *c
		}
		reasons, err := p.Admission.Admit(ctx, cands)
		if err != nil {
			return nil, fmt.Errorf("admission: %w", err)
		}
		if len(reasons) != len(cands) {
			return nil, fmt.Errorf("%w: admission returned %d verdicts for %d candidates", ErrProcessor, len(reasons), len(cands))
		}
		for j, r := range reasons {
			if len(r) > 0 {
				vs[offeredAt[j]].reasons = r
			}
		}
	}
	index := p.Index
	if index == nil {
		index = func(c *Candidate) ([]ledger.IndexKey, error) { return verifier.EnvelopeIndex(&c.Envelope) }
	}
	// Index keys are pure functions of the envelope: in parallel, for the
	// admitted first copies.
	keys := make([][]ledger.IndexKey, len(vs))
	keyErrs := make([]error, len(vs))
	parallelFor(len(vs), workers, func(i int) {
		if v := &vs[i]; v.cand != nil && v.reasons == nil && first[v.cand.Digest] == i {
			keys[i], keyErrs[i] = index(v.cand)
		}
	})
	var entries []ledger.Entry
	for i := range vs {
		v := &vs[i]
		if v.cand == nil {
			continue
		}
		j := first[v.cand.Digest]
		if j != i {
			// A repeat within the batch shares its first copy's verdict;
			// if admitted, Append answers it with the first copy's seq.
			if vs[j].reasons != nil {
				v.reasons = vs[j].reasons
				continue
			}
		} else if v.reasons != nil {
			continue
		}
		if err := keyErrs[j]; err != nil {
			if errors.Is(err, verifier.ErrNotIndexable) {
				v.reasons = []Reason{{Path: "/payload", Rule: RuleIndex, Message: err.Error()}}
				continue
			}
			return nil, fmt.Errorf("index keys: %w", err)
		}
		v.entry = len(entries)
		entries = append(entries, ledger.Entry{
			Digest:     v.cand.Digest,
			ReceivedAt: v.cand.ReceivedAt,
			Envelope:   v.cand.Canonical,
			Index:      keys[j],
		})
	}
	out := make([]Outcome, len(batch))
	for i := range vs {
		if vs[i].entry < 0 {
			r := &Rejection{Reasons: vs[i].reasons}
			switch {
			case vs[i].cand != nil:
				r.Digest = hex.EncodeToString(vs[i].cand.Digest[:])
			case vs[i].digest != [32]byte{}:
				r.Digest = hex.EncodeToString(vs[i].digest[:])
			}
			out[i].Rejection = r
		}
	}
	if len(entries) == 0 {
		return out, nil
	}
	// The commit: nothing of this batch is acknowledged before Append has
	// returned, and Append returns only after its Pebble batch is synced.
	appended, cp, err := p.Log.Append(ctx, entries)
	if err != nil {
		return nil, fmt.Errorf("append: %w", err)
	}
	if len(appended) != len(entries) {
		return nil, fmt.Errorf("%w: ledger appended %d of %d entries", ErrProcessor, len(appended), len(entries))
	}
	// Receipts are built even if ctx is cancelled meanwhile: the batch is
	// committed, and answering it now spares every submitter a redelivery.
	if err := p.receipts(vs, appended, cp, out, workers); err != nil {
		return nil, err
	}
	return out, nil
}

// receipts builds the receipts of the appended entries, in parallel: each
// needs a record read and an inclusion proof, which dominate the batch's
// time after the commit.
func (p *LedgerProcessor) receipts(vs []verdict, appended []ledger.Appended, cp ledger.Checkpoint, out []Outcome, workers int) error {
	errs := make([]error, len(vs))
	parallelFor(len(vs), workers, func(i int) {
		v := &vs[i]
		if v.entry < 0 {
			return
		}
		out[i].Receipt, errs[i] = BuildReceipt(p.Log, v.cand.Kind, v.cand.Digest, v.cand.Canonical, appended[v.entry], cp)
	})
	return errors.Join(errs...)
}
