package demo_test

import (
	"bytes"
	"crypto/ed25519"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/schemas"
)

var update = flag.Bool("update", false, "rewrite testdata/digests.golden")

func TestEnvelopesValidate(t *testing.T) {
	for i, s := range statements(t) {
		t.Run(fmt.Sprintf("%02d-%s", i, s.kind), func(t *testing.T) {
			if problems := schemas.Validate(s.ev); len(problems) > 0 {
				t.Errorf("%s signed by %s: %v", s.kind, s.signer, problems)
			}
			if len(s.env.Signatures) != 1 {
				t.Errorf("%d signatures, want exactly the signer's", len(s.env.Signatures))
			}
			canon, err := s.env.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := schemas.DecodeEnvelope(canon); err != nil {
				t.Errorf("the envelope's canonical form does not decode strictly: %v", err)
			}
		})
	}
}

func TestEnvelopesSignedWithDocumentedKeys(t *testing.T) {
	sts := statements(t)
	registered := map[string]ed25519.PublicKey{}
	for _, s := range sts {
		p, ok := s.ev.(*schemas.PartyRegistered)
		if !ok {
			continue
		}
		want := documentedKey(p.ID).Public().(ed25519.PublicKey)
		if diff := cmp.Diff([]string{schemas.EncodePublicKey(want)}, p.Keys); diff != "" {
			t.Errorf("party %s registers keys other than its documented demo key (-want +got):\n%s", p.ID, diff)
		}
		if !bytes.Equal(demo.Key(p.ID), documentedKey(p.ID)) {
			t.Errorf("demo.Key(%q) is not SHA-256(%q + id) as documented", p.ID, demo.KeySeedPrefix)
		}
		registered[p.ID] = want
	}
	for i, s := range sts {
		pub, ok := registered[s.signer]
		if !ok {
			t.Errorf("statement %d (%s): signer %s is not a registered demo party", i, s.kind, s.signer)
			continue
		}
		if err := s.env.Verify(pub); err != nil {
			t.Errorf("statement %d (%s): signature by %s: %v", i, s.kind, s.signer, err)
		}
	}
	// A signature must not verify under another party's key: the check
	// above is about who signed, not merely that someone did.
	if err := sts[len(sts)-1].env.Verify(registered[sts[0].signer]); err == nil {
		t.Errorf("the last statement verifies under %s's key too", sts[0].signer)
	}
}

func TestEnvelopesDeterministic(t *testing.T) {
	canonical := func() []string {
		envs, err := demo.Envelopes()
		if err != nil {
			t.Fatal(err)
		}
		out := make([]string, len(envs))
		for i := range envs {
			b, err := envs[i].Canonical()
			if err != nil {
				t.Fatal(err)
			}
			out[i] = string(b)
		}
		return out
	}
	first, second := canonical(), canonical()
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("two calls gave different envelopes (-first +second):\n%s", diff)
	}
}

// TestEnvelopeDigestsGolden pins the demo's digests: a ledger recognises a
// demo it already holds by them, so a change here is a change of demo.
func TestEnvelopeDigestsGolden(t *testing.T) {
	var b strings.Builder
	for _, s := range statements(t) {
		fmt.Fprintf(&b, "%s %s\n", s.digest, s.kind)
	}
	path := filepath.Join("testdata", "digests.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("demo digests changed (-golden +now); if intended, run with -update:\n%s", diff)
	}
}

func TestEnvelopeOrder(t *testing.T) {
	sts := statements(t)
	rank := map[string]int{
		schemas.KindPartyRegistered:     0,
		schemas.KindHopRecorded:         1,
		schemas.KindAttestationRecorded: 2,
		schemas.KindBenchmarkPublished:  3,
	}
	var kinds []string
	for i, s := range sts {
		if i > 0 && rank[s.kind] < rank[sts[i-1].kind] {
			t.Errorf("statement %d (%s) comes after a %s: want parties, hops, attestations, benchmarks", i, s.kind, sts[i-1].kind)
		}
		if len(kinds) == 0 || kinds[len(kinds)-1] != s.kind {
			kinds = append(kinds, s.kind)
		}
	}
	want := []string{schemas.KindPartyRegistered, schemas.KindHopRecorded, schemas.KindAttestationRecorded, schemas.KindBenchmarkPublished}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("kinds in submission order (-want +got):\n%s", diff)
	}
}
