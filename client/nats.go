package client

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tally-ledger/tally/schemas"
)

// Submitter submits an envelope and waits for the ledger's answer: the
// receipt, or an error (a *RejectedError when the envelope was rejected).
type Submitter interface {
	Submit(ctx context.Context, env schemas.Envelope) (*Receipt, error)
}

// JetStream API error codes that decide how a failed publish is reported.
const (
	jsErrStoreFailed     = 10077 // stream full (DiscardNew): maximum messages/bytes exceeded
	jsErrMessageTooLarge = 10054 // message size exceeds the stream's maximum
)

// NATS submits over a NATS connection, the way the ledger's own HTTP API
// does. It is safe for concurrent use.
type NATS struct {
	Conn *nats.Conn
	// Timeout bounds the wait for a receipt when ctx has no deadline;
	// default 30s.
	Timeout time.Duration
	// PollInterval is how often, while waiting, the stored outcome is read
	// from TALLY_RECEIPTS in case the live message was missed; default 1s.
	PollInterval time.Duration

	once sync.Once
	js   jetstream.JetStream
	err  error
}

var _ Submitter = (*NATS)(nil)

// SubmitNATS submits env over nc and waits for its receipt.
func SubmitNATS(ctx context.Context, nc *nats.Conn, env schemas.Envelope) (*Receipt, error) {
	return (&NATS{Conn: nc}).Submit(ctx, env)
}

// Submit publishes env to tally.submit.<kind> and waits for its outcome.
//
// It subscribes to tally.receipt.<digest> before publishing, so the answer
// cannot pass it by, and accepts only an answer to this publication (or a
// later one of the same envelope): the Tally-Submission-Seq header must be
// at least the stream sequence JetStream acknowledged. While waiting it
// also reads the latest stored outcome from TALLY_RECEIPTS now and then,
// which covers a live message lost to a reconnect.
func (s *NATS) Submit(ctx context.Context, env schemas.Envelope) (*Receipt, error) {
	if s.Conn == nil {
		return nil, fmt.Errorf("%w: no NATS connection", ErrUnavailable)
	}
	canon, err := env.Canonical()
	if err != nil {
		return nil, fmt.Errorf("%w: envelope: %w", ErrInvalid, err)
	}
	if len(canon) > MaxEnvelopeBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(canon), MaxEnvelopeBytes)
	}
	digest, err := env.Digest()
	if err != nil {
		return nil, fmt.Errorf("%w: envelope: %w", ErrInvalid, err)
	}
	kind, ok := schemas.KindOf(env.PayloadType)
	if !ok {
		return nil, fmt.Errorf("%w: /payloadType %q is not application/vnd.tally.<kind>.v1+json", ErrInvalid, env.PayloadType)
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	js, err := s.ready()
	if err != nil {
		return nil, err
	}

	hexDigest := hex.EncodeToString(digest[:])
	subject := subjectReceiptPrefix + hexDigest
	answers := make(chan *nats.Msg, 16)
	sub, err := s.Conn.ChanSubscribe(subject, answers)
	if err != nil {
		return nil, fmt.Errorf("%w: subscribe %s: %w", ErrUnavailable, subject, err)
	}
	defer sub.Unsubscribe()

	ack, err := publish(ctx, js, kind, hexDigest, canon)
	if err != nil {
		return nil, err
	}
	return s.await(ctx, js, subject, answers, ack.Sequence)
}

// ready returns the JetStream context of a connected Conn.
func (s *NATS) ready() (jetstream.JetStream, error) {
	if !s.Conn.IsConnected() {
		return nil, fmt.Errorf("%w: NATS connection is %s", ErrUnavailable, s.Conn.Status())
	}
	return s.jetStream()
}

// deadline bounds the wait for an answer by s.Timeout when ctx has no
// deadline of its own.
func (s *NATS) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, has := ctx.Deadline(); has {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, cmp.Or(s.Timeout, 30*time.Second))
}

func (s *NATS) jetStream() (jetstream.JetStream, error) {
	s.once.Do(func() {
		s.js, s.err = jetstream.New(s.Conn)
		if s.err != nil {
			s.err = fmt.Errorf("%w: %w", ErrUnavailable, s.err)
		}
	})
	return s.js, s.err
}

