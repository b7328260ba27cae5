package ledger_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tally-ledger/tally/ledger"
)

func TestRecordBytes(t *testing.T) {
	tests := []struct {
		name string
		rec  ledger.Record
		want string
	}{
		{
			"nanoseconds",
			ledger.Record{Seq: 0, ReceivedAt: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), Envelope: []byte(`{"payload":"e30=","payloadType":"t","signatures":[]}`)},
			`{"envelope":{"payload":"e30=","payloadType":"t","signatures":[]},"received_at":"2025-01-02T03:04:05.000000006Z","seq":0}`,
		},
		{
			"whole seconds, other zone",
			ledger.Record{Seq: 1234567, ReceivedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("", -5*3600)), Envelope: []byte(`{}`)},
			`{"envelope":{},"received_at":"2025-01-02T08:04:05Z","seq":1234567}`,
		},
		{
			"largest seq",
			ledger.Record{Seq: ledger.MaxSeq, ReceivedAt: time.Date(1, 1, 1, 0, 0, 0, 500_000_000, time.UTC), Envelope: []byte(`{"a":[1,true,null,"\u001f"]}`)},
			`{"envelope":{"a":[1,true,null,"\u001f"]},"received_at":"0001-01-01T00:00:00.5Z","seq":9007199254740991}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.rec.Bytes()
			if string(got) != tc.want {
				t.Fatalf("Bytes()\n got %s\nwant %s", got, tc.want)
			}
			back, err := ledger.DecodeRecord(got)
			if err != nil {
				t.Fatalf("DecodeRecord: %v", err)
			}
			if diff := cmp.Diff(tc.rec.ReceivedAt.UTC(), back.ReceivedAt); diff != "" || back.Seq != tc.rec.Seq || string(back.Envelope) != string(tc.rec.Envelope) {
				t.Errorf("round trip: got %+v, want %+v", back, tc.rec)
			}
		})
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	env := `{"payload":"e30=","payloadType":"t","signatures":[]}`
	rec := func(env, ts, seq string) string {
		return `{"envelope":` + env + `,"received_at":"` + ts + `","seq":` + seq + `}`
	}
	good := rec(env, "2025-01-02T03:04:05Z", "7")
	if _, err := ledger.DecodeRecord([]byte(good)); err != nil {
		t.Fatalf("the well-formed base case does not decode: %v", err)
	}
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, "not of the form"},
		{"not json", `hello`, "not of the form"},
		{"leading zero seq", rec(env, "2025-01-02T03:04:05Z", "07"), "seq: not a canonical"},
		{"negative seq", rec(env, "2025-01-02T03:04:05Z", "-7"), "seq"},
		{"seq beyond 2^53", rec(env, "2025-01-02T03:04:05Z", "9007199254740992"), "seq: out of range"},
		{"seq as float", rec(env, "2025-01-02T03:04:05Z", "7.0"), "seq"},
		{"offset instead of Z", rec(env, "2025-01-02T03:04:05+00:00", "7"), "received_at: not in canonical form"},
		{"trailing zero fraction", rec(env, "2025-01-02T03:04:05.100Z", "7"), "received_at: not in canonical form"},
		{"not a time", rec(env, "yesterday", "7"), "received_at: not RFC 3339"},
		{"whitespace in envelope", rec(`{"payload": "e30="}`, "2025-01-02T03:04:05Z", "7"), "envelope: not RFC 8785 canonical"},
		{"envelope not an object", rec(`"x"`, "2025-01-02T03:04:05Z", "7"), "envelope"},
		{"envelope unsorted", rec(`{"b":1,"a":1}`, "2025-01-02T03:04:05Z", "7"), "envelope"},
		{"members out of order", `{"seq":7,"envelope":` + env + `,"received_at":"2025-01-02T03:04:05Z"}`, "record"},
		{"space after colon", `{"envelope": ` + env + `,"received_at":"2025-01-02T03:04:05Z","seq":7}`, "envelope"},
		{"extra member", strings.Replace(good, `"seq":7}`, `"seq":7,"x":1}`, 1), "record"},
		{"trailing newline", good + "\n", "not of the form"},
		{"missing envelope", `{"envelope":,"received_at":"2025-01-02T03:04:05Z","seq":7}`, "envelope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ledger.DecodeRecord([]byte(tc.in))
			if !errors.Is(err, ledger.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeRecord = %v, want ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
}
