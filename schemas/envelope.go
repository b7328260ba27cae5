package schemas

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// PayloadTypePrefix and PayloadTypeSuffix frame every Tally payload type:
// application/vnd.tally.<kind>.v1+json.
const (
	PayloadTypePrefix = "application/vnd.tally."
	PayloadTypeSuffix = ".v1+json"
)

// PayloadType returns the DSSE payload type of an event kind.
func PayloadType(kind string) string { return PayloadTypePrefix + kind + PayloadTypeSuffix }

// KindOf returns the event kind named by a payload type, and whether the
// type has Tally's form at all.
func KindOf(payloadType string) (string, bool) {
	// The length check keeps a type in which prefix and suffix overlap
	// ("application/vnd.tally.v1+json") from slicing out of range.
	if len(payloadType) < len(PayloadTypePrefix)+len(PayloadTypeSuffix) ||
		!strings.HasPrefix(payloadType, PayloadTypePrefix) || !strings.HasSuffix(payloadType, PayloadTypeSuffix) {
		return "", false
	}
	k := payloadType[len(PayloadTypePrefix) : len(payloadType)-len(PayloadTypeSuffix)]
	return k, k != ""
}

// Signature is one DSSE signature.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"` // standard base64
}

// Envelope is a DSSE envelope as submitted to Tally.
//
// Its JSON form on the ledger is RFC 8785 canonical: the keys of an object
// sort as payload, payloadType, signatures and keyid, sig, which is the
// declaration order below, and the values are plain strings, so
// encoding/json with HTML escaping off produces the canonical bytes.
type Envelope struct {
	Payload     string      `json:"payload"` // standard base64 of the JCS-canonical event JSON
	PayloadType string      `json:"payloadType"`
	Signatures  []Signature `json:"signatures"`
}

// PAE is DSSE's pre-authentication encoding, the bytes every signature signs:
// "DSSEv1" SP len(type) SP type SP len(body) SP body.
func PAE(payloadType string, body []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(payloadType) + len(body) + 32)
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(body)))
	b.WriteByte(' ')
	b.Write(body)
	return b.Bytes()
}

// Body returns the decoded payload bytes.
func (e *Envelope) Body() ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("/payload: not standard base64: %w", err)
	}
	return b, nil
}

// Digest is the envelope's identity for deduplication: SHA-256 over the PAE
// of its payload type and payload. It names what was said, not who signed it
// or how the signatures were listed, so the same statement submitted twice
// (or re-signed) is one entry. A payload that is not valid base64 has no
// digest.
func (e *Envelope) Digest() ([32]byte, error) {
	body, err := e.Body()
	if err != nil {
		return [32]byte{}, err
	}
	return StatementDigest(e.PayloadType, body), nil
}

// StatementDigest is Envelope.Digest for a caller that has the decoded
// payload (body) already.
func StatementDigest(payloadType string, body []byte) [32]byte {
	return sha256.Sum256(PAE(payloadType, body))
}

// Canonical returns the RFC 8785 canonical JSON of the envelope.
func (e *Envelope) Canonical() ([]byte, error) {
	if b, ok := e.canonicalPlain(); ok {
		return b, nil
	}
	return e.canonicalEncoded()
}

// canonicalEncoded is Canonical through encoding/json, for any strings.
func (e *Envelope) canonicalEncoded() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	sigs := e.Signatures
	if sigs == nil {
		sigs = []Signature{}
	}
	if err := enc.Encode(Envelope{Payload: e.Payload, PayloadType: e.PayloadType, Signatures: sigs}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// canonicalPlain writes the canonical form directly when every string is
// printable ASCII without '"' or '\\' (what DecodeEnvelope accepts): such
// strings need no escaping, so the bytes are those encoding/json writes.
func (e *Envelope) canonicalPlain() ([]byte, bool) {
	plain := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				return false
			}
		}
		return true
	}
	n := len(e.Payload) + len(e.PayloadType) + 48
	if !plain(e.Payload) || !plain(e.PayloadType) {
		return nil, false
	}
	for _, s := range e.Signatures {
		if !plain(s.KeyID) || !plain(s.Sig) {
			return nil, false
		}
		n += len(s.KeyID) + len(s.Sig) + 20
	}
	b := make([]byte, 0, n)
	b = append(b, `{"payload":"`...)
	b = append(b, e.Payload...)
	b = append(b, `","payloadType":"`...)
	b = append(b, e.PayloadType...)
	b = append(b, `","signatures":[`...)
	for i, s := range e.Signatures {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"keyid":"`...)
		b = append(b, s.KeyID...)
		b = append(b, `","sig":"`...)
		b = append(b, s.Sig...)
		b = append(b, `"}`...)
	}
	return append(b, `]}`...), true
}
