package schemas

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/gowebpki/jcs"
)

// Canonicalize returns the RFC 8785 (JCS) canonical JSON of a payload: a
// typed event or any value encoding/json marshals, or JSON text given as
// []byte or json.RawMessage.
func Canonicalize(payload any) ([]byte, error) {
	var raw []byte
	switch p := payload.(type) {
	case []byte:
		raw = p
	case json.RawMessage:
		raw = p
	default:
		b, err := json.Marshal(payload)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidPayload, err)
		}
		raw = b
	}
	out, err := jcs.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: not canonicalizable JSON: %v", ErrInvalidPayload, err)
	}
	return out, nil
}

// Sign makes a signed statement: the payload's canonical JSON
// (Canonicalize) in an envelope of the kind's payload type, signed by priv
// over DSSE's PAE. It checks the kind but not the content: Validate first
// what must be valid.
func Sign(kind string, payload any, priv ed25519.PrivateKey) (Envelope, error) {
	if !KnownKind(kind) {
		return Envelope{}, fmt.Errorf("%w %q", ErrUnknownKind, kind)
	}
	body, err := Canonicalize(payload)
	if err != nil {
		return Envelope{}, err
	}
	if len(body) == 0 || body[0] != '{' {
		return Envelope{}, fmt.Errorf("%w: a statement is a JSON object, not %.20s", ErrInvalidPayload, body)
	}
	e := Envelope{Payload: base64.StdEncoding.EncodeToString(body), PayloadType: PayloadType(kind)}
	if err := e.Sign(priv); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// Sign adds priv's signature to the envelope, replacing an earlier
// signature by the same key. A statement that needs two signers (say, the
// old and the new key of a rotation) is signed twice.
func (e *Envelope) Sign(priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: private key of %d bytes", ErrInvalidKey, len(priv))
	}
	msg, err := e.SignedMessage()
	if err != nil {
		return err
	}
	pub := priv.Public().(ed25519.PublicKey)
	s := Signature{KeyID: KeyID(pub), Sig: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, msg))}
	for i := range e.Signatures {
		if e.Signatures[i].KeyID == s.KeyID {
			e.Signatures[i] = s
			return nil
		}
	}
	e.Signatures = append(e.Signatures, s)
	return nil
}
