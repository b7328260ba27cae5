package score_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/tally-ledger/tally/score"
)

// TestWeightedGini checks the formula against computations by hand:
//
//	G = Σᵢ Σⱼ pᵢ pⱼ |xᵢ − xⱼ| / (2 μ),  pᵢ = wᵢ / Σ w,  μ = Σ pᵢ xᵢ
func TestWeightedGini(t *testing.T) {
	tests := []struct {
		name    string
		x, w    []float64
		want    float64
		defined bool
	}{
		// p = ½, ½; pairs (1,3) and (3,1): 2 × ¼ × 2 = 1; μ = 2 → 1/4.
		{"two equal weights", []float64{1, 3}, []float64{1, 1}, 0.25, true},
		// p = ¾, ¼: 2 × ¾ × ¼ × 2 = 0.75; μ = 1.5 → 0.25.
		{"weights shift the mean", []float64{1, 3}, []float64{3, 1}, 0.25, true},
		// p = ¼, ½, ¼: 2(¼·½·2 + ¼·¼·8 + ½·¼·6) = 0.5 + 1 + 1.5 = 3; μ = 5 → 0.3.
		{"three values", []float64{2, 4, 10}, []float64{1, 2, 1}, 0.3, true},
		// The two-hop chain: weights 12.5 and 4, values 7.2 and 22.5 → 17/66.
		{"two-hop chain", []float64{7.2, 22.5}, []float64{12.5, 4}, 17.0 / 66, true},
		{"all equal", []float64{5, 5, 5}, []float64{1, 7, 2}, 0, true},
		// One of n equal-weight hops holds everything: (n−1)/n.
		{"one holds all", []float64{0, 0, 0, 12}, []float64{1, 1, 1, 1}, 0.75, true},
		{"a zero weight drops out", []float64{1, 3, 100}, []float64{1, 1, 0}, 0.25, true},
		{"single value", []float64{3}, []float64{2}, 0, true},
		{"no values", nil, nil, 0, false},
		{"no weight", []float64{1, 2}, []float64{0, 0}, 0, false},
		{"negative weight", []float64{1, 2}, []float64{1, -1}, 0, false},
		{"mean not positive", []float64{-1, 1}, []float64{1, 1}, 0, false},
		{"lengths differ", []float64{1, 2}, []float64{1}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ok := score.WeightedGini(tt.x, tt.w)
			if ok != tt.defined {
				t.Fatalf("defined = %v, want %v", ok, tt.defined)
			}
			approx(t, "G", g, tt.want)
		})
	}
}

func TestExchangeEquality(t *testing.T) {
	tests := []struct {
		vs, vb string
		e      float64
		fav    score.Favours
	}{
		{"7.2", "22.5", 0.32, score.FavoursBuyer},
		{"22.5", "7.2", 0.32, score.FavoursSeller},
		{"3", "3", 1, score.FavoursNeither},
		{"-1", "4", 0, score.FavoursBuyer},
		{"4", "0", 0, score.FavoursSeller},
		{"0", "0", 0, score.FavoursNeither},
		{"-2", "-1", 0, score.FavoursNeither},
	}
	for _, tt := range tests {
		e, fav := score.ExchangeEquality(d(tt.vs), d(tt.vb))
		if fav != tt.fav {
			t.Errorf("E(%s, %s) favours %s, want %s", tt.vs, tt.vb, fav, tt.fav)
		}
		approx(t, "E("+tt.vs+", "+tt.vb+")", e, tt.e)
	}
}

func TestConvertQuantity(t *testing.T) {
	tests := []struct {
		q, from, to, want string
		ok                bool
	}{
		{"50000", "GRM", "KGM", "50", true},
		{"2.5", "TNE", "KGM", "2500", true},
		{"1", "KGM", "MGM", "1000000", true},
		{"250", "mlt", "LTR", "0.25", true},
		{"3", "MTQ", "LTR", "3000", true},
		{"7", "C62", "C62", "7", true},
		{"7", "C62", "KGM", "", false},
		{"1", "LTR", "KGM", "", false},
		{"1", "XYZ", "GRM", "", false},
		{"1", "", "", "", false},
	}
	for _, tt := range tests {
		got, ok := score.ConvertQuantity(d(tt.q), tt.from, tt.to)
		if ok != tt.ok || (ok && !got.Equal(d(tt.want))) {
			t.Errorf("ConvertQuantity(%s %s → %s) = %s, %v; want %s, %v", tt.q, tt.from, tt.to, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := score.ConvertQuantity(decimal.NewFromInt(1), "KGM", "LTR"); ok {
		t.Error("mass converted to volume")
	}
}
