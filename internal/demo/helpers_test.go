package demo_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/schemas"
)

// stmt is one demo envelope as a ledger sees it: decoded, with the party
// that must have signed it.
type stmt struct {
	env    schemas.Envelope
	kind   string
	ev     schemas.Event
	digest string // hex
	signer string
}

// statements decodes every demo envelope strictly (canonical payload, no
// unknown members), failing the test on any problem.
func statements(t *testing.T) []stmt {
	t.Helper()
	envs, err := demo.Envelopes()
	if err != nil {
		t.Fatalf("Envelopes: %v", err)
	}
	out := make([]stmt, len(envs))
	for i := range envs {
		env := envs[i]
		ev, problems := schemas.DecodeEvent(&env)
		if len(problems) > 0 {
			t.Fatalf("envelope %d (%s): decode problems: %v", i, env.PayloadType, problems)
		}
		d, err := env.Digest()
		if err != nil {
			t.Fatalf("envelope %d: digest: %v", i, err)
		}
		s := stmt{env: env, kind: ev.Kind(), ev: ev, digest: hex.EncodeToString(d[:])}
		switch e := ev.(type) {
		case *schemas.PartyRegistered:
			s.signer = e.ID
		case *schemas.HopRecorded:
			s.signer = e.Seller
		case *schemas.AttestationRecorded:
			s.signer = e.Attester
		case *schemas.BenchmarkPublished:
			s.signer = e.Publisher
		default:
			t.Fatalf("envelope %d: unexpected kind %s in the demo", i, ev.Kind())
		}
		out[i] = s
	}
	return out
}

// documentedKey derives a demo key the way SOURCES.md and the package doc
// say, independently of demo.Key.
func documentedKey(party string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("tally demo v1/" + party))
	return ed25519.NewKeyFromSeed(seed[:])
}

func hops(sts []stmt) []*schemas.HopRecorded {
	var out []*schemas.HopRecorded
	for _, s := range sts {
		if h, ok := s.ev.(*schemas.HopRecorded); ok {
			out = append(out, h)
		}
	}
	return out
}
