package client

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tally-ledger/tally/schemas"
)

// Bulk submission wire names (package events documents the protocol).
const (
	subjectSubmitBulk = subjectSubmitPrefix + "bulk"
	headerBulkLines   = "Tally-Bulk-Lines"
	bulkDomain        = "tally-bulk-v1\n"
)

// MaxBulkEnvelopes is the most envelopes one bulk submission may carry.
const MaxBulkEnvelopes = 256

// BulkResult is what became of one envelope of a bulk submission: its
// receipt, or Err (a *RejectedError when the ledger rejected it).
type BulkResult struct {
	Receipt *Receipt
	Err     error
}

// bulkOutcome is one part of the answer to a bulk submission.
type bulkOutcome struct {
	First     int        `json:"first"`
	Outcomes  []outcome  `json:"outcomes"`
	Rejection *Rejection `json:"rejection"`
}

// SubmitBulk submits envs in one message (JSON Lines on tally.submit.bulk)
// and waits for all their outcomes. Each envelope is signed, judged and
// logged on its own, in the order given, as if submitted one after the
// other; only the transport is shared. The results are in the order of
// envs. The error is for the submission as a whole (nothing or not all of
// it answered, or the message refused: a *RejectedError); then no results
// are returned and resubmitting is safe.
//
// At most MaxBulkEnvelopes envelopes of at most MaxEnvelopeBytes in all.
func (s *NATS) SubmitBulk(ctx context.Context, envs []schemas.Envelope) ([]BulkResult, error) {
	if s.Conn == nil {
		return nil, fmt.Errorf("%w: no NATS connection", ErrUnavailable)
	}
	if len(envs) == 0 || len(envs) > MaxBulkEnvelopes {
		return nil, fmt.Errorf("%w: a bulk submission holds 1 to %d envelopes, not %d", ErrInvalid, MaxBulkEnvelopes, len(envs))
	}
	var body bytes.Buffer
	for i := range envs {
		if _, ok := schemas.KindOf(envs[i].PayloadType); !ok {
			return nil, fmt.Errorf("%w: envelope %d: /payloadType %q is not application/vnd.tally.<kind>.v1+json", ErrInvalid, i, envs[i].PayloadType)
		}
		canon, err := envs[i].Canonical()
		if err != nil {
			return nil, fmt.Errorf("%w: envelope %d: %w", ErrInvalid, i, err)
		}
		if i > 0 {
			body.WriteByte('\n')
		}
		body.Write(canon)
	}
	if body.Len() > MaxEnvelopeBytes {
		return nil, fmt.Errorf("%w: %d envelopes take %d bytes, at most %d in one bulk submission", ErrTooLarge, len(envs), body.Len(), MaxEnvelopeBytes)
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	js, err := s.ready()
	if err != nil {
		return nil, err
	}

	sum := sha256.New()
	sum.Write([]byte(bulkDomain))
	sum.Write(body.Bytes())
	digest := hex.EncodeToString(sum.Sum(nil))
	answers := make(chan *nats.Msg, 64)
	sub, err := s.Conn.ChanSubscribe(subjectReceiptPrefix+digest+".>", answers)
	if err != nil {
		return nil, fmt.Errorf("%w: subscribe: %w", ErrUnavailable, err)
	}
	defer sub.Unsubscribe()

	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	msg := nats.NewMsg(subjectSubmitBulk)
	msg.Data = body.Bytes()
	ack, err := publishMsg(ctx, js, msg, digest+"."+hex.EncodeToString(nonce[:]))
	if err != nil {
		return nil, err
	}
	return s.awaitBulk(ctx, js, digest, len(envs), answers, ack.Sequence)
}

// bulkAnswer gathers the parts of the answer to one stream sequence.
type bulkAnswer struct {
	lines int
	outs  []*outcome
	got   int
}

// awaitBulk waits until the parts answering stream sequence seq cover
// every line.
func (s *NATS) awaitBulk(ctx context.Context, js jetstream.JetStream, digest string, lines int, answers <-chan *nats.Msg, seq uint64) ([]BulkResult, error) {
	poll := time.NewTicker(cmp.Or(s.PollInterval, time.Second))
	defer poll.Stop()
	ans := map[uint64]*bulkAnswer{}
	var stream jetstream.Stream
	// take adds one part; done when the answer it belongs to is whole.
	// covered is how many lines the part answers (0 if it could not be
	// read).
	take := func(h nats.Header, data []byte) (res []BulkResult, covered int, done bool, err error) {
		got, perr := strconv.ParseUint(h.Get(headerSubmissionSeq), 10, 64)
		stale := perr != nil || got < seq // an answer to an earlier submission
		var part bulkOutcome
		if err := json.Unmarshal(data, &part); err != nil {
			if stale {
				return nil, 0, false, nil
			}
			return nil, 0, true, fmt.Errorf("%w: bulk outcome: %w", ErrInvalid, err)
		}
		if stale {
			return nil, len(part.Outcomes), false, nil
		}
		if part.Rejection != nil {
			return nil, 0, true, &RejectedError{Rejection: *part.Rejection}
		}
		n, err := strconv.Atoi(h.Get(headerBulkLines))
		if err != nil || n != lines || part.First < 0 || part.First+len(part.Outcomes) > n {
			return nil, 0, true, fmt.Errorf("%w: bulk outcome for lines %d+%d of %q, submitted %d", ErrInvalid, part.First, len(part.Outcomes), h.Get(headerBulkLines), lines)
		}
		a := ans[got]
		if a == nil {
			a = &bulkAnswer{lines: n, outs: make([]*outcome, n)}
			ans[got] = a
		}
		for i := range part.Outcomes {
			if a.outs[part.First+i] == nil {
				a.outs[part.First+i] = &part.Outcomes[i]
				a.got++
			}
		}
		if a.got < a.lines {
			return nil, len(part.Outcomes), false, nil
		}
		res = make([]BulkResult, n)
		for i, o := range a.outs {
			res[i].Receipt, res[i].Err = o.result()
		}
		return res, len(part.Outcomes), true, nil
	}
	for {
		select {
		case m := <-answers:
			if res, _, done, err := take(m.Header, m.Data); done {
				return res, err
			}
		case <-poll.C:
			// The live parts may have been missed (a reconnect): read the
			// stored ones, part by part from the first line.
			for first := 0; first < lines; {
				m, err := s.stored(ctx, js, &stream, fmt.Sprintf("%s%s.%d", subjectReceiptPrefix, digest, first))
				if err != nil {
					break
				}
				res, covered, done, err := take(m.Header, m.Data)
				if done {
					return res, err
				}
				if covered == 0 {
					break
				}
				first += covered
			}
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("%w: bulk submission is in the stream at sequence %d but not all its outcomes came in time; resubmitting is safe", ErrTimeout, seq)
			}
			return nil, ctx.Err()
		}
	}
}
