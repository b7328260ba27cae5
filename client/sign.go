package client

import (
	"fmt"

	"github.com/tally-ledger/tally/schemas"
)

// Sign makes the signed statement of a payload: its RFC 8785 canonical
// JSON, base64 in a DSSE envelope of the kind's payload type
// (application/vnd.tally.<kind>.v1+json), signed with key over DSSE's PAE.
// payload is JSON text ([]byte or json.RawMessage) or a value
// encoding/json marshals (such as a schemas event). The kind must be one of
// the vocabulary's (schemas.Kinds); the content is checked by the ledger.
func Sign(kind string, payload any, key *Key) (schemas.Envelope, error) {
	if key == nil {
		return schemas.Envelope{}, fmt.Errorf("%w: no key", ErrInvalid)
	}
	env, err := schemas.Sign(kind, payload, key.Private)
	if err != nil {
		return schemas.Envelope{}, fmt.Errorf("%w: sign: %w", ErrInvalid, err)
	}
	return env, nil
}
