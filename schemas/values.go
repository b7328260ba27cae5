package schemas

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Decimal is a non-negative decimal number written as a JSON string, such
// as "1250.50": never a float, so amounts survive every hop exactly. Its
// form is strict (see decimalSyntax): no sign, no exponent, no leading
// zeros, at most 18 integer and 9 fractional digits.
type Decimal string

// MaxFractionDigits is the most digits a Decimal may carry after its point.
const MaxFractionDigits = 9

// decimalSyntax is the one definition of a Decimal's form; the JSON Schemas
// carry the same pattern.
var decimalSyntax = regexp.MustCompile(`^(0|[1-9][0-9]{0,17})(\.[0-9]{1,9})?$`)

// isDecimal is decimalSyntax written out (every amount of every statement
// is checked against it).
func isDecimal(s string) bool {
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if n := len(intPart); n == 0 || n > 18 || (intPart[0] == '0' && n > 1) || !allDigits(intPart) {
		return false
	}
	return !hasPoint || (len(frac) >= 1 && len(frac) <= MaxFractionDigits && allDigits(frac))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Value returns the number. It fails on a string that is not a Decimal.
func (d Decimal) Value() (decimal.Decimal, error) {
	if !isDecimal(string(d)) {
		return decimal.Decimal{}, fmt.Errorf("%q is not a decimal string", string(d))
	}
	return decimal.NewFromString(string(d))
}

// IsPositive reports whether d is a Decimal greater than zero.
func (d Decimal) IsPositive() bool {
	v, err := d.Value()
	return err == nil && v.Sign() > 0
}

// Money is an amount in a currency: a Decimal and an ISO 4217 code.
type Money struct {
	Amount   Decimal `json:"amount" validate:"required,decimal"`
	Currency string  `json:"currency" validate:"required,iso4217"`
}

// Value returns the amount.
func (m Money) Value() (decimal.Decimal, error) { return m.Amount.Value() }

// Quantity is an amount of goods or of a service: a Decimal greater than
// zero and a UN/ECE Recommendation 20 unit code from Units.
type Quantity struct {
	Amount Decimal `json:"amount" validate:"required,decimal,positive"`
	Unit   string  `json:"unit" validate:"required,unit"`
}

// Value returns the amount.
func (q Quantity) Value() (decimal.Decimal, error) { return q.Amount.Value() }

// Timestamp is an RFC 3339 date-time with an explicit offset ("Z" or
// ±hh:mm, not the "unknown local offset" -00:00), kept as written so that
// the local offset of the place where something happened survives.
type Timestamp string

// timestampSyntax is the one definition of a Timestamp's form; the JSON
// Schemas carry the same pattern. Calendar ranges are checked by parsing.
var timestampSyntax = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|\+(?:[01][0-9]|2[0-3]):[0-5][0-9]|-(?:(?:0[1-9]|1[0-9]|2[0-3]):[0-5][0-9]|00:(?:0[1-9]|[1-5][0-9])))$`)

// Time returns the instant, in the offset it was written with.
func (t Timestamp) Time() (time.Time, error) {
	if !timestampSyntax.MatchString(string(t)) {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp with an explicit offset", string(t))
	}
	return time.Parse(time.RFC3339Nano, string(t))
}

// Units are the UN/ECE Recommendation 20 unit codes a Quantity may use: a
// curated list of the codes that matter along a supply chain, with their
// Recommendation 20 names.
var Units = map[string]string{
	"KGM": "kilogram",
	"GRM": "gram",
	"MGM": "milligram",
	"TNE": "tonne (metric ton)",
	"APZ": "troy ounce",
	"CTM": "carat (metric)",
	"LTR": "litre",
	"MLT": "millilitre",
	"MTQ": "cubic metre",
	"MTR": "metre",
	"KMT": "kilometre",
	"MTK": "square metre",
	"C62": "one (a count of items)",
	"H87": "piece",
	"PR":  "pair",
	"SET": "set",
	"DZN": "dozen",
	"KWH": "kilowatt hour",
	"HUR": "hour",
	"DAY": "day",
	"TKM": "tonne kilometre",
	"E48": "service unit",
}
