package events

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tally-ledger/tally/schemas"
)

// Rules named by the reasons Decode gives beyond schemas.DecodeEnvelope's.
const (
	RuleSize      = "max_size"  // larger than MaxSubmissionBytes
	RuleCanonical = "canonical" // payload is not RFC 8785 canonical JSON
)

// Decoded is a structurally valid envelope: it has Tally's strict envelope
// form (schemas.DecodeEnvelope) and carries an RFC 8785 canonical JSON
// payload. Whether its signatures verify and its statement is admissible is
// decided later, by admission.
type Decoded struct {
	Envelope schemas.Envelope
	// Canonical is the envelope's RFC 8785 encoding, the bytes the ledger
	// stores.
	Canonical []byte
	// Digest is the envelope's dedupe identity.
	Digest [32]byte
	// Kind is the event kind from the payload type.
	Kind string
	// Payload is the decoded (canonical JSON) payload.
	Payload []byte
}

// Decode checks the structure of a submitted envelope and returns it
// decoded, or the reasons it is not acceptable, each naming the field by
// JSON Pointer into the envelope and the rule broken. With reasons, the
// returned Decoded carries the envelope's Digest (non-zero) if it has one.
func Decode(data []byte) (Decoded, []Reason) {
	if len(data) > MaxSubmissionBytes {
		return Decoded{}, []Reason{{Path: "", Rule: RuleSize, Message: fmt.Sprintf("message is %d bytes; at most %d are accepted", len(data), MaxSubmissionBytes)}}
	}
	env, err := schemas.DecodeEnvelope(data)
	if err != nil {
		// Even an envelope that breaks the strict form usually has the
		// digest its submitter computed (encoding/json reading, payload
		// type and base64 payload): its rejection is answered under it,
		// so the submitter does not wait in vain.
		var d Decoded
		var loose schemas.Envelope
		if json.Unmarshal(data, &loose) == nil {
			if dg, err := loose.Digest(); err == nil {
				d.Digest = dg
			}
		}
		var ee *schemas.EnvelopeError
		if errors.As(err, &ee) && len(ee.Problems) > 0 {
			return d, ReasonsOf(ee.Problems)
		}
		return d, []Reason{{Path: "", Rule: "json", Message: err.Error()}}
	}
	kind, _ := schemas.KindOf(env.PayloadType)
	body, err := env.Body()
	if err != nil {
		return Decoded{}, []Reason{{Path: "/payload", Rule: "base64", Message: err.Error()}}
	}
	digest := schemas.StatementDigest(env.PayloadType, body)
	// From here the envelope has a digest, so a rejection can be answered
	// on tally.receipt.<digest>: the partial Decoded is returned with it.
	d := Decoded{Envelope: env, Digest: digest, Kind: kind}
	if !schemas.IsCanonical(body) {
		return d, []Reason{{Path: "/payload", Rule: RuleCanonical, Message: "payload is not RFC 8785 (JCS) canonical JSON; sign the canonical form"}}
	}
	canon, err := env.Canonical()
	if err != nil {
		return d, []Reason{{Path: "", Rule: "json", Message: "envelope does not encode: " + err.Error()}}
	}
	d.Canonical, d.Payload = canon, body
	return d, nil
}

// ReasonsOf converts the vocabulary's problems into rejection reasons.
func ReasonsOf(ps []schemas.Problem) []Reason {
	rs := make([]Reason, len(ps))
	for i, p := range ps {
		rs[i] = Reason{Path: p.Path, Rule: p.Rule, Message: p.Message}
	}
	return rs
}
