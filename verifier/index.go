package verifier

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// BenchKind is the event kind of synthetic records written by
// `tally bench`. It is not part of the vocabulary: admission rejects it, so
// it can never enter a log through ingest. It exists so that a benchmark log
// is a well-formed log (real DSSE envelopes, real Ed25519 signatures, real
// index keys) that passes the same audit as a production one.
const BenchKind = "bench"

// BenchPayloadType is the DSSE payload type of BenchKind.
var BenchPayloadType = schemas.PayloadType(BenchKind)

// BenchPayload is the event of BenchKind. Its fields are declared in RFC
// 8785 key order and hold ASCII only, so encoding/json produces the
// canonical form. Pad only makes the record as large as a benchmark asks.
type BenchPayload struct {
	Lot   string `json:"lot"`
	N     uint64 `json:"n"`
	Pad   string `json:"pad"`
	Party string `json:"party"`
}

// NewBenchEnvelope returns the signed DSSE envelope of a bench event: the
// payload's canonical JSON, signed with key over DSSE's PAE.
func NewBenchEnvelope(key ed25519.PrivateKey, keyID string, p BenchPayload) (*schemas.Envelope, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("verifier: encode bench payload: %w", err)
	}
	body := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	sig := ed25519.Sign(key, schemas.PAE(BenchPayloadType, body))
	return &schemas.Envelope{
		Payload:     base64.StdEncoding.EncodeToString(body),
		PayloadType: BenchPayloadType,
		Signatures:  []schemas.Signature{{KeyID: keyID, Sig: base64.StdEncoding.EncodeToString(sig)}},
	}, nil
}

// DomainIndex returns the secondary index keys of a stored record, exactly
// as the ingest path writes them: see EnvelopeIndex.
func DomainIndex(rec ledger.Record) ([]ledger.IndexKey, error) {
	var env schemas.Envelope
	if err := json.Unmarshal(rec.Envelope, &env); err != nil {
		return nil, fmt.Errorf("%w: record %d: envelope: %v", ErrNotIndexable, rec.Seq, err)
	}
	keys, err := EnvelopeIndex(&env)
	if err != nil {
		return nil, fmt.Errorf("record %d: %w", rec.Seq, err)
	}
	return keys, nil
}

// EnvelopeIndex returns the secondary index keys of an envelope: for the
// vocabulary, the terms of its decoded event (EventIndex); for BenchKind,
// the kind, then the party and lot of its payload. An envelope whose
// payload type is not a Tally kind, or whose event does not decode cleanly,
// has no index keys and an error wrapping ErrNotIndexable.
func EnvelopeIndex(env *schemas.Envelope) ([]ledger.IndexKey, error) {
	kind, ok := schemas.KindOf(env.PayloadType)
	if !ok {
		return nil, fmt.Errorf("%w: /payloadType %q is not application/vnd.tally.<kind>.v1+json", ErrNotIndexable, env.PayloadType)
	}
	if kind == BenchKind {
		return benchIndex(env)
	}
	ev, problems := schemas.DecodeEvent(env)
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.String()
		}
		return nil, fmt.Errorf("%w: %s event: %s", ErrNotIndexable, kind, strings.Join(msgs, "; "))
	}
	return EventIndex(ev), nil
}

// EventIndex returns the index keys of a decoded vocabulary event: one per
// schemas.Terms entry, named by the term. The ingest path, which has decoded
// the event already, calls it directly.
func EventIndex(ev schemas.Event) []ledger.IndexKey {
	terms := schemas.Terms(ev)
	keys := make([]ledger.IndexKey, len(terms))
	for i, t := range terms {
		keys[i] = ledger.IndexKey{Name: t.Name, Key: []byte(t.Key)}
	}
	return keys
}

// benchIndex returns the index keys of a bench envelope: its kind, party
// and lot, under the vocabulary's term names.
func benchIndex(env *schemas.Envelope) ([]ledger.IndexKey, error) {
	body, err := env.Body()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotIndexable, err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var p BenchPayload
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: /payload: not a bench event: %v", ErrNotIndexable, err)
	}
	keys := []ledger.IndexKey{{Name: schemas.TermKind, Key: []byte(BenchKind)}}
	if p.Party != "" {
		keys = append(keys, ledger.IndexKey{Name: schemas.TermParty, Key: []byte(p.Party)})
	}
	if p.Lot != "" {
		keys = append(keys, ledger.IndexKey{Name: schemas.TermLot, Key: []byte(p.Lot)})
	}
	return keys, nil
}
