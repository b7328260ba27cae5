package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/schemas"
)

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func TestValidateCommand(t *testing.T) {
	hop, err := schemas.Example(schemas.KindHopRecorded)
	if err != nil {
		t.Fatal(err)
	}
	env, err := schemas.ExampleEnvelope(schemas.KindHopRecorded)
	if err != nil {
		t.Fatal(err)
	}
	envJSON, err := env.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, hop, "", "  "); err != nil {
		t.Fatal(err)
	}
	badHop := bytes.Replace(hop, []byte(`"currency":"USD"}`), []byte(`"currency":"usd"}`), 1)
	badHop = bytes.Replace(badHop, []byte(`"hours":"576"`), []byte(`"hours":"0"`), 1)
	// An envelope whose payload is valid but not canonical.
	loose := schemas.Envelope{Payload: b64(indented.Bytes()), PayloadType: env.PayloadType, Signatures: env.Signatures}
	looseJSON, _ := loose.Canonical()

	good := writeTemp(t, "hop.json", append(hop, '\n'))
	pretty := writeTemp(t, "pretty.json", indented.Bytes())
	bad := writeTemp(t, "bad.json", badHop)
	envFile := writeTemp(t, "hop.dsse.json", envJSON)
	looseFile := writeTemp(t, "loose.dsse.json", looseJSON)
	brokenEnv := writeTemp(t, "broken.dsse.json", []byte(`{"payload":"e30=","payloadType":"text/plain","signatures":[]}`))
	garbage := writeTemp(t, "garbage.json", []byte("\x00\xff{{{"))
	missing := filepath.Join(t.TempDir(), "missing.json")

	tests := []struct {
		name  string
		args  []string
		code  int
		lines []string // expected stdout lines
	}{
		{"bare payload with --kind", []string{"--kind", "hop.recorded", good}, 0, []string{good + ": ok (hop.recorded payload)"}},
		{"flags after files", []string{good, pretty, "--kind", "hop.recorded"}, 0, []string{good + ": ok (hop.recorded payload)", pretty + ": ok (hop.recorded payload)"}},
		{"envelope", []string{envFile}, 0, []string{envFile + ": ok (hop.recorded envelope)"}},
		{"bare payload without kind", []string{good}, 1, []string{good + ": (root): a bare payload does not say its kind: give --kind (one of " + strings.Join(schemas.Kinds(), ", ") + "), or validate the signed envelope"}},
		{"invalid payload", []string{"--kind", "hop.recorded", bad}, 1, []string{
			bad + ": /costs/0/amount/currency: currency must be an ISO 4217 currency code such as \"USD\" or \"CDF\" (rule iso4217)",
			bad + ": /labour/1/hours: hours must be greater than zero (rule positive)",
		}},
		{"envelope of another kind than --kind", []string{"--kind", "party.registered", envFile}, 1, []string{
			envFile + `: /payloadType: payloadType names kind "hop.recorded", not the "party.registered" given by --kind`}},
		{"non-canonical envelope payload", []string{looseFile}, 1, []string{
			looseFile + ": (root): payload is not RFC 8785 canonical JSON (members must be sorted, without insignificant whitespace, numbers and strings in their shortest form)"}},
		{"malformed envelope", []string{brokenEnv}, 1, []string{
			brokenEnv + `: /payloadType: payloadType must be application/vnd.tally.<kind>.v1+json with a lowercase dotted kind, not "text/plain"`,
			brokenEnv + ": /signatures: signatures must hold at least one signature",
		}},
		{"garbage", []string{"--kind", "hop.recorded", garbage}, 1, []string{garbage + ": (root): not valid UTF-8"}},
		{"missing file", []string{"--kind", "hop.recorded", missing, good}, 1, []string{
			missing + ": (root): open " + missing + ": no such file or directory", good + ": ok (hop.recorded payload)"}},
		{"no files", []string{}, 2, nil},
		{"unknown kind", []string{"--kind", "hop.sold", good}, 2, nil},
		{"unknown flag", []string{"--strict", good}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(t.Context(), append([]string{"validate"}, tt.args...), &out, &errOut)
			if got := exitCode(err); got != tt.code {
				t.Fatalf("exit code %d (%v), want %d\nstdout:\n%s\nstderr:\n%s", got, err, tt.code, out.String(), errOut.String())
			}
			if tt.lines == nil {
				return
			}
			got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if diff := cmp.Diff(tt.lines, got); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateCommandJSON(t *testing.T) {
	hop, _ := schemas.Example(schemas.KindHopRecorded)
	bad := writeTemp(t, "bad.json", bytes.Replace(hop, []byte(`"kind":"sale"`), []byte(`"kind":"gift"`), 1))
	good := writeTemp(t, "good.json", hop)
	var out bytes.Buffer
	err := run(t.Context(), []string{"validate", "--json", "--kind", "hop.recorded", good, bad}, &out, &bytes.Buffer{})
	if exitCode(err) != 1 {
		t.Fatalf("exit code %d, want 1", exitCode(err))
	}
	var report struct {
		Valid bool             `json:"valid"`
		Files []validateResult `json:"files"`
	}
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&report); err != nil {
		t.Fatalf("not a JSON report: %v\n%s", err, out.String())
	}
	want := []validateResult{
		{File: good, Form: "payload", Kind: "hop.recorded", Valid: true, Problems: []validateProblem{}},
		{File: bad, Form: "payload", Kind: "hop.recorded", Problems: []validateProblem{{In: "payload", Problem: schemas.Problem{
			Path: "/kind", Rule: "oneof", Message: "kind must be one of: sale, service (rule oneof)"}}}},
	}
	if report.Valid {
		t.Error("report says valid")
	}
	if diff := cmp.Diff(want, report.Files); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

// FuzzValidateCommand: whatever a file holds, validate reports and exits 0
// or 1; it never panics.
func FuzzValidateCommand(f *testing.F) {
	hop, _ := schemas.Example(schemas.KindHopRecorded)
	env, _ := schemas.ExampleEnvelope(schemas.KindAttestationRecorded)
	envJSON, _ := env.Canonical()
	f.Add(hop)
	f.Add(envJSON)
	f.Add([]byte(`{"payloadType":1}`))
	f.Add([]byte(`[]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "input.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"validate", p}, {"validate", "--json", "--kind", "hop.recorded", p}} {
			err := run(t.Context(), args, &bytes.Buffer{}, &bytes.Buffer{})
			if c := exitCode(err); c != 0 && c != 1 {
				t.Fatalf("exit code %d: %v", c, err)
			}
		}
	})
}