// publish sends the envelope into the TALLY stream. Its Nats-Msg-Id is the
// digest plus a random nonce: JetStream then drops this call's own retries
// (a lost PubAck) but not a deliberate resubmission, which the ledger
// answers with the original receipt (or judges again, if it was rejected
// before).
func publish(ctx context.Context, js jetstream.JetStream, kind, hexDigest string, canon []byte) (*jetstream.PubAck, error) {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	msg := nats.NewMsg(subjectSubmitPrefix + kind)
	msg.Data = canon
	return publishMsg(ctx, js, msg, hexDigest+"."+hex.EncodeToString(nonce[:]))
}

// publishMsg publishes msg into the TALLY stream under msgID, retrying
// (under the same id) while the server is unreachable.
func publishMsg(ctx context.Context, js jetstream.JetStream, msg *nats.Msg, msgID string) (*jetstream.PubAck, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ack, err := js.PublishMsg(pctx, msg, jetstream.WithMsgID(msgID), jetstream.WithExpectStream(streamSubmissions))
		cancel()
		if err == nil {
			return ack, nil
		}
		lastErr = classifyPublish(err)
		if !errors.Is(lastErr, ErrUnavailable) || ctx.Err() != nil {
			return nil, lastErr
		}
	}
	return nil, lastErr
}

// classifyPublish maps a publish error onto the package's sentinels.
func classifyPublish(err error) error {
	var apiErr *jetstream.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrStoreFailed:
		return fmt.Errorf("%w: %s", ErrBusy, apiErr.Description)
	case errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrMessageTooLarge,
		errors.Is(err, nats.ErrMaxPayload):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	case errors.As(err, &apiErr):
		return fmt.Errorf("%w: stream refused the envelope: %w", ErrUnavailable, err)
	default:
		return fmt.Errorf("%w: publish: %w", ErrUnavailable, err)
	}
}

// await waits for the outcome of stream sequence seq.
func (s *NATS) await(ctx context.Context, js jetstream.JetStream, subject string, answers <-chan *nats.Msg, seq uint64) (*Receipt, error) {
	poll := time.NewTicker(cmp.Or(s.PollInterval, time.Second))
	defer poll.Stop()
	var stream jetstream.Stream
	for {
		select {
		case m := <-answers:
			if r, ok, err := decodeOutcome(m.Header, m.Data, seq); ok {
				return r, err
			}
		case <-poll.C:
			m, err := s.stored(ctx, js, &stream, subject)
			if err != nil {
				continue
			}
			if r, ok, err := decodeOutcome(m.Header, m.Data, seq); ok {
				return r, err
			}
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("%w: envelope is in the stream at sequence %d but no receipt came in time; resubmitting is safe", ErrTimeout, seq)
			}
			return nil, ctx.Err()
		}
	}
}

// stored reads the latest outcome kept in TALLY_RECEIPTS under subject
// (*stream caches the stream handle).
func (s *NATS) stored(ctx context.Context, js jetstream.JetStream, stream *jetstream.Stream, subject string) (*jetstream.RawStreamMsg, error) {
	if !s.Conn.IsConnected() {
		return nil, fmt.Errorf("%w: NATS connection is %s", ErrUnavailable, s.Conn.Status())
	}
	if *stream == nil {
		st, err := js.Stream(ctx, streamReceipts)
		if err != nil {
			return nil, err
		}
		*stream = st
	}
	return (*stream).GetLastMsgForSubject(ctx, subject)
}

// decodeOutcome reads an outcome message; ok is false when it answers an
// earlier submission than seq (or cannot be read).
func decodeOutcome(h nats.Header, data []byte, seq uint64) (r *Receipt, ok bool, err error) {
	got, perr := strconv.ParseUint(h.Get(headerSubmissionSeq), 10, 64)
	if perr != nil || got < seq {
		return nil, false, nil
	}
	var o outcome
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, true, fmt.Errorf("%w: outcome: %w", ErrInvalid, err)
	}
	r, err = o.result()
	return r, true, err
}

// result is the outcome as a Submit returns it: the receipt, or the
// rejection as a *RejectedError.
func (o *outcome) result() (*Receipt, error) {
	switch {
	case o.Receipt != nil:
		return o.Receipt, nil
	case o.Rejection != nil:
		return nil, &RejectedError{Rejection: *o.Rejection}
	}
	return nil, fmt.Errorf("%w: outcome with neither receipt nor rejection", ErrInvalid)
}
