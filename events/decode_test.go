package events_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/schemas"
)

func TestDecode(t *testing.T) {
	key := newKey(t)
	env, canon := signedParty(t, 1, key)
	pretty := bytes.ReplaceAll(canon, []byte(`,"`), []byte(",\n  \""))
	nonCanonical := strings.Replace(string(canon), env.Payload, base64.StdEncoding.EncodeToString([]byte(`{ "id": "x" }`)), 1)

	cases := []struct {
		name      string
		data      string
		want      []events.Reason // path and rule
		hasDigest bool
	}{
		{"canonical envelope", string(canon), nil, true},
		{"same envelope, whitespace", string(pretty), nil, true},
		{"not JSON", "{", []events.Reason{{Path: "", Rule: "json"}}, false},
		{"an array", "[]", []events.Reason{{Path: "", Rule: "type"}}, false},
		{"too large", strings.Repeat(" ", events.MaxSubmissionBytes+1), []events.Reason{{Path: "", Rule: events.RuleSize}}, false},
		{"payload not canonical", nonCanonical, []events.Reason{{Path: "/payload", Rule: events.RuleCanonical}}, true},
		{"payload type not Tally's", strings.Replace(string(canon), "application/vnd.tally.", "application/vnd.other.", 1), []events.Reason{{Path: "/payloadType", Rule: "payload_type"}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, reasons := events.Decode([]byte(c.data))
			var got []events.Reason
			for _, r := range reasons {
				if r.Message == "" {
					t.Errorf("reason %s/%s has no message", r.Path, r.Rule)
				}
				got = append(got, events.Reason{Path: r.Path, Rule: r.Rule})
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
			if (d.Digest != [32]byte{}) != c.hasDigest {
				t.Errorf("digest %x, want one: %v", d.Digest, c.hasDigest)
			}
			if reasons == nil {
				want, _ := env.Digest()
				if d.Digest != want || !bytes.Equal(d.Canonical, canon) || d.Kind != schemas.KindPartyRegistered {
					t.Errorf("decoded %x %q %s", d.Digest, d.Canonical, d.Kind)
				}
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	k := newKey(f)
	_, canon := signedParty(f, 1, k)
	f.Add(canon)
	f.Add([]byte(`{"payload":"e30=","payloadType":"application/vnd.tally.hop.recorded.v1+json","signatures":[]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, reasons := events.Decode(data)
		if reasons != nil {
			return
		}
		// What is accepted is stored canonically and decodes again to the
		// same envelope.
		d2, reasons := events.Decode(d.Canonical)
		if reasons != nil || d2.Digest != d.Digest || !bytes.Equal(d2.Canonical, d.Canonical) {
			t.Fatalf("canonical form %q does not decode to itself: %v", d.Canonical, reasons)
		}
	})
}
