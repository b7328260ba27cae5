package schemas

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
)

// Limits on what Tally accepts. A hop with dozens of labour categories and
// inputs stays far below them; they bound the work a hostile submission can
// cause before its signatures are checked.
const (
	MaxPayloadSize  = 64 << 10  // bytes of decoded payload
	MaxEnvelopeSize = 128 << 10 // bytes of envelope JSON
	MaxSignatures   = 4
)

// sigSyntax is standard base64 of exactly 64 bytes with zero padding bits.
var sigSyntax = regexp.MustCompile(`^[A-Za-z0-9+/]{85}[AQgw]==$`)

// EnvelopeError reports every way an envelope departs from Tally's strict
// form, each with a JSON Pointer into the envelope. It wraps
// ErrMalformedEnvelope.
type EnvelopeError struct {
	Problems []Problem
}

func (e *EnvelopeError) Error() string {
	if len(e.Problems) == 0 {
		return ErrMalformedEnvelope.Error()
	}
	msg := ErrMalformedEnvelope.Error() + ": " + e.Problems[0].String()
	if n := len(e.Problems) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more)", n)
	}
	return msg
}

func (e *EnvelopeError) Unwrap() error { return ErrMalformedEnvelope }

// DecodeEnvelope reads a DSSE envelope strictly: exactly the members
// payload, payloadType and signatures (no others, no duplicates, no null);
// a payloadType of Tally's form; a payload in strict standard base64 of at
// most MaxPayloadSize bytes; 1 to MaxSignatures signatures, each with a key
// id of KeyID's form (distinct from the others) and a standard base64
// Ed25519 signature. Every string is then printable ASCII, so Canonical
// reproduces the envelope exactly. It neither checks the payload's content
// (DecodeEvent, Validate) nor verifies signatures (Verify).
func DecodeEnvelope(b []byte) (Envelope, error) {
	if len(b) > MaxEnvelopeSize {
		return Envelope{}, &EnvelopeError{Problems: []Problem{{Path: "", Rule: "max_size",
			Message: fmt.Sprintf("envelope is %d bytes, more than the %d allowed", len(b), MaxEnvelopeSize)}}}
	}
	e, ok := decodeEnvelopeFast(b)
	var problems []Problem
	if !ok {
		if problems, ok = strictDecode(b, &e); !ok {
			return Envelope{}, &EnvelopeError{Problems: problems}
		}
	}
	problems = append(problems, envelopeProblems(&e)...)
	if len(problems) > 0 {
		sortProblems(problems)
		return Envelope{}, &EnvelopeError{Problems: problems}
	}
	return e, nil
}

