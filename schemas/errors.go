package schemas

import "errors"

// Sentinel errors of the vocabulary. Functions wrap them with the field and
// the rule that failed, so callers test with errors.Is and users read what
// was wrong and where.
var (
	// ErrUnknownKind reports an event kind that is not in the vocabulary.
	ErrUnknownKind = errors.New("unknown event kind")
	// ErrMalformedEnvelope reports a DSSE envelope that does not have
	// Tally's strict form; the error is an *EnvelopeError listing every
	// problem with its JSON Pointer into the envelope.
	ErrMalformedEnvelope = errors.New("malformed envelope")
	// ErrInvalidKey reports a public or private key that is not a usable
	// Ed25519 key.
	ErrInvalidKey = errors.New("invalid Ed25519 key")
	// ErrNoSignature reports an envelope that carries no signature by the
	// key being checked.
	ErrNoSignature = errors.New("no signature by this key")
	// ErrBadSignature reports a signature that does not verify.
	ErrBadSignature = errors.New("signature does not verify")
	// ErrInvalidPayload reports a payload that cannot be marshalled to
	// canonical JSON for signing.
	ErrInvalidPayload = errors.New("invalid payload")
)
