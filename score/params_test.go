package score_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/tally-ledger/tally/score"
)

// TestFEX1Params pins the fex-1 parameter file to the values METHOD-FEX1
// publishes. Changing a parameter means a new version, not an edit here.
func TestFEX1Params(t *testing.T) {
	p, err := score.Method("fex-1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != "fex-1" || p.Scale != 100 || !p.InKindCap.Equal(d("0.30")) || !p.MonthlyHours.Equal(d("173.33")) ||
		p.WorstCaseBelow != 0.7 || p.MoneyPlaces != 6 {
		t.Errorf("fex-1 = %+v", p)
	}
	want := map[score.Evidence]float64{
		score.EvidenceAuditedWorkerConfirmed: 1.0,
		score.EvidenceAudited:                0.9,
		score.EvidenceWorkerConfirmed:        0.8,
		score.EvidenceCounterparty:           0.7,
		score.EvidenceSeller:                 0.4,
		score.EvidenceDisputed:               0.2,
		score.EvidenceMissing:                0,
	}
	if diff := cmp.Diff(want, p.Confidence); diff != "" {
		t.Errorf("confidence (-want +got):\n%s", diff)
	}
	if score.CurrentMethod != "fex-1" || score.FEX1.Version != "fex-1" {
		t.Errorf("current %q, FEX1 %q", score.CurrentMethod, score.FEX1.Version)
	}
	if diff := cmp.Diff([]string{"fex-1"}, score.Methods()); diff != "" {
		t.Errorf("methods (-want +got):\n%s", diff)
	}
	// Method hands out copies: changing one does not change the registry.
	p.Confidence[score.EvidenceAudited] = 0.1
	if q, _ := score.Method("fex-1"); q.Confidence[score.EvidenceAudited] != 0.9 {
		t.Error("Method returned the registry's own map")
	}
}

func TestUnknownMethod(t *testing.T) {
	if _, err := score.Method("fex-0"); !errors.Is(err, score.ErrUnknownMethod) {
		t.Errorf("Method(fex-0): %v, want ErrUnknownMethod", err)
	}
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*score.Params)
	}{
		{"no version", func(p *score.Params) { p.Version = "" }},
		{"in-kind cap above 1", func(p *score.Params) { p.InKindCap = decimal.NewFromInt(2) }},
		{"no monthly hours", func(p *score.Params) { p.MonthlyHours = decimal.Zero }},
		{"threshold 0", func(p *score.Params) { p.WorstCaseBelow = 0 }},
		{"missing level", func(p *score.Params) { delete(p.Confidence, score.EvidenceAudited) }},
		{"confidence above 1", func(p *score.Params) { p.Confidence[score.EvidenceAudited] = 1.5 }},
		{"missing is not 0", func(p *score.Params) { p.Confidence[score.EvidenceMissing] = 0.1 }},
		{"unknown level", func(p *score.Params) { p.Confidence["rumoured"] = 0.1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := score.Method("fex-1")
			tt.mutate(&p)
			if err := p.Validate(); !errors.Is(err, score.ErrInvalidParams) {
				t.Errorf("Validate: %v, want ErrInvalidParams", err)
			}
			if _, err := score.Compute(twoHops(), handSet(t), p); !errors.Is(err, score.ErrInvalidParams) {
				t.Errorf("Compute: %v, want ErrInvalidParams", err)
			}
		})
	}
}

// TestVersionTravels: a parameter set under another version name computes,
// and every answer carries its version.
func TestVersionTravels(t *testing.T) {
	p, _ := score.Method("fex-1")
	p.Version = "fex-experimental"
	p.InKindCap = d("0")
	cs := compute(t, twoHops(), handSet(t))
	cs2, err := score.Compute(twoHops(), handSet(t), p)
	if err != nil {
		t.Fatal(err)
	}
	if cs2.Method != "fex-experimental" || cs2.Hops[0].Method != "fex-experimental" {
		t.Errorf("method %q / %q", cs2.Method, cs2.Hops[0].Method)
	}
	// No in-kind counted: the miner's pay falls from 515 to 350 (US$, whole lot).
	money(t, "fex-1 miner income", cs.Hops[0].LabourIncome, "25.75")
	money(t, "experimental miner income", cs2.Hops[0].LabourIncome, "17.5")
}
