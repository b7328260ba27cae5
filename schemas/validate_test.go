package schemas_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/schemas"
)

func TestValidPayloads(t *testing.T) {
	for _, c := range loadValid(t) {
		t.Run(c.kind+"/"+c.name, func(t *testing.T) {
			ev, problems := schemas.ValidatePayload(c.kind, c.payload)
			if len(problems) > 0 {
				t.Fatalf("valid payload has problems: %v", problems)
			}
			if ev == nil || ev.Kind() != c.kind {
				t.Fatalf("decoded %T, want a %s", ev, c.kind)
			}
		})
	}
}

func TestInvalidPayloads(t *testing.T) {
	rulesSeen := map[string]bool{}
	for _, c := range loadInvalid(t) {
		t.Run(c.kind+"/"+c.Name, func(t *testing.T) {
			_, problems := schemas.ValidatePayload(c.kind, c.payload)
			if diff := cmp.Diff(c.Problems, pathRules(problems)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\nmessages: %v", diff, problems)
			}
			for _, p := range problems {
				rulesSeen[p.Rule] = true
				// A message names the rule it reports, and the field
				// when the problem is inside the payload.
				if !strings.Contains(p.Message, p.Rule) && p.Rule != "json" && p.Rule != "type" && p.Rule != "null" &&
					p.Rule != "unknown_field" && p.Rule != "duplicate_key" && p.Rule != "empty" {
					t.Errorf("%s: message %q does not name rule %q", p.Path, p.Message, p.Rule)
				}
				if p.Path != "" && p.Rule != "json" {
					seg := p.Path[strings.LastIndex(p.Path, "/")+1:]
					if !strings.Contains(p.Message, seg) {
						t.Errorf("%s: message %q does not name the field %q", p.Path, p.Message, seg)
					}
				}
			}
		})
	}
	// Every rule of the vocabulary has at least one golden case.
	for _, rule := range []string{
		"json", "duplicate_key", "unknown_field", "null", "type", "empty",
		"required", "slug", "text", "decimal", "positive", "timestamp", "unit",
		"keyid", "ed25519_key", "digest", "epcis_event_id", "web_url",
		"iso4217", "iso3166_1_alpha2", "iso3166_2", "oneof", "min", "max",
		"unique", "nefield", "required_if", "excluded_unless", "excluded_if",
		"required_one", "region_country", "distinct_lot", "distinct_key",
	} {
		if !rulesSeen[rule] {
			t.Errorf("no golden invalid case reports rule %q", rule)
		}
	}
}

func TestValidateNil(t *testing.T) {
	var hop *schemas.HopRecorded
	for _, ev := range []schemas.Event{nil, hop} {
		got := pathRules(schemas.Validate(ev))
		if diff := cmp.Diff([]pathRule{{Path: "", Rule: "required"}}, got); diff != "" {
			t.Errorf("Validate(%#v) (-want +got):\n%s", ev, diff)
		}
	}
}

func TestDecodePayloadKind(t *testing.T) {
	ev, problems := schemas.DecodePayload("hop.sold", []byte(`{}`))
	if ev != nil || len(problems) != 1 || problems[0].Rule != "kind" {
		t.Fatalf("unknown kind: got %v, %v", ev, problems)
	}
	big := make([]byte, schemas.MaxPayloadSize+1)
	ev, problems = schemas.DecodePayload(schemas.KindHopRecorded, big)
	if ev != nil || len(problems) != 1 || problems[0].Rule != "max_size" {
		t.Fatalf("oversized payload: got %v, %v", ev, problems)
	}
}

func TestDecimalAccessors(t *testing.T) {
	ev, problems := schemas.ValidatePayload(schemas.KindHopRecorded, validPayload(t, schemas.KindHopRecorded, "origin-sale"))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	hop := ev.(*schemas.HopRecorded)
	price, err := hop.Price.Value()
	if err != nil || price.String() != "5600" {
		t.Errorf("price = %v, %v; want 5600", price, err)
	}
	total, err := hop.Labour[0].Pay.Total()
	if err != nil || total.String() != "3091200" {
		t.Errorf("digger pay total = %v, %v; want 3091200", total, err)
	}
	q, err := hop.Output.Quantity.Value()
	if err != nil || q.String() != "2000" {
		t.Errorf("quantity = %v, %v; want 2000", q, err)
	}
	at, err := hop.OccurredAt.Time()
	if err != nil {
		t.Fatal(err)
	}
	if _, off := at.Zone(); off != 2*3600 {
		t.Errorf("offset = %d s, want the +02:00 as written", off)
	}
	if _, err := schemas.Decimal("1e3").Value(); err == nil {
		t.Error(`Decimal("1e3").Value() accepted an exponent`)
	}
	if _, err := schemas.Timestamp("2025-06-14T15:20:00").Time(); err == nil {
		t.Error("Timestamp without offset accepted")
	}
}

// The ingest path validates from many goroutines at once.
func TestValidateConcurrently(t *testing.T) {
	envs := make([]schemas.Envelope, 0, len(schemas.Kinds()))
	for _, k := range schemas.Kinds() {
		envs = append(envs, signedExample(t, k))
	}
	done := make(chan []schemas.Problem)
	for i := range 8 {
		go func() {
			var all []schemas.Problem
			for j := range 20 {
				e := envs[(i+j)%len(envs)]
				ev, problems := schemas.ValidateEnvelope(&e)
				all = append(all, problems...)
				schemas.Terms(ev)
			}
			done <- all
		}()
	}
	for range 8 {
		if problems := <-done; len(problems) > 0 {
			t.Errorf("problems: %v", problems)
		}
	}
}
