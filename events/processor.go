package events

import (
	"context"
	"time"
)

// Submission is one message taken from the TALLY stream.
type Submission struct {
	// Data is the message body as published: the envelope's JSON bytes.
	Data []byte
	// ReceivedAt is the JetStream timestamp of the message (stream
	// metadata, not the local clock), so every replica that replays the
	// stream records the same received_at.
	ReceivedAt time.Time
	// StreamSeq is the message's sequence in the TALLY stream.
	StreamSeq uint64
	// BulkLine is the envelope's line (from 1) in a bulk submission, whose
	// lines share the message's StreamSeq and ReceivedAt; 0 for a message
	// that is one envelope.
	BulkLine int
	// Prepared is what the Processor's Prepare returned for this
	// submission, if the Processor is a Preparer; nil otherwise.
	Prepared any
}

// Outcome is what became of one Submission: exactly one of Receipt and
// Rejection is set. It is also the JSON body published on
// tally.receipt.<digest>.
type Outcome struct {
	Receipt   *Receipt   `json:"receipt,omitempty"`
	Rejection *Rejection `json:"rejection,omitempty"`
}

// Processor turns a batch of submissions, in stream order, into outcomes:
// it admits or rejects each one and appends the admitted ones to the ledger.
//
// Process returns one Outcome per Submission, in the same order, and only
// after everything it admitted is durably committed (ledger.Append returned):
// the ingest loop acknowledges the messages as soon as Process returns. A
// repeated envelope (already in the log, or delivered again after a crash)
// is answered with its original receipt, marked Duplicate.
//
// An error means an infrastructure failure (storage, context cancelled): no
// message is acknowledged and the same batch is offered again, in the same
// order; entries that did commit before the failure are then answered as
// duplicates. Bad submissions are never errors; they are Rejections.
type Processor interface {
	Process(ctx context.Context, batch []Submission) ([]Outcome, error)
}

// A Preparer is a Processor with work that depends on nothing but the
// submission itself (decoding, validation). The ingest loop calls Prepare
// for the submissions of a batch, on every core, while the batch before it
// is processed, and hands the result to Process in Submission.Prepared.
// Process must give the same outcomes with or without it.
type Preparer interface {
	Processor
	Prepare(s Submission) any
}

// ProcessorFunc adapts a function to the Processor interface.
type ProcessorFunc func(ctx context.Context, batch []Submission) ([]Outcome, error)

// Process calls f.
func (f ProcessorFunc) Process(ctx context.Context, batch []Submission) ([]Outcome, error) {
	return f(ctx, batch)
}
