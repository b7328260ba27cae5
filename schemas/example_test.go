package schemas_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tally-ledger/tally/schemas"
)

// TestExamples: every kind has an example; it is canonical, valid, equal to
// its golden file (go test -update rewrites them), and signed by the
// example key of the party that would sign it.
func TestExamples(t *testing.T) {
	for _, kind := range schemas.Kinds() {
		t.Run(kind, func(t *testing.T) {
			b, err := schemas.Example(kind)
			if err != nil {
				t.Fatal(err)
			}
			if !schemas.IsCanonical(b) {
				t.Errorf("example is not canonical: %s", b)
			}
			if _, problems := schemas.ValidatePayload(kind, b); len(problems) > 0 {
				t.Errorf("example is not valid: %v", problems)
			}
			golden := filepath.Join("testdata/examples", kind+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(append(b, '\n'), want) {
				t.Errorf("example differs from %s (run go test -update after a deliberate change):\n%s", golden, b)
			}
			e, err := schemas.ExampleEnvelope(kind)
			if err != nil {
				t.Fatal(err)
			}
			if ev, problems := schemas.ValidateEnvelope(&e); ev == nil || len(problems) > 0 {
				t.Errorf("example envelope: %v", problems)
			}
			verified := false
			for _, signer := range []string{"kolwezi-miners-coop", "musompo-trader", "tally-operator"} {
				if e.Verify(schemas.ExampleKey(signer).Public().(ed25519.PublicKey)) == nil {
					verified = true
				}
			}
			if !verified {
				t.Error("example envelope is not signed by an example party")
			}
		})
	}
	if _, err := schemas.Example("hop.sold"); !errors.Is(err, schemas.ErrUnknownKind) {
		t.Errorf("Example of an unknown kind: %v", err)
	}
}

// The example attestation names the example hop by its real digest.
func TestExampleAttestationSubject(t *testing.T) {
	hop, err := schemas.ExampleEnvelope(schemas.KindHopRecorded)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := hop.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := schemas.ExampleEvent(schemas.KindAttestationRecorded)
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.(*schemas.AttestationRecorded).Subject.Digest; got != hex.EncodeToString(digest[:]) {
		t.Errorf("subject digest %s, want the hop envelope's %x", got, digest)
	}
}

// docs/vocabulary.md shows every example exactly as tally example prints it.
func TestDocsShowExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/vocabulary.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range schemas.Kinds() {
		b, err := schemas.Example(kind)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(doc, b) {
			t.Errorf("docs/vocabulary.md does not show the current example of %s:\n%s", kind, b)
		}
	}
}
