package schemas_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/schemas"
)

func signedExample(t testing.TB, kind string) schemas.Envelope {
	t.Helper()
	e, err := schemas.ExampleEnvelope(kind)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func canonical(t testing.TB, e schemas.Envelope) []byte {
	t.Helper()
	b, err := e.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// envelopeJSON builds envelope JSON by hand, so that tests can write what
// Envelope itself would never produce.
func envelopeJSON(members ...string) []byte {
	return []byte("{" + strings.Join(members, ",") + "}")
}

func TestDecodeEnvelope(t *testing.T) {
	good := signedExample(t, schemas.KindHopRecorded)
	payload := fmt.Sprintf(`"payload":%q`, good.Payload)
	ptype := fmt.Sprintf(`"payloadType":%q`, good.PayloadType)
	sig := func(keyid, s string) string { return fmt.Sprintf(`{"keyid":%q,"sig":%q}`, keyid, s) }
	goodSig := sig(good.Signatures[0].KeyID, good.Signatures[0].Sig)
	sigs := func(s ...string) string { return `"signatures":[` + strings.Join(s, ",") + `]` }
	otherID := "sha256:" + strings.Repeat("ab", 32)
	manySigs := []string{}
	for i := range 5 {
		manySigs = append(manySigs, sig(fmt.Sprintf("sha256:%064x", i), good.Signatures[0].Sig))
	}

	tests := []struct {
		name string
		in   []byte
		want []pathRule // nil: valid
	}{
		{"valid", envelopeJSON(payload, ptype, sigs(goodSig)), nil},
		{"valid in any member order and layout", []byte("{\n  " + sigs(goodSig) + ",\n  " + ptype + ",\n  " + payload + "\n}\n"), nil},
		{"two signers", envelopeJSON(payload, ptype, sigs(goodSig, sig(otherID, good.Signatures[0].Sig))), nil},
		{"not JSON", []byte(`{"payload":`), []pathRule{{"/payload", "json"}}},
		{"not an object", []byte(`"payload"`), []pathRule{{"", "type"}}},
		{"unknown member", envelopeJSON(payload, ptype, sigs(goodSig), `"comment":"hi"`), []pathRule{{"/comment", "unknown_field"}}},
		{"member in the wrong case", envelopeJSON(`"Payload":"e30="`, ptype, sigs(goodSig)), []pathRule{{"/Payload", "unknown_field"}}},
		{"duplicate member", envelopeJSON(payload, payload, ptype, sigs(goodSig)), []pathRule{{"/payload", "duplicate_key"}}},
		{"null signatures", envelopeJSON(payload, ptype, `"signatures":null`), []pathRule{{"/signatures", "null"}}},
		{"unknown signature member", envelopeJSON(payload, ptype, sigs(`{"keyid":"x","sig":"y","cert":"z"}`)), []pathRule{{"/signatures/0/cert", "unknown_field"}}},
		{"trailing data", append(envelopeJSON(payload, ptype, sigs(goodSig)), []byte(" {}")...), []pathRule{{"", "json"}}},
		{"missing payloadType", envelopeJSON(payload, sigs(goodSig)), []pathRule{{"/payloadType", "required"}}},
		{"foreign payloadType", envelopeJSON(payload, `"payloadType":"application/vnd.in-toto+json"`, sigs(goodSig)), []pathRule{{"/payloadType", "payload_type"}}},
		{"no kind at all", envelopeJSON(payload, `"payloadType":"application/vnd.tally.v1+json"`, sigs(goodSig)), []pathRule{{"/payloadType", "payload_type"}}},
		{"kind with capitals", envelopeJSON(payload, `"payloadType":"application/vnd.tally.Hop.recorded.v1+json"`, sigs(goodSig)), []pathRule{{"/payloadType", "payload_type"}}},
		{"kind with non-ASCII", envelopeJSON(payload, `"payloadType":"application/vnd.tally.höp.v1+json"`, sigs(goodSig)), []pathRule{{"/payloadType", "payload_type"}}},
		{"missing payload", envelopeJSON(ptype, sigs(goodSig)), []pathRule{{"/payload", "required"}}},
		{"payload not base64", envelopeJSON(`"payload":"%%%%"`, ptype, sigs(goodSig)), []pathRule{{"/payload", "base64"}}},
		{"payload in URL-safe base64", envelopeJSON(`"payload":"-_-_"`, ptype, sigs(goodSig)), []pathRule{{"/payload", "base64"}}},
		{"payload without padding", envelopeJSON(`"payload":"e30"`, ptype, sigs(goodSig)), []pathRule{{"/payload", "base64"}}},
		{"payload with non-zero padding bits", envelopeJSON(`"payload":"e31="`, ptype, sigs(goodSig)), []pathRule{{"/payload", "base64"}}},
		{"payload too large", envelopeJSON(fmt.Sprintf(`"payload":%q`, base64.StdEncoding.EncodeToString(make([]byte, schemas.MaxPayloadSize+1))), ptype, sigs(goodSig)), []pathRule{{"/payload", "max_size"}}},
		{"envelope too large", make([]byte, schemas.MaxEnvelopeSize+1), []pathRule{{"", "max_size"}}},
		{"no signatures", envelopeJSON(payload, ptype, sigs()), []pathRule{{"/signatures", "min"}}},
		{"missing signatures", envelopeJSON(payload, ptype), []pathRule{{"/signatures", "min"}}},
		{"five signatures", envelopeJSON(payload, ptype, sigs(manySigs...)), []pathRule{{"/signatures", "max"}}},
		{"key id without prefix", envelopeJSON(payload, ptype, sigs(sig(strings.Repeat("ab", 32), good.Signatures[0].Sig))), []pathRule{{"/signatures/0/keyid", "keyid"}}},
		{"key id in capitals", envelopeJSON(payload, ptype, sigs(sig(strings.ToUpper(otherID), good.Signatures[0].Sig))), []pathRule{{"/signatures/0/keyid", "keyid"}}},
		{"one key signs twice", envelopeJSON(payload, ptype, sigs(goodSig, goodSig)), []pathRule{{"/signatures/1/keyid", "unique"}}},
		{"short signature", envelopeJSON(payload, ptype, sigs(sig(otherID, "AAAA"))), []pathRule{{"/signatures/0/sig", "signature"}}},
		{"several problems", envelopeJSON(`"payload":"e3"`, `"payloadType":"text/plain"`, sigs(sig("k", "s"))),
			[]pathRule{{"/payload", "base64"}, {"/payloadType", "payload_type"}, {"/signatures/0/keyid", "keyid"}, {"/signatures/0/sig", "signature"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := schemas.DecodeEnvelope(tt.in)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("DecodeEnvelope: %v", err)
				}
				// Canonical re-encodes exactly what was read.
				again, err := schemas.DecodeEnvelope(canonical(t, e))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(e, again); diff != "" {
					t.Errorf("canonical round trip (-first +second):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, schemas.ErrMalformedEnvelope) {
				t.Fatalf("err = %v, want ErrMalformedEnvelope", err)
			}
			var ee *schemas.EnvelopeError
			if !errors.As(err, &ee) {
				t.Fatalf("err is %T, want *EnvelopeError", err)
			}
			if diff := cmp.Diff(tt.want, pathRules(ee.Problems)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%v", diff, err)
			}
		})
	}
}

func TestCanonicalEnvelope(t *testing.T) {
	e := signedExample(t, schemas.KindAttestationRecorded)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, canonical(t, e), "", "  "); err != nil {
		t.Fatal(err)
	}
	d, err := schemas.DecodeEnvelope(pretty.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got := canonical(t, d)
	if !schemas.IsCanonical(got) {
		t.Errorf("Canonical() is not RFC 8785 canonical: %s", got)
	}
	if !bytes.Equal(got, canonical(t, e)) {
		t.Errorf("a re-indented envelope canonicalizes to different bytes")
	}
}

func TestDigest(t *testing.T) {
	e := signedExample(t, schemas.KindHopRecorded)
	body, err := e.Body()
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(schemas.PAE(e.PayloadType, body))
	got, err := e.Digest()
	if err != nil || got != want {
		t.Fatalf("Digest = %x, %v; want SHA-256(PAE) %x", got, err, want)
	}
	// The digest names the statement, not its signers.
	if err := e.Sign(schemas.ExampleKey("someone-else")); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.Digest(); again != want || len(e.Signatures) != 2 {
		t.Errorf("adding a signature changed the digest or did not add: %x, %d signatures", again, len(e.Signatures))
	}
}

func TestDecodeEventCanonical(t *testing.T) {
	good := signedExample(t, schemas.KindHopRecorded)
	body, _ := good.Body()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", " "); err != nil {
		t.Fatal(err)
	}
	bad := schemas.Envelope{Payload: base64.StdEncoding.EncodeToString(pretty.Bytes()), PayloadType: good.PayloadType}
	ev, problems := schemas.DecodeEvent(&bad)
	if diff := cmp.Diff([]pathRule{{"", "canonical"}}, pathRules(problems)); diff != "" {
		t.Fatalf("problems (-want +got):\n%s", diff)
	}
	if !strings.Contains(problems[0].Message, "payload is not RFC 8785 canonical JSON") {
		t.Errorf("message %q does not say the payload is not canonical", problems[0].Message)
	}
	if ev == nil {
		t.Error("a decodable payload gave no event")
	}

	unknown := schemas.Envelope{Payload: good.Payload, PayloadType: schemas.PayloadType("hop.sold")}
	if ev, problems := schemas.DecodeEvent(&unknown); ev != nil || len(problems) != 1 || problems[0].Rule != "kind" {
		t.Errorf("unknown kind: %v %v", ev, problems)
	}
	if _, problems := schemas.DecodeEvent(nil); len(problems) != 1 {
		t.Errorf("nil envelope: %v", problems)
	}
}

func TestSignErrors(t *testing.T) {
	priv := schemas.ExampleKey("signer")
	if _, err := schemas.Sign("hop.sold", map[string]string{}, priv); !errors.Is(err, schemas.ErrUnknownKind) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := schemas.Sign(schemas.KindHopRecorded, map[string]string{}, priv[:10]); !errors.Is(err, schemas.ErrInvalidKey) {
		t.Errorf("short key: %v", err)
	}
	if _, err := schemas.Sign(schemas.KindHopRecorded, []byte(`{"a":`), priv); !errors.Is(err, schemas.ErrInvalidPayload) {
		t.Errorf("broken JSON: %v", err)
	}
	if _, err := schemas.Sign(schemas.KindHopRecorded, nil, priv); !errors.Is(err, schemas.ErrInvalidPayload) {
		t.Errorf("null payload: %v", err)
	}
	if _, err := schemas.Sign(schemas.KindHopRecorded, func() {}, priv); !errors.Is(err, schemas.ErrInvalidPayload) {
		t.Errorf("unmarshalable payload: %v", err)
	}
	// JSON given as bytes is canonicalized, not base64-encoded as a string.
	e, err := schemas.Sign(schemas.KindHopRecorded, json.RawMessage(`{ "b": 1, "a": "x" }`), priv)
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := e.Body(); string(body) != `{"a":"x","b":1}` {
		t.Errorf("body = %s", body)
	}
}

func TestVerify(t *testing.T) {
	priv := schemas.ExampleKey(schemas.KindHopRecorded)
	pub := priv.Public().(ed25519.PublicKey)
	ev, _ := schemas.ExampleEvent(schemas.KindHopRecorded)
	e, err := schemas.Sign(schemas.KindHopRecorded, ev, priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Verify(pub); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got, want := e.Signatures[0].KeyID, schemas.KeyID(pub); got != want {
		t.Errorf("keyid %s, want %s", got, want)
	}
	other := schemas.ExampleKey("other").Public().(ed25519.PublicKey)
	if err := e.Verify(other); !errors.Is(err, schemas.ErrNoSignature) {
		t.Errorf("other key: %v, want ErrNoSignature", err)
	}
	if err := e.Verify(pub[:5]); !errors.Is(err, schemas.ErrInvalidKey) {
		t.Errorf("short key: %v, want ErrInvalidKey", err)
	}
	tampered := e
	body, _ := e.Body()
	tampered.Payload = base64.StdEncoding.EncodeToString(bytes.Replace(body, []byte("5600.00"), []byte("9600.00"), 1))
	if err := tampered.Verify(pub); !errors.Is(err, schemas.ErrBadSignature) {
		t.Errorf("tampered payload: %v, want ErrBadSignature", err)
	}
	retyped := e
	retyped.PayloadType = schemas.PayloadType(schemas.KindBenchmarkPublished)
	if err := retyped.Verify(pub); !errors.Is(err, schemas.ErrBadSignature) {
		t.Errorf("changed payload type: %v, want ErrBadSignature (PAE covers the type)", err)
	}
	badSig := e
	badSig.Signatures = []schemas.Signature{{KeyID: e.Signatures[0].KeyID, Sig: base64.StdEncoding.EncodeToString(make([]byte, 64))}}
	if err := badSig.Verify(pub); !errors.Is(err, schemas.ErrBadSignature) {
		t.Errorf("zero signature: %v, want ErrBadSignature", err)
	}
	// Re-signing with the same key replaces its signature.
	if err := e.Sign(priv); err != nil || len(e.Signatures) != 1 {
		t.Errorf("re-sign: %v, %d signatures", err, len(e.Signatures))
	}
}

func TestKeys(t *testing.T) {
	pub := schemas.ExampleKey("k").Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	if got, want := schemas.KeyID(pub), fmt.Sprintf("sha256:%x", sum); got != want {
		t.Errorf("KeyID = %s, want %s", got, want)
	}
	back, err := schemas.ParsePublicKey(schemas.EncodePublicKey(pub))
	if err != nil || !back.Equal(pub) {
		t.Errorf("ParsePublicKey(EncodePublicKey) = %x, %v", back, err)
	}
	// p = 2^255 - 19 is a non-canonical encoding of y = 0.
	nonCanonical := append([]byte{0xed}, bytes.Repeat([]byte{0xff}, 30)...)
	nonCanonical = append(nonCanonical, 0x7f)
	identity := append([]byte{1}, make([]byte, 31)...)
	for name, raw := range map[string][]byte{"non-canonical": nonCanonical, "small order": identity, "short": make([]byte, 31)} {
		if _, err := schemas.ParsePublicKey(base64.StdEncoding.EncodeToString(raw)); !errors.Is(err, schemas.ErrInvalidKey) {
			t.Errorf("%s key accepted: %v", name, err)
		}
	}
}

func TestVerifyBatch(t *testing.T) {
	const n = 150 // more than two chunks
	var items []schemas.VerifyItem
	var want []bool
	for i := range n {
		priv := schemas.ExampleKey(fmt.Sprint("batch-", i))
		msg := []byte(fmt.Sprint("statement ", i))
		it := schemas.VerifyItem{PublicKey: priv.Public().(ed25519.PublicKey), Message: msg, Signature: ed25519.Sign(priv, msg)}
		ok := true
		switch i % 17 {
		case 3:
			it.Message = []byte("something else")
			ok = false
		case 7:
			it.PublicKey = schemas.ExampleKey("stranger").Public().(ed25519.PublicKey)
			ok = false
		case 11:
			it.Signature = it.Signature[:10]
			ok = false
		case 13:
			it.PublicKey = it.PublicKey[:3]
			ok = false
		case 5:
			// A key of small order (the identity point): refused by the
			// rule, also when its expanded form comes from the cache.
			it.PublicKey = make(ed25519.PublicKey, ed25519.PublicKeySize)
			it.PublicKey[0] = 1
			ok = false
		}
		items = append(items, it)
		want = append(want, ok)
	}
	for _, size := range []int{0, 1, 3, 4, 64, 65, n} {
		got := schemas.VerifyBatch(items[:size])
		if diff := cmp.Diff(want[:size], got); diff != "" {
			t.Errorf("VerifyBatch of %d (-want +got):\n%s", size, diff)
		}
		for i, it := range items[:size] {
			if single := schemas.VerifySignature(it.PublicKey, it.Message, it.Signature); single != got[i] {
				t.Errorf("item %d: batch says %v, single says %v", i, got[i], single)
			}
		}
	}
}

// randomHop builds a valid hop with random figures.
func randomHop(r *rand.Rand) *schemas.HopRecorded {
	dec := func(max int, frac bool) schemas.Decimal {
		s := fmt.Sprint(1 + r.IntN(max))
		if frac && r.IntN(2) == 0 {
			s += fmt.Sprintf(".%02d", r.IntN(100))
		}
		return schemas.Decimal(s)
	}
	slug := func(p string) string { return fmt.Sprintf("%s-%d", p, r.IntN(1_000_000)) }
	h := &schemas.HopRecorded{
		ID: slug("hop"), Seller: slug("seller"), Buyer: slug("buyer"), HopKind: schemas.HopSale,
		Output:     schemas.Output{Lot: slug("out"), Quantity: schemas.Quantity{Amount: dec(10000, true), Unit: "KGM"}},
		Price:      schemas.Money{Amount: dec(1_000_000, true), Currency: []string{"USD", "CDF", "EUR", "CNY"}[r.IntN(4)]},
		OccurredAt: schemas.Timestamp(fmt.Sprintf("2025-%02d-%02dT%02d:%02d:00+0%d:00", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(10))),
		Location:   schemas.Location{Country: "CD", Region: "CD-LU", Place: "Kolwezi «Musompo» ✓"},
	}
	for i := range r.IntN(4) {
		h.Inputs = append(h.Inputs, schemas.Input{Lot: fmt.Sprintf("in-%d", i), Quantity: schemas.Quantity{Amount: dec(500, true), Unit: "KGM"}})
	}
	for i := range r.IntN(5) {
		h.Labour = append(h.Labour, schemas.Labour{
			Category: fmt.Sprintf("job_%d", i), Workers: 1 + r.IntN(50), Hours: dec(5000, true), SelfEmployed: r.IntN(2) == 0,
			Pay: schemas.Pay{Currency: "CDF", Basic: dec(9_000_000, false), Bonus: "0", InKind: dec(1000, true)},
		})
	}
	if r.IntN(2) == 0 {
		h.HopKind, h.Service = schemas.HopService, "transport"
	}
	return h
}

// TestSignRoundTrip is a property: any valid event, signed, read back
// through DecodeEnvelope and DecodeEvent, is the same event, valid, and its
// signature verifies.
func TestSignRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var events []schemas.Event
	for _, k := range schemas.Kinds() {
		ev, err := schemas.ExampleEvent(k)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	for _, c := range loadValid(t) {
		ev, problems := schemas.ValidatePayload(c.kind, c.payload)
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		events = append(events, ev)
	}
	for range 200 {
		events = append(events, randomHop(r))
	}
	for i, ev := range events {
		if problems := schemas.Validate(ev); len(problems) > 0 {
			t.Fatalf("event %d is not valid to begin with: %v", i, problems)
		}
		priv := schemas.ExampleKey(fmt.Sprint("round-trip-", i))
		e, err := schemas.Sign(ev.Kind(), ev, priv)
		if err != nil {
			t.Fatal(err)
		}
		wire := canonical(t, e)
		got, err := schemas.DecodeEnvelope(wire)
		if err != nil {
			t.Fatalf("event %d: DecodeEnvelope: %v", i, err)
		}
		if err := got.Verify(priv.Public().(ed25519.PublicKey)); err != nil {
			t.Fatalf("event %d: Verify: %v", i, err)
		}
		back, problems := schemas.ValidateEnvelope(&got)
		if len(problems) > 0 {
			t.Fatalf("event %d: %v", i, problems)
		}
		if diff := cmp.Diff(ev, back); diff != "" {
			t.Fatalf("event %d changed on the way (-sent +received):\n%s", i, diff)
		}
	}
}
