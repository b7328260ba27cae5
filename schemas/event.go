package schemas

import (
	"fmt"
	"regexp"
)

// Event kinds of vocabulary version 1. The kind travels in the envelope's
// payloadType (application/vnd.tally.<kind>.v1+json), which every signature
// covers through PAE; payloads do not repeat it.
const (
	KindPartyRegistered     = "party.registered"
	KindPartyKeyRotated     = "party.key_rotated"
	KindPartyKeyRevoked     = "party.key_revoked"
	KindHopRecorded         = "hop.recorded"
	KindAttestationRecorded = "attestation.recorded"
	KindBenchmarkPublished  = "benchmark.published"
)

// Event is one statement of the vocabulary: *PartyRegistered,
// *PartyKeyRotated, *PartyKeyRevoked, *HopRecorded, *AttestationRecorded or
// *BenchmarkPublished. The set is closed: a new kind is a new version of
// the vocabulary.
type Event interface {
	// Kind is the event kind, e.g. "hop.recorded".
	Kind() string
	isEvent()
}

var kinds = []string{
	KindPartyRegistered,
	KindPartyKeyRotated,
	KindPartyKeyRevoked,
	KindHopRecorded,
	KindAttestationRecorded,
	KindBenchmarkPublished,
}

// Kinds returns every event kind of the vocabulary, in a fixed order.
func Kinds() []string { return append([]string(nil), kinds...) }

// KnownKind reports whether kind is in the vocabulary.
func KnownKind(kind string) bool {
	_, err := New(kind)
	return err == nil
}

// New returns a pointer to a zero event of the kind, ready to be decoded
// into.
func New(kind string) (Event, error) {
	switch kind {
	case KindPartyRegistered:
		return &PartyRegistered{}, nil
	case KindPartyKeyRotated:
		return &PartyKeyRotated{}, nil
	case KindPartyKeyRevoked:
		return &PartyKeyRevoked{}, nil
	case KindHopRecorded:
		return &HopRecorded{}, nil
	case KindAttestationRecorded:
		return &AttestationRecorded{}, nil
	case KindBenchmarkPublished:
		return &BenchmarkPublished{}, nil
	}
	return nil, fmt.Errorf("%w %q (want one of %v)", ErrUnknownKind, kind, kinds)
}

// kindSyntax is the form a kind must have to appear in a payload type:
// dotted lowercase words. It keeps payload types printable ASCII, so the
// envelope's canonical bytes are exact.
var kindSyntax = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

func (*PartyRegistered) Kind() string     { return KindPartyRegistered }
func (*PartyKeyRotated) Kind() string     { return KindPartyKeyRotated }
func (*PartyKeyRevoked) Kind() string     { return KindPartyKeyRevoked }
func (*HopRecorded) Kind() string         { return KindHopRecorded }
func (*AttestationRecorded) Kind() string { return KindAttestationRecorded }
func (*BenchmarkPublished) Kind() string  { return KindBenchmarkPublished }

func (*PartyRegistered) isEvent()     {}
func (*PartyKeyRotated) isEvent()     {}
func (*PartyKeyRevoked) isEvent()     {}
func (*HopRecorded) isEvent()         {}
func (*AttestationRecorded) isEvent() {}
func (*BenchmarkPublished) isEvent()  {}
