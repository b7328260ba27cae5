package verifier_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/verifier"
)

// FuzzAdmit feeds arbitrary envelopes to admission against a small state
// (the example parties and hop): it must never panic, must reach the same
// verdict twice, and anything it admits must have a digest and an entry.
func FuzzAdmit(f *testing.F) {
	for _, kind := range schemas.Kinds() {
		env, err := schemas.ExampleEnvelope(kind)
		if err != nil {
			f.Fatal(err)
		}
		b, err := env.Canonical()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, int64(0))
	}
	f.Add([]byte(`{"payload":"e30=","payloadType":"application/vnd.tally.hop.recorded.v1+json","signatures":[]}`), int64(-1))

	al := newAdmitLog(f)
	at := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	var setup []verifier.Candidate
	for _, kind := range []string{schemas.KindPartyRegistered, schemas.KindHopRecorded} {
		env, err := schemas.ExampleEnvelope(kind)
		if err != nil {
			f.Fatal(err)
		}
		setup = append(setup, verifier.Candidate{Envelope: env, ReceivedAt: at})
	}
	trader := &schemas.PartyRegistered{ID: "musompo-trader", Name: "Trader", Role: "trader", Country: "CD", OrgForm: "corporation",
		Keys: []string{schemas.EncodePublicKey(schemas.ExampleKey("musompo-trader").Public().(ed25519.PublicKey))}}
	env, err := schemas.Sign(trader.Kind(), trader, schemas.ExampleKey("musompo-trader"))
	if err != nil {
		f.Fatal(err)
	}
	setup = append([]verifier.Candidate{setup[0], {Envelope: env, ReceivedAt: at}}, setup[1:]...)
	for _, v := range al.submit(f, setup...) {
		if v.Status != verifier.Admitted {
			f.Fatalf("setup: %s", verdictString(v))
		}
	}
	st := al.adm.State()

	f.Fuzz(func(t *testing.T, data []byte, offset int64) {
		env, err := schemas.DecodeEnvelope(data)
		if err != nil {
			return
		}
		c := verifier.Candidate{Envelope: env, ReceivedAt: at.Add(time.Duration(offset))}
		v1 := verifier.Admit(st, c)
		v2 := verifier.Admit(st, c)
		v1.Event, v2.Event = nil, nil
		if diff := cmp.Diff(v1, v2); diff != "" {
			t.Fatalf("two verdicts on one envelope (-first +second):\n%s", diff)
		}
		if v1.Status == verifier.Admitted && (v1.Digest == [32]byte{} || len(v1.Entry.Envelope) == 0) {
			t.Fatalf("admitted without digest or entry: %s", verdictString(v1))
		}
		vs, err := al.adm.AdmitBatch(context.Background(), []verifier.Candidate{c})
		if err != nil {
			t.Fatal(err)
		}
		al.adm.Discard()
		if vs[0].Status != verifier.Duplicate && vs[0].Status != v1.Status {
			t.Fatalf("AdmitBatch says %s, Admit %s", vs[0].Status, v1.Status)
		}
	})
}
