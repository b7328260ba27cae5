package verifier

import "github.com/shopspring/decimal"

// unitScale places a unit in a dimension with a power-of-ten scale, so that
// a quantity converts between units of the same dimension by shifting its
// decimal point: exact, with no rounding and no float64.
type unitScale struct {
	dimension string
	exp       int32 // the unit is 10^exp of the dimension's base unit
}

// unitScales are the conversions admission knows. Units of the same
// dimension are compatible; a unit not listed is compatible only with
// itself. Counts of items (C62, "one") and pieces (H87) are the same thing
// on a supply chain.
var unitScales = map[string]unitScale{
	"MGM": {"mass", -6},
	"GRM": {"mass", -3},
	"KGM": {"mass", 0},
	"TNE": {"mass", 3},
	"MLT": {"volume", -3},
	"LTR": {"volume", 0},
	"MTQ": {"volume", 3},
	"MTR": {"length", 0},
	"KMT": {"length", 3},
	"C62": {"pieces", 0},
	"H87": {"pieces", 0},
}

func scaleOf(unit string) unitScale {
	if s, ok := unitScales[unit]; ok {
		return s
	}
	return unitScale{dimension: "unit:" + unit}
}

// compatibleUnits reports whether quantities in units a and b can be
// compared.
func compatibleUnits(a, b string) bool { return scaleOf(a).dimension == scaleOf(b).dimension }

// convert expresses amount, given in unit from, in unit to. The units must
// be compatible.
func convert(amount decimal.Decimal, from, to string) decimal.Decimal {
	return amount.Shift(scaleOf(from).exp - scaleOf(to).exp)
}
