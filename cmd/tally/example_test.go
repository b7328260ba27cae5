package main

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/tally-ledger/tally/schemas"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestExampleCommand(t *testing.T) {
	for _, kind := range schemas.Kinds() {
		t.Run(kind, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(t.Context(), []string{"example", kind}, &out, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			want, _ := schemas.Example(kind)
			if out.String() != string(want)+"\n" {
				t.Errorf("stdout = %s, want %s", out.String(), want)
			}
			// What example prints, validate accepts.
			file := writeTemp(t, "example.json", out.Bytes())
			var vout bytes.Buffer
			if err := run(t.Context(), []string{"validate", "--kind", kind, file}, &vout, &bytes.Buffer{}); err != nil {
				t.Errorf("validate of the example: %v\n%s", err, vout.String())
			}

			out.Reset()
			if err := run(t.Context(), []string{"example", "--envelope", kind}, &out, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			env, err := schemas.DecodeEnvelope(out.Bytes())
			if err != nil {
				t.Fatalf("--envelope printed no envelope: %v", err)
			}
			if body, _ := env.Body(); !bytes.Equal(body, want) {
				t.Errorf("envelope payload %s, want %s", body, want)
			}
			file = writeTemp(t, "example.dsse.json", out.Bytes())
			if err := run(t.Context(), []string{"validate", file}, &vout, &bytes.Buffer{}); err != nil {
				t.Errorf("validate of the example envelope: %v\n%s", err, vout.String())
			}
		})
	}
}

func TestExampleCommandUsage(t *testing.T) {
	for _, args := range [][]string{{"example"}, {"example", "hop.sold"}, {"example", "a", "b"}, {"example", "--nope", "hop.recorded"}} {
		var errOut bytes.Buffer
		err := run(t.Context(), args, &bytes.Buffer{}, &errOut)
		if exitCode(err) != 2 {
			t.Errorf("%v: exit code %d (%v), want 2", args, exitCode(err), err)
		}
	}
	var errOut bytes.Buffer
	_ = run(t.Context(), []string{"example"}, &bytes.Buffer{}, &errOut)
	if !strings.Contains(errOut.String(), "hop.recorded") {
		t.Errorf("usage does not list the kinds:\n%s", errOut.String())
	}
}
