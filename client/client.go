// Package client is the Go SDK for producers: make a key, sign statements
// as DSSE envelopes, submit them to a Tally ledger over NATS or HTTP, wait
// for the receipt, and check the receipt offline.
//
//	key, _ := client.GenerateKey()
//	env, _ := client.Sign("hop.recorded", payloadJSON, key)
//	receipt, err := client.SubmitHTTP(ctx, "http://127.0.0.1:8080", env)
//	var rej *client.RejectedError
//	if errors.As(err, &rej) { /* rej.Rejection.Reasons say why */ }
//	err = client.VerifyReceipt(receipt, logVerifierKey, envelopeJSON)
//
// Over NATS the protocol is: subscribe to tally.receipt.<digest>, publish
// the envelope to tally.submit.<kind> through JetStream, and wait for the
// outcome whose Tally-Submission-Seq header is at least the sequence
// JetStream acknowledged; if the live message is missed (reconnect), the
// latest outcome is read from the TALLY_RECEIPTS stream. Resubmitting an
// envelope is always safe: the ledger answers it with the original receipt.
//
// NATS.SubmitBulk sends up to MaxBulkEnvelopes envelopes in one message
// (JSON Lines on tally.submit.bulk); each is judged and logged as if sent
// alone, in order, and the answers come in parts on
// tally.receipt.<bulk digest>.<first line>, one result per envelope.
package client

import "errors"

// Wire names shared with the ingest service (package events).
const (
	subjectSubmitPrefix  = "tally.submit."
	subjectReceiptPrefix = "tally.receipt."
	streamSubmissions    = "TALLY"
	streamReceipts       = "TALLY_RECEIPTS"
	headerSubmissionSeq  = "Tally-Submission-Seq"
)

// MaxEnvelopeBytes is the largest envelope (JSON bytes) a ledger accepts.
const MaxEnvelopeBytes = 1 << 20

// Sentinel errors; returned errors wrap them (errors.Is).
var (
	// ErrRejected: the ledger did not admit the envelope. The error is a
	// *RejectedError carrying the reasons.
	ErrRejected = errors.New("client: rejected")

	// ErrUnavailable: the ledger or its NATS server cannot be reached now.
	// Retry later; resubmitting is safe.
	ErrUnavailable = errors.New("client: unavailable")

	// ErrBusy: the ledger is applying backpressure (its stream is full).
	// Retry later.
	ErrBusy = errors.New("client: busy, try again later")

	// ErrTimeout: the envelope was accepted into the stream but no receipt
	// arrived in time. Resubmit (safe) or wait longer.
	ErrTimeout = errors.New("client: no receipt yet")

	// ErrTooLarge: the envelope exceeds what the ledger accepts.
	ErrTooLarge = errors.New("client: envelope too large")

	// ErrInvalid: bad input (an envelope that does not encode, a key file
	// that does not parse, a server answer that is not understood).
	ErrInvalid = errors.New("client: invalid")

	// ErrVerify: a receipt does not check out against the envelope and the
	// log's key.
	ErrVerify = errors.New("client: receipt does not verify")
)
