package score_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tally-ledger/tally/score"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestOutputFields checks that the JSON of a hop score and a chain score
// carries every field METHOD-FEX1 lists, under exactly those names, and that
// money is a decimal string with a currency.
func TestOutputFields(t *testing.T) {
	cs := compute(t, twoHops(), handSet(t))
	var chain map[string]any
	b, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &chain); err != nil {
		t.Fatal(err)
	}
	hopFields := []string{"method", "hop", "score", "point", "worst", "best", "confidence", "wage_adequacy",
		"exchange_equality", "equality_basis", "favours", "value_added", "labour_income", "capture",
		"value_per_hour_intl", "living_wage_shortfall", "categories", "inputs", "reference", "missing"}
	chainFields := []string{"method", "score", "point", "worst", "best", "confidence", "shares",
		"living_wage_cost_share", "origin_share", "hours_ratio", "hops"}
	for _, f := range chainFields {
		if _, ok := chain[f]; !ok {
			t.Errorf("chain score has no %q", f)
		}
	}
	hop := chain["hops"].([]any)[0].(map[string]any)
	for _, f := range hopFields {
		if _, ok := hop[f]; !ok {
			t.Errorf("hop score has no %q", f)
		}
	}
	cat := hop["categories"].([]any)[0].(map[string]any)
	for _, f := range []string{"hourly_pay", "living_wage", "ratio"} {
		if _, ok := cat[f]; !ok {
			t.Errorf("category has no %q", f)
		}
	}
	row := chain["shares"].([]any)[0].(map[string]any)
	for _, f := range []string{"hop", "labour_share", "capture_share", "non_labour_share"} {
		if _, ok := row[f]; !ok {
			t.Errorf("share row has no %q", f)
		}
	}
	ref := hop["reference"].([]any)[0].(map[string]any)
	for _, f := range []string{"source", "year", "amount", "origin"} {
		if _, ok := ref[f]; !ok {
			t.Errorf("reference figure has no %q", f)
		}
	}
	if diff := cmp.Diff(map[string]any{"amount": "45", "currency": "USD"}, hop["value_added"]); diff != "" {
		t.Errorf("value_added (-want +got):\n%s", diff)
	}
	if _, ok := hop["wage_adequacy"].(float64); !ok {
		t.Errorf("wage_adequacy is %T, want a number", hop["wage_adequacy"])
	}
}

// TestGolden pins the whole answer for the two-hop chain, with evidence and
// a dispute, so that any change to the output is seen. Regenerate with
// go test ./score -run TestGolden -update after checking the change.
func TestGolden(t *testing.T) {
	ch := twoHops()
	price := xts("3200")
	ch.Attestations = []score.Attestation{
		{Entry: score.EntryRef{Seq: 3, Hash: "e3"}, Kind: score.WageConfirmed, Role: score.RoleUnion,
			Attester: score.Party{ID: "diggers-union", Country: "XA"}, Subject: "m"},
		{Entry: score.EntryRef{Seq: 4, Hash: "e4"}, Kind: score.Audited, Role: score.RoleAuditor,
			Attester: score.Party{ID: "auditor"}, Subject: "t"},
		{Entry: score.EntryRef{Seq: 5, Hash: "e5"}, Kind: score.Disputed, Attester: trader, Subject: "m",
			Dispute: &score.Dispute{Price: &price}},
	}
	cs := compute(t, ch, handSet(t))
	got, err := json.MarshalIndent(cs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "two-hops.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
	}

	// The same input gives the same bytes.
	again, _ := json.MarshalIndent(compute(t, ch, handSet(t)), "", "  ")
	if !bytes.Equal(again, got[:len(got)-1]) {
		t.Error("two computations of the same chain differ")
	}
}
