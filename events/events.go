// Package events carries submissions from NATS JetStream into the ledger.
//
// Every submission, whatever door it came through (a producer publishing on
// NATS, the HTTP API, tally submit), is a DSSE envelope published on
// tally.submit.<kind> into the TALLY stream. One ingest loop per ledger reads
// that stream in order through a durable pull consumer, hands batches to a
// Processor (admission and ledger.Append, which commits with fsync) and only
// then acknowledges the messages and answers the submitters:
//
//	tally.submit.<kind>        submissions (stream TALLY)
//	tally.receipt.<digest>     the outcome of a submission: a receipt or a
//	                           rejection (stream TALLY_RECEIPTS keeps the last
//	                           one per digest for a while)
//	tally.committed.<kind>     the feed of newly committed entries (core NATS)
//	tally.rejected.<digest>    rejected submissions with their reasons
//	                           (stream TALLY_REJECTED)
//
// A producer with many statements may send up to MaxBulkEnvelopes of them
// in one message on tally.submit.bulk (JSON Lines); each is judged and
// logged as if published alone at that place in the stream, and the
// answer comes in parts on tally.receipt.<bulk digest>.<first line> (see
// SubjectSubmitBulk).
//
// The package also runs the embedded nats-server used when no external
// server is configured, and connects to external servers and clusters with
// the options NATS users expect.
//
// # Receipt delivery
//
// A submitter subscribes to tally.receipt.<digest> before it publishes, so a
// receipt published after the commit cannot pass it by. The ingest loop
// publishes outcomes through JetStream (they land in TALLY_RECEIPTS) and
// waits for the stream to confirm them before it acknowledges the
// submissions: if the process or the NATS connection dies at any point
// before that acknowledgement, the submission is delivered again, the ledger
// recognises its digest and the same receipt is published again. A submitter
// that missed the live message (it reconnected, or its subscription was
// slow) reads the stored one from TALLY_RECEIPTS, so a waiting submitter
// cannot lose its receipt. Each outcome carries the stream sequence of the
// submission it answers (header Tally-Submission-Seq), so a submitter ignores
// answers to earlier submissions of the same envelope.
//
// # Order and crashes
//
// The ledger's order is the stream's order. The consumer acknowledges
// cumulatively, one acknowledgement per committed batch, so its ack floor
// is where the ledger's commits end (or a little before, if the process
// died between a commit and its acknowledgement). When the loop starts it
// resets the consumer to that floor, so whatever was delivered but not
// acknowledged comes again at once and in order; entries the ledger already
// holds are recognised by digest and answered with their original receipts
// (marked duplicate). While running, the loop checks that deliveries arrive
// without gaps; a lost delivery (a connection dropped mid-flight) makes it
// reset the consumer to its own position rather than process later
// submissions first. Batches are committed, then answered and acknowledged
// (the next batch is prepared and processed meanwhile); a committed batch
// that comes again in the same process gets the answers it got before (its
// admitted statements are found in the log, its rejections are
// remembered). One caveat: a submission that was rejected just before a
// crash, and not yet acknowledged, is judged again after the restart, and
// may then be admitted if what it referred to arrived meanwhile.
//
// JetStream's file store syncs to disk on its own interval (the ledger
// fsyncs every batch); a submission accepted by the stream but not yet
// committed can be lost in a power failure of the NATS host. Its submitter
// then gets no receipt, and resubmitting is always safe.
package events

import (
	"errors"
	"time"
)

// Stream, subject and header names. Producers (package client) use the same
// names; they are part of Tally's wire protocol.
const (
	// StreamSubmissions holds every submission in arrival order; its order
	// is the ledger's order.
	StreamSubmissions = "TALLY"
	// StreamReceipts keeps the latest outcome per digest for late readers.
	StreamReceipts = "TALLY_RECEIPTS"
	// StreamRejected keeps rejected submissions with their reasons, so that
	// nothing submitted is silently lost.
	StreamRejected = "TALLY_REJECTED"

	// SubjectSubmitPrefix + kind is where submissions are published.
	SubjectSubmitPrefix = "tally.submit."
	// SubjectReceiptPrefix + hex digest carries the outcome of a submission.
	SubjectReceiptPrefix = "tally.receipt."
	// SubjectCommittedPrefix + kind carries newly committed entries.
	SubjectCommittedPrefix = "tally.committed."
	// SubjectRejectedPrefix + hex digest (or "malformed") carries rejected
	// submissions.
	SubjectRejectedPrefix = "tally.rejected."

	// DefaultDurable is the name of the ingest loop's durable consumer.
	// Each ledger replica consuming the same stream needs its own.
	DefaultDurable = "tally-ledger"

	// HeaderSubmissionSeq on an outcome is the TALLY stream sequence of the
	// submission it answers.
	HeaderSubmissionSeq = "Tally-Submission-Seq"
	// HeaderOutcome on an outcome is "receipt" or "rejection".
	HeaderOutcome = "Tally-Outcome"
	// HeaderDigest on a rejected message is the envelope digest (hex), if
	// the envelope had one.
	HeaderDigest = "Tally-Digest"

	// MaxSubmissionBytes is the largest submission message (envelope JSON)
	// the TALLY stream takes; the vocabulary's own limit on envelopes
	// (schemas.MaxEnvelopeSize) is lower, so this only bounds what a
	// rejection has to carry. The embedded NATS server allows messages of
	// twice this size.
	MaxSubmissionBytes = 1 << 20

	// maxMessageBytes is MaxSubmissionBytes plus room for headers.
	maxMessageBytes = MaxSubmissionBytes + 4<<10
)

// Defaults of the stream and consumer configuration.
const (
	DefaultBatchSize     = 1024
	DefaultAckWait       = 5 * time.Minute
	DefaultDuplicates    = 2 * time.Minute
	DefaultMaxAge        = 7 * 24 * time.Hour
	DefaultMaxBytes      = 4 << 30
	DefaultReceiptMaxAge = 24 * time.Hour
	DefaultRejectMaxAge  = 30 * 24 * time.Hour
)

// Sentinel errors. Errors returned by the package wrap these with context;
// callers branch with errors.Is.
var (
	// ErrStopped: the ingest loop or server was stopped.
	ErrStopped = errors.New("events: stopped")

	// ErrEmbedded: the embedded NATS server could not start or stop.
	ErrEmbedded = errors.New("events: embedded nats server")

	// ErrConnect: a NATS connection could not be set up (bad URL, unreadable
	// credentials or TLS files, server unreachable).
	ErrConnect = errors.New("events: nats connection")

	// ErrSetup: streams or the consumer could not be created or updated.
	ErrSetup = errors.New("events: stream setup")

	// ErrProcessor: the Processor broke its contract (for example, returned
	// a different number of outcomes than submissions).
	ErrProcessor = errors.New("events: processor")
)
