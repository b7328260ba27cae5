package schemas_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/schemas"
)

// FuzzDecodeEnvelope: no input makes the envelope decoder panic, and any
// envelope it accepts survives a canonical round trip unchanged and can be
// taken apart (digest, event, rules, terms) without panicking.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, k := range schemas.Kinds() {
		e, err := schemas.ExampleEnvelope(k)
		if err != nil {
			f.Fatal(err)
		}
		b, err := e.Canonical()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"payload":"e30=","payloadType":"application/vnd.tally.hop.recorded.v1+json","signatures":[{"keyid":"k","sig":"s"}]}`))
	f.Add([]byte(`{"payload":"e30=","payload":"e30="}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := schemas.DecodeEnvelope(data)
		if err != nil {
			return
		}
		c, err := e.Canonical()
		if err != nil {
			t.Fatalf("Canonical of an accepted envelope: %v", err)
		}
		if !schemas.IsCanonical(c) {
			t.Fatalf("Canonical is not canonical: %q", c)
		}
		again, err := schemas.DecodeEnvelope(c)
		if err != nil {
			t.Fatalf("canonical form of an accepted envelope is rejected: %v", err)
		}
		if diff := cmp.Diff(e, again); diff != "" {
			t.Fatalf("canonical round trip changed the envelope:\n%s", diff)
		}
		if _, err := e.Digest(); err != nil {
			t.Fatalf("Digest of an accepted envelope: %v", err)
		}
		ev, _ := schemas.ValidateEnvelope(&e)
		if ev != nil {
			schemas.Terms(ev)
		}
	})
}

// FuzzValidate: no payload makes decoding, validation or indexing panic;
// and a payload that is valid stays valid and unchanged through signing,
// the envelope codec and decoding.
func FuzzValidate(f *testing.F) {
	kinds := schemas.Kinds()
	kindIndex := map[string]uint8{}
	for i, k := range kinds {
		kindIndex[k] = uint8(i)
	}
	for _, c := range loadValid(f) {
		f.Add(kindIndex[c.kind], c.payload)
	}
	for _, c := range loadInvalid(f) {
		f.Add(kindIndex[c.kind], c.payload)
	}
	priv := schemas.ExampleKey("fuzz")
	f.Fuzz(func(t *testing.T, k uint8, payload []byte) {
		kind := kinds[int(k)%len(kinds)]
		ev, problems := schemas.ValidatePayload(kind, payload)
		if ev == nil {
			if len(problems) == 0 {
				t.Fatal("no event and no problem")
			}
			return
		}
		schemas.Terms(ev)
		if len(problems) > 0 {
			return
		}
		e, err := schemas.Sign(kind, ev, priv)
		if err != nil {
			t.Fatalf("Sign of a valid event: %v", err)
		}
		wire, err := e.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		d, err := schemas.DecodeEnvelope(wire)
		if err != nil {
			t.Fatalf("DecodeEnvelope of a signed valid event: %v", err)
		}
		back, problems := schemas.ValidateEnvelope(&d)
		if len(problems) > 0 {
			t.Fatalf("valid payload has problems once signed: %v", problems)
		}
		if diff := cmp.Diff(ev, back); diff != "" {
			t.Fatalf("event changed through signing:\n%s", diff)
		}
	})
}
