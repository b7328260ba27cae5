package score

import (
	"strings"

	"github.com/shopspring/decimal"
)

// unitSize gives each convertible unit (UN/ECE Recommendation 20 codes) its
// dimension and size in that dimension's base unit (the gram, the litre).
// Any other unit converts only to itself.
var unitSize = map[string]struct {
	dim  string
	size decimal.Decimal
}{
	"MGM": {"mass", decimal.New(1, -3)},
	"GRM": {"mass", decimal.New(1, 0)},
	"KGM": {"mass", decimal.New(1, 3)},
	"TNE": {"mass", decimal.New(1, 6)},
	"MLT": {"volume", decimal.New(1, -3)},
	"LTR": {"volume", decimal.New(1, 0)},
	"MTQ": {"volume", decimal.New(1, 3)},
}

// ConvertQuantity expresses q, measured in unit from, in unit to. Units are
// UN/ECE Recommendation 20 codes, compared case-insensitively. The same unit
// always converts; milligrams, grams, kilograms and tonnes convert among
// themselves, as do millilitres, litres and cubic metres; anything else
// does not, and the answer is false.
func ConvertQuantity(q decimal.Decimal, from, to string) (decimal.Decimal, bool) {
	from, to = strings.ToUpper(strings.TrimSpace(from)), strings.ToUpper(strings.TrimSpace(to))
	if from == to && from != "" {
		return q, true
	}
	a, okA := unitSize[from]
	b, okB := unitSize[to]
	if !okA || !okB || a.dim != b.dim {
		return decimal.Decimal{}, false
	}
	return q.Mul(a.size).DivRound(b.size, divPlaces), true
}
