package verifier_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/verifier"
)

func auditRecord(t *testing.T, env *schemas.Envelope) ledger.Record {
	t.Helper()
	b, err := env.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return ledger.Record{Seq: 7, ReceivedAt: time.Unix(0, 0), Envelope: b}
}

func auditIndexKey(name, key string) ledger.IndexKey {
	return ledger.IndexKey{Name: name, Key: []byte(key)}
}

func TestDomainIndex(t *testing.T) {
	bench := func(p verifier.BenchPayload) *schemas.Envelope {
		env, err := verifier.NewBenchEnvelope(benchKey, "k", p)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	example := func(kind string) *schemas.Envelope {
		env, err := schemas.ExampleEnvelope(kind)
		if err != nil {
			t.Fatal(err)
		}
		return &env
	}
	withPayload := func(env *schemas.Envelope, body string) *schemas.Envelope {
		e := *env
		e.Payload = base64.StdEncoding.EncodeToString([]byte(body))
		return &e
	}
	for _, tc := range []struct {
		name    string
		env     *schemas.Envelope
		want    []ledger.IndexKey
		wantErr error
	}{
		{
			name: "bench",
			env:  bench(verifier.BenchPayload{Lot: "lot-1", N: 1, Pad: "xx", Party: "coop"}),
			want: []ledger.IndexKey{auditIndexKey("kind", "bench"), auditIndexKey("party", "coop"), auditIndexKey("lot", "lot-1")},
		},
		{
			name: "bench without party",
			env:  bench(verifier.BenchPayload{Lot: "lot-1"}),
			want: []ledger.IndexKey{auditIndexKey("kind", "bench"), auditIndexKey("lot", "lot-1")},
		},
		{
			name: "hop.recorded",
			env:  example(schemas.KindHopRecorded),
			want: []ledger.IndexKey{
				auditIndexKey("kind", "hop.recorded"),
				auditIndexKey("party", "kolwezi-miners-coop"), auditIndexKey("party", "musompo-trader"),
				auditIndexKey("lot", "kolwezi-coop-2025-06-0001"),
				auditIndexKey("hop", "hop-kolwezi-2025-06-0001"),
			},
		},
		{
			name: "benchmark.published",
			env:  example(schemas.KindBenchmarkPublished),
			want: []ledger.IndexKey{auditIndexKey("kind", "benchmark.published"), auditIndexKey("party", "tally-operator")},
		},
		{
			name:    "bench payload with an unknown member",
			env:     withPayload(bench(verifier.BenchPayload{}), `{"lot":"a","n":1,"pad":"","party":"b","x":1}`),
			wantErr: verifier.ErrNotIndexable,
		},
		{
			name:    "vocabulary payload that does not decode",
			env:     withPayload(example(schemas.KindHopRecorded), `{"seller":1}`),
			wantErr: verifier.ErrNotIndexable,
		},
		{
			name:    "not a Tally payload type",
			env:     &schemas.Envelope{Payload: "e30=", PayloadType: "application/json"},
			wantErr: verifier.ErrNotIndexable,
		},
		{
			name:    "a kind outside the vocabulary",
			env:     &schemas.Envelope{Payload: "e30=", PayloadType: schemas.PayloadType("party.renamed")},
			wantErr: verifier.ErrNotIndexable,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := verifier.DomainIndex(auditRecord(t, tc.env))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			direct, err := verifier.EnvelopeIndex(tc.env)
			if !errors.Is(err, tc.wantErr) || !cmp.Equal(direct, got) {
				t.Errorf("EnvelopeIndex = %v, %v; DomainIndex = %v", direct, err, got)
			}
		})
	}
}

func TestBenchEnvelopeIsSignedAndCanonical(t *testing.T) {
	env, err := verifier.NewBenchEnvelope(benchKey, "k", verifier.BenchPayload{Lot: "l", N: 12, Pad: "p", Party: "q"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := env.Body()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"lot":"l","n":12,"pad":"p","party":"q"}`; string(body) != want || !schemas.IsCanonical(body) {
		t.Errorf("payload %s, want canonical %s", body, want)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(benchKey.Public().(ed25519.PublicKey), schemas.PAE(verifier.BenchPayloadType, body), sig) {
		t.Error("signature does not verify over the PAE")
	}
}

// A log holding every kind of the vocabulary, indexed by DomainIndex, passes
// the audit.
func TestAuditVocabulary(t *testing.T) {
	dir := t.TempDir()
	l, err := ledger.Open(dir, ledger.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var es []ledger.Entry
	for i, kind := range schemas.Kinds() {
		env, err := schemas.ExampleEnvelope(kind)
		if err != nil {
			t.Fatal(err)
		}
		b, err := env.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		d, err := env.Digest()
		if err != nil {
			t.Fatal(err)
		}
		keys, err := verifier.EnvelopeIndex(&env)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		es = append(es, ledger.Entry{Digest: d, ReceivedAt: time.Unix(int64(i), 0), Envelope: b, Index: keys})
	}
	es = append(es, auditEntry(t, 0))
	if _, _, err := l.Append(t.Context(), es); err != nil {
		t.Fatal(err)
	}
	rep, err := verifier.Audit(t.Context(), l, verifier.AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Size != uint64(len(es)) || rep.IndexEntries == 0 {
		t.Fatalf("audit of a vocabulary log: size %d, %d index entries, problems %v", rep.Size, rep.IndexEntries, rep.Problems)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}
