package events

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamOptions size the streams. The zero value gives the defaults.
//
// TALLY keeps submissions for MaxAge (so a replica or a restarted ledger can
// replay them), bounded by MaxBytes and MaxMsgs. It discards NEW messages
// when full: a publisher is told to try again later (the API answers 503)
// instead of the stream silently dropping history or growing without bound.
// Size the limits for MaxAge times the expected ingest rate. The ledger, not
// the stream, is the permanent record.
type StreamOptions struct {
	// Replicas of each stream in a JetStream cluster; default 1.
	Replicas int
	// MaxAge of submissions; default DefaultMaxAge (7 days).
	MaxAge time.Duration
	// MaxBytes of the TALLY stream; default DefaultMaxBytes (4 GiB).
	MaxBytes int64
	// MaxMsgs of the TALLY stream; default unlimited (-1).
	MaxMsgs int64
	// Duplicates is JetStream's window for Nats-Msg-Id deduplication
	// (a publisher's retries); default DefaultDuplicates. Permanent
	// deduplication is the ledger's, by digest.
	Duplicates time.Duration
	// ReceiptMaxAge is how long TALLY_RECEIPTS keeps an outcome for a late
	// reader; default DefaultReceiptMaxAge (24h).
	ReceiptMaxAge time.Duration
	// RejectMaxAge is how long TALLY_REJECTED keeps rejected submissions;
	// default DefaultRejectMaxAge (30 days).
	RejectMaxAge time.Duration
}

// SubmissionsConfig is the configuration of the TALLY stream.
func (o StreamOptions) SubmissionsConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamSubmissions,
		Description: "Tally submissions (DSSE envelopes) in ledger order",
		Subjects:    []string{SubjectSubmitPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		MaxAge:      cmp.Or(o.MaxAge, DefaultMaxAge),
		MaxBytes:    cmp.Or(o.MaxBytes, DefaultMaxBytes),
		MaxMsgs:     cmp.Or(o.MaxMsgs, -1),
		MaxMsgSize:  maxMessageBytes,
		Duplicates:  cmp.Or(o.Duplicates, DefaultDuplicates),
		Replicas:    cmp.Or(o.Replicas, 1),
	}
}

// ReceiptsConfig is the configuration of the TALLY_RECEIPTS stream: the
// latest outcome per digest, for a while.
func (o StreamOptions) ReceiptsConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              StreamReceipts,
		Description:       "Tally outcomes (receipts and rejections), latest per envelope digest",
		Subjects:          []string{SubjectReceiptPrefix + ">"},
		Retention:         jetstream.LimitsPolicy,
		Storage:           jetstream.FileStorage,
		Discard:           jetstream.DiscardOld,
		MaxMsgsPerSubject: 1,
		MaxAge:            cmp.Or(o.ReceiptMaxAge, DefaultReceiptMaxAge),
		MaxBytes:          1 << 30,
		AllowDirect:       true,
		Replicas:          cmp.Or(o.Replicas, 1),
	}
}

// RejectedConfig is the configuration of the TALLY_REJECTED stream. It
// discards its oldest messages when full, so a flood of garbage cannot stop
// ingest.
func (o StreamOptions) RejectedConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamRejected,
		Description: "Rejected Tally submissions with their reasons",
		Subjects:    []string{SubjectRejectedPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxAge:      cmp.Or(o.RejectMaxAge, DefaultRejectMaxAge),
		MaxBytes:    1 << 30,
		MaxMsgSize:  4 * maxMessageBytes,
		Replicas:    cmp.Or(o.Replicas, 1),
	}
}

// SetupStreams creates the three streams, or updates them to o.
func SetupStreams(ctx context.Context, js jetstream.JetStream, o StreamOptions) error {
	for _, cfg := range []jetstream.StreamConfig{o.SubmissionsConfig(), o.ReceiptsConfig(), o.RejectedConfig()} {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("%w: stream %s: %w", ErrSetup, cfg.Name, err)
		}
	}
	return nil
}

// ConsumerConfig is the ingest loop's durable pull consumer.
//
// It acknowledges cumulatively (AckAll): the loop commits batches in stream
// order and acknowledges the last message of each batch after the commit,
// which acknowledges the batch. A lost acknowledgement is covered by the
// next one instead of causing an out-of-order redelivery, and the ack floor
// is exactly the last committed batch, which is where a restarted loop
// resumes (ResetConsumer). AckWait is generous because a batch is
// acknowledged only after its fsync; MaxAckPending bounds how much is in
// flight, which is the backpressure on the stream.
func ConsumerConfig(durable string, batch int) jetstream.ConsumerConfig {
	batch = cmp.Or(batch, DefaultBatchSize)
	return jetstream.ConsumerConfig{
		Durable:       cmp.Or(durable, DefaultDurable),
		Description:   "Tally ledger ingest",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckAllPolicy,
		AckWait:       DefaultAckWait,
		MaxDeliver:    -1,
		MaxAckPending: 4 * batch,
		FilterSubject: SubjectSubmitPrefix + ">",
		ReplayPolicy:  jetstream.ReplayInstantPolicy,
	}
}
