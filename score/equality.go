package score

import (
	"math"

	"github.com/shopspring/decimal"
)

// Favours names the side an unequal exchange favours: the side whose work
// earned more value per hour.
type Favours string

// The sides.
const (
	FavoursSeller  Favours = "seller"
	FavoursBuyer   Favours = "buyer"
	FavoursNeither Favours = "neither"
	FavoursUnknown Favours = "unknown" // a value per hour is missing
)

// Basis says what a hop's value per hour was compared with.
type Basis string

// The bases of exchange equality.
const (
	// BasisBuyerHop: the buyer's own hop that consumed the output.
	BasisBuyerHop Basis = "buyer_hop"
	// BasisChainMean: the chain's hours-weighted mean value per hour, used
	// where the buyer has no such hop (an end consumer, or a buyer not on
	// the ledger).
	BasisChainMean Basis = "chain_mean"
)

// ExchangeEquality is E = min(vs, vb) / max(vs, vb) for the value per hour
// of the seller (vs) and of the buyer (vb), with the side it favours. It is
// symmetric: swapping the sides gives the same E and the other side.
//
// A side that added no value or lost value (v ≤ 0) got nothing for its
// hours: if the other side gained, E is 0 and favours the other side; if
// neither gained, E is 0 and favours neither.
func ExchangeEquality(vs, vb decimal.Decimal) (float64, Favours) {
	side := func() Favours {
		switch vs.Cmp(vb) {
		case 1:
			return FavoursSeller
		case -1:
			return FavoursBuyer
		}
		return FavoursNeither
	}
	switch {
	case vs.IsPositive() && vb.IsPositive():
		lo, hi := decimal.Min(vs, vb), decimal.Max(vs, vb)
		return ratio(lo, hi), side()
	case vs.IsPositive() || vb.IsPositive():
		return 0, side()
	}
	return 0, FavoursNeither
}

// WeightedGini is the Gini coefficient of values with non-negative weights:
//
//	G = Σᵢ Σⱼ pᵢ pⱼ |xᵢ − xⱼ| / (2 μ),  pᵢ = wᵢ / Σ w,  μ = Σ pᵢ xᵢ
//
// (half the weighted mean absolute difference over the weighted mean). It is
// 0 when every value is equal, and approaches 1 − p when one value holds
// everything and carries weight share p. It is not defined (false) for no
// values, a zero total weight, a negative weight, or a mean that is not
// positive.
func WeightedGini(values, weights []float64) (float64, bool) {
	if len(values) == 0 || len(values) != len(weights) {
		return 0, false
	}
	total := 0.0
	for _, w := range weights {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return 0, false
		}
		total += w
	}
	if total <= 0 {
		return 0, false
	}
	mean := 0.0
	for i, x := range values {
		mean += weights[i] / total * x
	}
	if !(mean > 0) {
		return 0, false
	}
	sum := 0.0
	for i, xi := range values {
		for j, xj := range values {
			sum += weights[i] / total * weights[j] / total * math.Abs(xi-xj)
		}
	}
	return sum / (2 * mean), true
}
