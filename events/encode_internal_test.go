package events

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// TestEncodeCommitted: the committed feed's message is what encoding/json
// makes of Committed, for envelopes in canonical and other JSON forms, and
// null for bytes that are not JSON.
func TestEncodeCommitted(t *testing.T) {
	env, err := schemas.ExampleEnvelope(schemas.KindHopRecorded)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := env.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	r := &Receipt{Seq: 41, Digest: "ab", Kind: schemas.KindHopRecorded, ReceivedAt: "2025-06-15T09:00:00.5Z", EntryHash: "cd", ChainHash: "ef"}
	for _, c := range []struct {
		name string
		env  []byte
	}{
		{"canonical", canon},
		{"with whitespace", []byte(" {\"payload\" : \"e30=\",\n \"signatures\": [] } ")},
		{"not JSON", []byte("{not json")},
		{"empty", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := encodeCommitted(r, c.env, false)
			if err != nil {
				t.Fatal(err)
			}
			if json.Valid(c.env) && bytes.Equal(c.env, canon) {
				// Known canonical: appended as it is, same bytes.
				fast, err := encodeCommitted(r, c.env, true)
				if err != nil || !bytes.Equal(fast, got) {
					t.Fatalf("encodeCommitted of a canonical envelope:\n got %s (%v)\nwant %s", fast, err, got)
				}
			}
			var raw json.RawMessage
			if json.Valid(c.env) {
				raw = c.env
			}
			want, err := json.Marshal(Committed{Seq: r.Seq, Digest: r.Digest, Kind: r.Kind, ReceivedAt: r.ReceivedAt,
				EntryHash: r.EntryHash, ChainHash: r.ChainHash, Envelope: raw})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("encodeCommitted:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestRecordFields: received_at and the envelope are read from the
// ledger's record encoding as a JSON parser reads them; other forms are
// left to the parser.
func TestRecordFields(t *testing.T) {
	env, err := schemas.ExampleEnvelope(schemas.KindPartyRegistered)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := env.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{
		time.Date(2025, 6, 15, 9, 0, 0, 0, time.UTC),
		time.Date(2025, 6, 15, 9, 0, 0, 123456789, time.FixedZone("", 2*3600)),
	} {
		for _, seq := range []uint64{0, 7, 1234567} {
			rec := ledger.Record{Seq: seq, ReceivedAt: at, Envelope: canon}.Bytes()
			got, ok := recordFields(rec, seq)
			if !ok {
				t.Fatalf("recordFields rejects %s", rec)
			}
			var want storedFields
			if err := json.Unmarshal(rec, &want); err != nil {
				t.Fatal(err)
			}
			if got.ReceivedAt != want.ReceivedAt || string(got.Envelope) != string(want.Envelope) {
				t.Fatalf("recordFields(%s) = %q, %s; want %q, %s", rec, got.ReceivedAt, got.Envelope, want.ReceivedAt, want.Envelope)
			}
			if _, ok := recordFields(rec, seq+1); ok {
				t.Errorf("recordFields accepts record %d as %d", seq, seq+1)
			}
		}
	}
	for _, bad := range []string{``, `{}`, `{"envelope":{},"seq":1}`, `{"received_at":"x","envelope":{},"seq":1}`, `{"envelope":,"received_at":"x","seq":1}`} {
		if f, ok := recordFields([]byte(bad), 1); ok {
			t.Errorf("recordFields(%s) = %+v, want not ok", bad, f)
		}
	}
}