func envelopeProblems(e *Envelope) []Problem {
	var ps []Problem
	add := func(path, rule, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	if e.PayloadType == "" {
		add("/payloadType", "required", "payloadType is required")
	} else if kind, ok := KindOf(e.PayloadType); !ok || !isKind(kind) {
		add("/payloadType", "payload_type", "payloadType must be %s<kind>%s with a lowercase dotted kind, not %q",
			PayloadTypePrefix, PayloadTypeSuffix, clip(e.PayloadType))
	}
	switch {
	case e.Payload == "":
		add("/payload", "required", "payload is required")
	case base64.StdEncoding.DecodedLen(len(e.Payload)) > MaxPayloadSize+2:
		add("/payload", "max_size", "payload decodes to more than the %d bytes allowed", MaxPayloadSize)
	default:
		body, err := base64.StdEncoding.Strict().DecodeString(e.Payload)
		switch {
		case err != nil:
			add("/payload", "base64", "payload must be standard base64 with padding (RFC 4648 §4): %v", err)
		case len(body) > MaxPayloadSize:
			add("/payload", "max_size", "payload is %d bytes, more than the %d allowed", len(body), MaxPayloadSize)
		}
	}
	switch n := len(e.Signatures); {
	case n == 0:
		add("/signatures", "min", "signatures must hold at least one signature")
	case n > MaxSignatures:
		add("/signatures", "max", "signatures must hold at most %d signatures, not %d", MaxSignatures, n)
	}
	seen := map[string]bool{}
	for i, s := range e.Signatures {
		at := index("/signatures", i)
		if !isKeyID(s.KeyID) {
			add(at+"/keyid", "keyid", "keyid must be %q followed by 64 lowercase hex digits (the SHA-256 of the raw public key), not %q",
				KeyIDPrefix, clip(s.KeyID))
		} else if seen[s.KeyID] {
			add(at+"/keyid", "unique", "keyid %s signs twice", s.KeyID)
		}
		seen[s.KeyID] = true
		if !isSigSyntax(s.Sig) {
			add(at+"/sig", "signature", "sig must be standard base64 of a 64-byte Ed25519 signature")
		}
	}
	return ps
}

// clip shortens a hostile string before it is quoted back in a message.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}

// decodeEnvelopeFast reads an envelope written exactly as Canonical writes
// it, with every string printable ASCII without escapes (the form every
// Tally producer sends):
//
//	{"payload":"…","payloadType":"…","signatures":[{"keyid":"…","sig":"…"},…]}
//
// For such input the strict decoder finds nothing to object to and fills
// the same Envelope, so the rules (envelopeProblems) are all that remains;
// anything else (ok false) goes through the strict decoder.
func decodeEnvelopeFast(b []byte) (e Envelope, ok bool) {
	i := 0
	lit := func(s string) bool {
		if len(b)-i < len(s) || string(b[i:i+len(s)]) != s {
			return false
		}
		i += len(s)
		return true
	}
	str := func() (string, bool) {
		start := i
		for ; i < len(b); i++ {
			switch c := b[i]; {
			case c == '"':
				s := string(b[start:i])
				i++
				return s, true
			case c < 0x20 || c > 0x7e || c == '\\':
				return "", false
			}
		}
		return "", false
	}
	if !lit(`{"payload":"`) {
		return Envelope{}, false
	}
	if e.Payload, ok = str(); !ok || !lit(`,"payloadType":"`) {
		return Envelope{}, false
	}
	if e.PayloadType, ok = str(); !ok || !lit(`,"signatures":[`) {
		return Envelope{}, false
	}
	for {
		var s Signature
		if !lit(`{"keyid":"`) {
			return Envelope{}, false
		}
		if s.KeyID, ok = str(); !ok || !lit(`,"sig":"`) {
			return Envelope{}, false
		}
		if s.Sig, ok = str(); !ok || !lit(`}`) {
			return Envelope{}, false
		}
		e.Signatures = append(e.Signatures, s)
		if !lit(`,`) {
			break
		}
	}
	if !lit(`]}`) || i != len(b) {
		return Envelope{}, false
	}
	return e, true
}

// isKind, isKeyID and isSigSyntax are kindSyntax, keyIDSyntax and
// sigSyntax written out: every envelope is checked against them, and a
// regular expression costs more than the rest of decoding the envelope.
func isKind(s string) bool {
	start := true // at the start of a dotted component
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
		case ('0' <= c && c <= '9') || c == '_':
			if start {
				return false
			}
		case c == '.':
			if start {
				return false
			}
			start = true
			continue
		default:
			return false
		}
		start = false
	}
	return len(s) > 0 && !start
}

func isKeyID(s string) bool {
	if len(s) != len(KeyIDPrefix)+64 || s[:len(KeyIDPrefix)] != KeyIDPrefix {
		return false
	}
	for i := len(KeyIDPrefix); i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9') && !('a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isSigSyntax(s string) bool {
	if len(s) != 88 || s[86:] != "==" {
		return false
	}
	for i := 0; i < 85; i++ {
		if c := s[i]; !('A' <= c && c <= 'Z') && !('a' <= c && c <= 'z') && !('0' <= c && c <= '9') && c != '+' && c != '/' {
			return false
		}
	}
	switch s[85] {
	case 'A', 'Q', 'g', 'w':
		return true
	}
	return false
}
