package schemas

import (
	"bytes"
	"fmt"

	"github.com/gowebpki/jcs"
)

// DecodeEvent reads the statement an envelope carries: the kind named by
// its payload type, then the payload, which must be RFC 8785 canonical JSON
// (what was signed is what every replica hashes and re-serializes) and
// must decode strictly into the kind's type (see DecodePayload). The event
// is returned whenever the payload decoded, even with problems (a
// non-canonical payload, say), so a caller can report more; any problem
// makes the statement inadmissible. DecodeEvent does not apply the
// vocabulary's rules: call Validate for those.
func DecodeEvent(e *Envelope) (Event, []Problem) {
	if e == nil {
		return nil, []Problem{{Path: "", Rule: "required", Message: "no envelope"}}
	}
	if kind, ok := KindOf(e.PayloadType); !ok || !KnownKind(kind) {
		return nil, []Problem{kindProblem(e.PayloadType)}
	}
	body, err := e.Body()
	if err != nil {
		return nil, []Problem{{Path: "", Rule: "base64", Message: "payload must be standard base64 with padding"}}
	}
	return DecodeEventPayload(e.PayloadType, body)
}

func kindProblem(payloadType string) Problem {
	return Problem{Path: "", Rule: "kind", Message: fmt.Sprintf("payloadType %q names no event kind of the vocabulary (want %s<kind>%s with kind one of %v)",
		clip(payloadType), PayloadTypePrefix, PayloadTypeSuffix, kinds)}
}

// DecodeEventPayload is DecodeEvent for a caller that has decoded the
// envelope's payload already: body is its base64-decoded payload and
// payloadType its payloadType.
func DecodeEventPayload(payloadType string, body []byte) (Event, []Problem) {
	kind, ok := KindOf(payloadType)
	if !ok || !KnownKind(kind) {
		return nil, []Problem{kindProblem(payloadType)}
	}
	// The common case in one pass: canonical, and its tree built on the way.
	if tree, ok := scanCanonical(body, true); ok {
		return decodePayloadWith(kind, body, func(v any) ([]Problem, bool) { return decodeTree(body, tree, v) })
	}
	var problems []Problem
	p := canonicalProblem(body)
	if p != nil {
		problems = append(problems, *p)
	}
	ev, more := decodePayload(kind, body, p == nil)
	problems = append(problems, more...)
	sortProblems(problems)
	return ev, problems
}

func canonicalProblem(body []byte) *Problem {
	if _, ok := scanCanonical(body, false); ok {
		return nil
	}
	canon, err := jcs.Transform(body)
	if err == nil && bytes.Equal(canon, body) {
		return nil
	}
	msg := "payload is not RFC 8785 canonical JSON"
	if err != nil {
		msg += ": " + err.Error()
	} else {
		msg += " (members must be sorted, without insignificant whitespace, numbers and strings in their shortest form)"
	}
	return &Problem{Path: "", Rule: "canonical", Message: msg}
}

// IsCanonical reports whether body is RFC 8785 canonical JSON.
func IsCanonical(body []byte) bool { return canonicalProblem(body) == nil }

// DecodePayload decodes a payload of the given kind strictly: one JSON
// value in valid UTF-8, no duplicate, unknown or case-mismatched member, no
// null, every value of its field's JSON type, no empty string for an
// optional member, at most MaxPayloadSize bytes. It does not require
// canonical form (a bare payload is canonicalized when it is signed) and
// does not apply the vocabulary's rules (Validate). The event is nil when
// the payload could not be decoded at all.
func DecodePayload(kind string, body []byte) (Event, []Problem) {
	return decodePayload(kind, body, false)
}

func decodePayload(kind string, body []byte, canonical bool) (Event, []Problem) {
	return decodePayloadWith(kind, body, func(v any) ([]Problem, bool) { return decodeChecked(body, v, canonical) })
}

// decodePayloadWith decodes a payload of the kind with decode (the strict
// decoder, given the event to fill).
func decodePayloadWith(kind string, body []byte, decode func(v any) ([]Problem, bool)) (Event, []Problem) {
	ev, err := New(kind)
	if err != nil {
		return nil, []Problem{{Path: "", Rule: "kind", Message: fmt.Sprintf("unknown event kind %q (want one of %v)", clip(kind), kinds)}}
	}
	if len(body) > MaxPayloadSize {
		return nil, []Problem{{Path: "", Rule: "max_size", Message: fmt.Sprintf("payload is %d bytes, more than the %d allowed", len(body), MaxPayloadSize)}}
	}
	problems, ok := decode(ev)
	sortProblems(problems)
	if !ok {
		return nil, problems
	}
	return ev, problems
}

// ValidatePayload decodes a bare payload of the kind (DecodePayload) and,
// when it decoded, applies the vocabulary's rules (Validate): every
// problem a payload can have short of canonical form and signatures. This
// is what `tally validate` checks offline.
func ValidatePayload(kind string, body []byte) (Event, []Problem) {
	ev, problems := DecodePayload(kind, body)
	if ev != nil {
		problems = append(problems, Validate(ev)...)
		sortProblems(problems)
	}
	return ev, problems
}

// ValidateEnvelope decodes the statement an envelope carries (DecodeEvent,
// which requires canonical form) and, when it decoded, applies the
// vocabulary's rules (Validate). Signatures are not its business: see
// Envelope.Verify and VerifyBatch.
func ValidateEnvelope(e *Envelope) (Event, []Problem) {
	ev, problems := DecodeEvent(e)
	if ev != nil {
		problems = append(problems, Validate(ev)...)
		sortProblems(problems)
	}
	return ev, problems
}
