package score_test

import (
	"math"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/tally-ledger/tally/score"
	"github.com/tally-ledger/tally/score/scoretest"
)

// TestIPad2010 builds the published iPad 2010 value-distribution table as a
// chain of hops and checks that the chain's share table gives back every row
// of the table to within US$1 (the source's rounding).
func TestIPad2010(t *testing.T) {
	ip, err := scoretest.IPad2010()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := score.Compute(ip.Chain, bundledSet(t), score.FEX1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ip.Checks) != 13 {
		t.Fatalf("%d checks, want one per table row (13)", len(ip.Checks))
	}
	one := decimal.NewFromInt(1)
	for _, c := range ip.Checks {
		t.Run(c.Row.Characteristic+"/"+c.Row.Activity+"/"+c.Row.Location, func(t *testing.T) {
			got, err := c.Got(cs)
			if err != nil {
				t.Fatal(err)
			}
			if got.Sub(c.Row.USD).Abs().GreaterThan(one) {
				t.Errorf("%s of %q: US$%s, table US$%s", c.Measure, c.Hop, got, c.Row.USD)
			}
		})
	}

	// Every input is on the ledger: the rows account for the whole price.
	sum := 0.0
	for _, r := range cs.Shares {
		sum += r.TotalShare
		if r.Remainder && math.Abs(r.TotalShare) > 1e-9 {
			t.Errorf("remainder %v, want 0", r.TotalShare)
		}
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("shares sum to %v, want 1", sum)
	}
	// Attribution: one iPad out of lots of 1,000.
	if h, _ := cs.Hop("sup-kr"); h.Fraction != "0.001" {
		t.Errorf("sup-kr fraction %s, want 0.001", h.Fraction)
	}
	// 2010 is before every bundled PPP year: the year rule leaves it missing.
	if h, _ := cs.Hop("asm-cn"); !hasMissing(h.Missing, "ppp") {
		t.Errorf("asm-cn: PPP for 2010 not reported missing: %+v", h.Missing)
	}
}

func hasMissing(ms []score.Missing, figure string) bool {
	for _, m := range ms {
		if m.Figure == figure {
			return true
		}
	}
	return false
}
