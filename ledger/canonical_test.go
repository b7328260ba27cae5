package ledger

import (
	"bytes"
	"testing"

	"github.com/gowebpki/jcs"
)

func TestCheckCanonicalObject(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`{}`, true},
		{`{"a":1}`, true},
		{`{"a":[],"b":{},"c":"","d":true,"e":false,"f":null}`, true},
		{`{"a":-0.5,"b":1e+21,"c":1e-7,"d":123456789012345680000}`, true},
		{`{"a":"\u0000\u001f\b\t\n\f\r\"\\é😀"}`, true},
		{`{"\u000f":1,"\u0010":2}`, true},
		// U+1F600 sorts after U+E000 by code point but before it by UTF-16 units
		// (surrogate 0xD83D < 0xE000).
		{"{\"\U0001F600\":1,\"\uE000\":2}", true},
		{"{\"\uE000\":1,\"\U0001F600\":2}", false},
		{`{"a":1,"a":2}`, false},
		{`{"b":1,"a":2}`, false},
		{`{"a":1,}`, false},
		{`{ "a":1}`, false},
		{`{"a":1} `, false},
		{`{"a":"\/"}`, false},
		{`{"a":"\u0041"}`, false},
		{`{"a":"\u000A"}`, false},
		{`{"a":"\u000a"}`, false},
		{`{"a":"\u001F"}`, false},
		{`{"a":1.0}`, false},
		{`{"a":-0}`, false},
		{`{"a":1E2}`, false},
		{`{"a":01}`, false},
		{`{"a":1e400}`, false},
		{`{"a":tru}`, false},
		{"{\"a\":\"\x01\"}", false},
		{"{\"a\":\"\xff\"}", false},
		{"{\"a\":\"\xed\xa0\x80\"}", false}, // UTF-8 encoded surrogate
		{`[]`, false},
		{`"x"`, false},
		{``, false},
		{`{"a":[1,2,]}`, false},
		{`{"a"`, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			err := checkCanonicalObject([]byte(tc.in))
			if (err == nil) != tc.ok {
				t.Errorf("checkCanonicalObject(%s) = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if jcsOK := jcsCanonicalObject([]byte(tc.in)); jcsOK != tc.ok {
				t.Errorf("jcs says canonical=%v for %s; the table is wrong", jcsOK, tc.in)
			}
		})
	}
}

// jcsCanonicalObject is the reference: b is canonical if jcs.Transform
// leaves it unchanged.
func jcsCanonicalObject(b []byte) bool {
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	out, err := jcs.Transform(b)
	return err == nil && bytes.Equal(out, b)
}

// FuzzCanonicalMatchesJCS holds the fast canonical check to jcs's verdict.
func FuzzCanonicalMatchesJCS(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":"\u001f","b":[true,null,-1.5e-7]}`, "{\"\U0001F600\":1,\"\uE000\":2}",
		`{"payload":"e30=","payloadType":"application/vnd.tally.hop.recorded.v1+json","signatures":[{"keyid":"k","sig":"c2ln"}]}`,
		`{"a":1.0}`, `{ "a":1}`, `{"b":1,"a":2}`, `{"a":"\/"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := checkCanonicalObject(b) == nil
		if want := jcsCanonicalObject(b); got != want {
			t.Fatalf("checkCanonicalObject(%q) ok=%v, jcs says %v", b, got, want)
		}
	})
}
