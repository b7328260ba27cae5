package schemas_test

import (
	"encoding/json"
	"io/fs"
	"slices"
	"testing"

	"github.com/go-playground/validator/v10"
	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/schemas"
)

// goOnlyRules are the rules the JSON Schemas cannot express: they compare
// members with each other, look inside a key or a region code, or see a
// duplicate member that parsing hides. An invalid case the schema accepts
// must break only these.
var goOnlyRules = map[string]bool{
	"nefield": true, "unique": true, "distinct_lot": true, "distinct_key": true,
	"region_country": true, "iso3166_2": true, "ed25519_key": true, "duplicate_key": true,
}

// TestSchemaAgreement proves that the Go types and the JSON Schemas agree on
// every golden payload: both accept the valid ones; on the invalid ones,
// the schema rejects what Tally rejects, except for the documented rules
// it cannot express, where it must accept (so the gap is exactly known).
func TestSchemaAgreement(t *testing.T) {
	compiled := compileSchemas(t)
	for _, c := range loadValid(t) {
		t.Run("valid/"+c.kind+"/"+c.name, func(t *testing.T) {
			ok, err := schemaAccepts(compiled[c.kind], c.payload)
			if err != nil || !ok {
				t.Fatalf("JSON Schema rejects a valid payload: %v %v", ok, err)
			}
		})
	}
	for _, c := range loadInvalid(t) {
		t.Run("invalid/"+c.kind+"/"+c.Name, func(t *testing.T) {
			ok, err := schemaAccepts(compiled[c.kind], c.payload)
			switch c.Schema {
			case "unparsable":
				if err == nil {
					t.Fatalf("case says the payload is not JSON, but it parsed")
				}
				return
			case "accepts":
				if c.Why == "" {
					t.Error("a case the schema accepts must say why")
				}
				for _, p := range c.Problems {
					if !goOnlyRules[p.Rule] {
						t.Errorf("rule %q is not one the schema is known to miss", p.Rule)
					}
				}
				if err != nil || !ok {
					t.Fatalf("JSON Schema now rejects this (%v); move the rule out of goOnlyRules and the case's schema mark", err)
				}
			case "":
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					t.Fatalf("JSON Schema accepts a payload Tally rejects for %v", c.Problems)
				}
			default:
				t.Fatalf("unknown schema mark %q", c.Schema)
			}
		})
	}
}

// TestSchemaCodeLists checks the schemas' code lists against the Go rules
// exhaustively: every two-letter string for countries, every three-letter
// string for currencies, and the unit list.
func TestSchemaCodeLists(t *testing.T) {
	raw, err := fs.ReadFile(schemas.JSONSchemas(), schemas.CommonSchemaName)
	if err != nil {
		t.Fatal(err)
	}
	var common struct {
		Defs map[string]struct {
			Enum []string `json:"enum"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &common); err != nil {
		t.Fatal(err)
	}
	v := validator.New()
	letters := "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var countries, currencies []string
	for _, a := range letters {
		for _, b := range letters {
			if s := string([]rune{a, b}); v.Var(s, "iso3166_1_alpha2") == nil {
				countries = append(countries, s)
			}
			for _, c := range letters {
				if s := string([]rune{a, b, c}); v.Var(s, "iso4217") == nil {
					currencies = append(currencies, s)
				}
			}
		}
	}
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	if diff := cmp.Diff(countries, sorted(common.Defs["country"].Enum)); diff != "" {
		t.Errorf("country codes: validator (-) and schema (+) differ; update common.v1.schema.json:\n%s", diff)
	}
	if diff := cmp.Diff(currencies, sorted(common.Defs["currency"].Enum)); diff != "" {
		t.Errorf("currency codes: validator (-) and schema (+) differ; update common.v1.schema.json:\n%s", diff)
	}
	var units []string
	for u := range schemas.Units {
		units = append(units, u)
	}
	if diff := cmp.Diff(sorted(units), sorted(common.Defs["unit"].Enum)); diff != "" {
		t.Errorf("unit codes: Go (-) and schema (+) differ:\n%s", diff)
	}
}

func TestJSONSchemaFiles(t *testing.T) {
	for _, k := range schemas.Kinds() {
		b, err := schemas.JSONSchema(k)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Schema string `json:"$schema"`
			Title  string `json:"title"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || doc.Title != k+" v1" {
			t.Errorf("%s: $schema %q, title %q", k, doc.Schema, doc.Title)
		}
	}
	if _, err := schemas.JSONSchema("hop.sold"); err == nil {
		t.Error("JSONSchema of an unknown kind did not fail")
	}
}

// TestEnumsAgree: each exported list of values (Roles, Services…) is what
// the validate tags accept and what the JSON Schema enumerates.
func TestEnumsAgree(t *testing.T) {
	tests := []struct {
		kind, base string
		schemaPath []string // property names from the schema root to the enum
		pointer    string   // the member in the payload
		values     []string
	}{
		{"party.registered", "cooperative", []string{"role"}, "/role", schemas.Roles},
		{"party.registered", "cooperative", []string{"org_form"}, "/org_form", schemas.OrgForms},
		{"party.key_revoked", "retired", []string{"reason"}, "/reason", schemas.RevocationReasons},
		{"hop.recorded", "transport-service", []string{"service"}, "/service", schemas.Services},
		{"hop.recorded", "origin-sale", []string{"costs", "items", "category"}, "/costs/0/category", schemas.CostCategories},
		{"attestation.recorded", "price-confirmed", []string{"claim"}, "/claim", schemas.Claims},
		{"attestation.recorded", "audited", []string{"scope", "items"}, "/scope/0", schemas.AuditScopes},
		{"benchmark.published", "ppp-factor", []string{"measure"}, "/measure", schemas.Measures},
		{"benchmark.published", "living-wage-monthly", []string{"period"}, "/period", schemas.Periods},
	}
	for _, tt := range tests {
		t.Run(tt.pointer, func(t *testing.T) {
			raw, err := schemas.JSONSchema(tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			var node map[string]any
			if err := json.Unmarshal(raw, &node); err != nil {
				t.Fatal(err)
			}
			for _, name := range tt.schemaPath {
				if name == "items" {
					node = node["items"].(map[string]any)
					continue
				}
				node = node["properties"].(map[string]any)[name].(map[string]any)
			}
			var enum []string
			for _, v := range node["enum"].([]any) {
				enum = append(enum, v.(string))
			}
			if diff := cmp.Diff(tt.values, enum); diff != "" {
				t.Errorf("Go list (-) and schema enum (+) differ:\n%s", diff)
			}
			for _, v := range append(slices.Clone(tt.values), "not-a-value") {
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				payload, err := applyPatch(validPayload(t, tt.kind, tt.base), []patchOp{{Op: "replace", Path: tt.pointer, Value: b}})
				if err != nil {
					t.Fatal(err)
				}
				_, problems := schemas.ValidatePayload(tt.kind, payload)
				rejected := slices.ContainsFunc(problems, func(p schemas.Problem) bool { return p.Path == tt.pointer && p.Rule == "oneof" })
				if rejected != (v == "not-a-value") {
					t.Errorf("%q: rejected by oneof = %v (%v)", v, rejected, problems)
				}
			}
		})
	}
}
