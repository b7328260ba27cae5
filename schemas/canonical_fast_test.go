package schemas

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gowebpki/jcs"
)

// fastPathSeeds are inputs for the fast paths: every valid and invalid
// payload of testdata (raw and canonicalized), the examples' envelopes,
// and edge cases of strings, numbers, member order and envelope form.
func fastPathSeeds(t testing.TB) [][]byte {
	t.Helper()
	var seeds [][]byte
	files, err := filepath.Glob("testdata/*/*/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
		if c, err := jcs.Transform(b); err == nil {
			seeds = append(seeds, c)
		}
	}
	for _, k := range Kinds() {
		e, err := ExampleEnvelope(k)
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := e.Body()
		seeds = append(seeds, c, body, []byte(k), []byte(e.Signatures[0].KeyID), []byte(e.Signatures[0].Sig))
	}
	for _, s := range []string{
		``, ` `, `{}`, `[]`, `{} `, ` {}`, `{"a":1}`, `{"a" :1}`, `{"a":1,}`, `[1,]`, `[,1]`,
		`{"b":1,"a":2}`, `{"a":1,"a":2}`, `{"a":1,"b":2}`, `{"":1}`, `{"A":1,"a":2}`, `{"a":1,"B":2}`,
		`0`, `-0`, `01`, `-1`, `1.0`, `1.5`, `1e3`, `1E3`, `100000000000000`, `1000000000000000`, `9007199254740993`, `-`,
		`true`, `false`, `null`, `tru`, `nul`, `[true,false,null]`, `"x"`,
		`"\""`, `"\\"`, `"\/"`, `"/"`, `"\b\f\n\r\t"`, `"\u0008"`, `"\u000a"`, `"\u001f"`, `"\u001F"`, `"\u0020"`, `"\u00e9"`,
		`"é"`, `"\u00e9"`, "\"\x7f\"", "\"\x1f\"", "\"\xff\"", "\"\xed\xa0\x80\"", `"\ud83d\ude00"`, "\"\xf0\x9f\x98\x80\"",
		`{"é":1}`, `{"\u0001":1}`, `{"a":{"b":[{"c":"d"}]}}`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`{"payload":"e30=","payloadType":"application/vnd.tally.hop.recorded.v1+json","signatures":[{"keyid":"k","sig":"s"}]}`,
		`{"payload":"e30=","payloadType":"x","signatures":[]}`,
		`{"payload":"e30=","payloadType":"x","signatures":[{"keyid":"k","sig":"s"},{"keyid":"k2","sig":"s2"}]}`,
		`{"payload":"e30=","payloadType":"x","signatures":[{"keyid":"k","sig":"s"}],"x":1}`,
		`{"payload":"e\u0030=","payloadType":"x","signatures":[{"keyid":"k","sig":"s"}]}`,
		`{"payload":"e30=","payloadType":"x","signatures":[{"keyid":"k","sig":"s"}]} `,
		`{"payload":"e30=","payloadType":"x","signatures":[{"sig":"s","keyid":"k"}]}`,
		`hop.recorded`, `a`, `a-b_c`, `a--b`, `-a`, `a-`, `ab_`, `0`, `0.5`, `00`, `1.`, `.5`, `123456789012345678`, `1234567890123456789`, `1.123456789`, `1.1234567890`,
		` x`, `x `, `x y`, "x ", "xy", "ÿ", "x	y", `ü`, `a.b.`, `a.b_c.d9`, `a..b`, `.a`, `a.`, `9a`, `a.9`, `_a`, `A`,
		`e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855`, `E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855`,
		`MEUCIQDx1Bq7dxq0qOrdm1eX3lBC4mZxfmSxM5HmFxSxPy2tbwIgA0Bq7dxq0qOrdm1eX3lBC4mZxfmSxM5HmFxSxPy2Q==`,
		`MEUCIQDx1Bq7dxq0qOrdm1eX3lBC4mZxfmSxM5HmFxSxPy2tbwIgA0Bq7dxq0qOrdm1eX3lBC4mZxfmSxM5HmFxSxPB==`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// checkFastPaths holds each fast path to the general one it shortcuts.
func checkFastPaths(t *testing.T, b []byte) {
	// scanCanonical says canonical only when jcs agrees, and its tree is
	// the one encoding/json builds.
	if tree, ok := scanCanonical(b, true); ok {
		c, err := jcs.Transform(b)
		if err != nil || !bytes.Equal(c, b) {
			t.Fatalf("scanCanonical accepts %q; jcs: %q, %v", b, c, err)
		}
		if _, ok := scanCanonical(b, false); !ok {
			t.Fatalf("scanCanonical without tree rejects %q", b)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("canonical %q does not decode: %v", b, err)
		}
		if diff := cmp.Diff(want, tree); diff != "" {
			t.Fatalf("tree of %q differs from encoding/json's:\n%s", b, diff)
		}
	} else if _, ok := scanCanonical(b, false); ok {
		t.Fatalf("scanCanonical without tree accepts %q, with tree not", b)
	}

	// decodeEnvelopeFast accepts only what the strict decoder accepts
	// without a problem, and fills the same envelope.
	if e, ok := decodeEnvelopeFast(b); ok {
		var want Envelope
		problems, ok := strictDecode(b, &want)
		if !ok || len(problems) > 0 {
			t.Fatalf("decodeEnvelopeFast accepts %q; strict decoder: %v", b, problems)
		}
		if diff := cmp.Diff(want, e); diff != "" {
			t.Fatalf("decodeEnvelopeFast of %q:\n%s", b, diff)
		}
	}

	// Filling an event from the checked tree sets what encoding/json sets.
	for _, kind := range Kinds() {
		ev, err := New(kind)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := decodeChecked(b, ev, false); !ok {
			continue
		}
		want, _ := New(kind)
		if err := json.Unmarshal(b, want); err != nil {
			t.Fatalf("%s: strict decoder accepts %q, encoding/json: %v", kind, b, err)
		}
		if diff := cmp.Diff(want, ev); diff != "" {
			t.Fatalf("%s: %q decodes differently from encoding/json:\n%s", kind, b, diff)
		}
	}

	// The written-out syntax checks are the regular expressions.
	for _, str := range []string{string(b), KeyIDPrefix + string(b)} {
		if isKind(str) != kindSyntax.MatchString(str) || isKeyID(str) != keyIDSyntax.MatchString(str) || isSigSyntax(str) != sigSyntax.MatchString(str) ||
			isSlug(str) != slugSyntax.MatchString(str) || isText(str) != textSyntax.MatchString(str) || isDecimal(str) != decimalSyntax.MatchString(str) {
			t.Fatalf("syntax checks disagree with the regular expressions on %q", str)
		}
	}

	// canonicalPlain writes what encoding/json writes.
	var e Envelope
	if json.Unmarshal(b, &e) == nil {
		if got, ok := e.canonicalPlain(); ok {
			want, err := e.canonicalEncoded()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("canonicalPlain of %q: %q, want %q", b, got, want)
			}
		}
	}
}

func TestFastPathsAgree(t *testing.T) {
	fast := 0
	for _, b := range fastPathSeeds(t) {
		checkFastPaths(t, b)
		if _, ok := scanCanonical(b, false); ok {
			fast++
		}
	}
	// The examples and canonicalized valid payloads must take the fast
	// path, or it buys nothing.
	for _, k := range Kinds() {
		e, _ := ExampleEnvelope(k)
		c, _ := e.Canonical()
		body, _ := e.Body()
		if _, ok := scanCanonical(body, true); !ok {
			t.Errorf("example %s payload misses the fast canonical path", k)
		}
		if _, ok := decodeEnvelopeFast(c); !ok {
			t.Errorf("example %s envelope misses the fast decoding path", k)
		}
	}
	if fast == 0 {
		t.Fatal("no seed took the fast path")
	}
}

// FuzzFastPaths: for any input, each fast path agrees with the general
// path it shortcuts.
func FuzzFastPaths(f *testing.F) {
	for _, b := range fastPathSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(checkFastPaths)
}
