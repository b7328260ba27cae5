package score

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/shopspring/decimal"
)

// parsed is the reference conversion: the decimal's string, parsed.
func parsed(t *testing.T, x decimal.Decimal) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(x.String(), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // out of range: ±Inf or ±0
		t.Fatal(err)
	}
	return f
}

// randomDecimal draws a coefficient of 1 to 45 digits (around the int64 and
// float64 limits) and an exponent on both sides of the exact powers of ten.
func randomDecimal(r *rand.Rand) decimal.Decimal {
	c := new(big.Int)
	for range 1 + r.IntN(45) {
		c.Mul(c, big.NewInt(10))
		c.Add(c, big.NewInt(int64(r.IntN(10))))
	}
	if r.IntN(3) == 0 {
		c.Neg(c)
	}
	return decimal.NewFromBigInt(c, int32(r.IntN(70)-45))
}

// TestFloatMatchesParsing checks the fast conversion against parsing the
// decimal's string.
func TestFloatMatchesParsing(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		x := randomDecimal(r)
		if got, want := float(x), parsed(t, x); got != want {
			t.Fatalf("float(%s) = %v, want %v", x, got, want)
		}
	}
	for _, s := range []string{"0", "-0.5", "9007199254740993", "0.1", "123456789012345678", "1e22", "1e23", "0.30000000000000000001", "1e-70",
		"123456789012345678901234567890e-340", "-4.9406564584124654417656879286822137236505980e-324", "2.2250738585072011e-308", "17976931348623159e292", "1e400"} {
		x := decimal.RequireFromString(s)
		if got, want := float(x), parsed(t, x); got != want {
			t.Fatalf("float(%s) = %v, want %v", x, got, want)
		}
	}
}

// TestRatioMatchesDivRound checks ratio against rounding the quotient with
// the decimal package and parsing its string, including quotients that
// end in exactly half a unit of the last place.
func TestRatioMatchesDivRound(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	check := func(a, b decimal.Decimal) {
		if b.IsZero() {
			return
		}
		if got, want := ratio(a, b), parsed(t, a.DivRound(b, divPlaces)); got != want {
			t.Fatalf("ratio(%s, %s) = %v, want %v", a, b, got, want)
		}
	}
	for range 100000 {
		check(randomDecimal(r), randomDecimal(r))
	}
	half := decimal.New(5, -divPlaces-1)
	for _, s := range []string{"1", "-1", "0.3", "-7.25", "123456789.123456789"} {
		x := decimal.RequireFromString(s)
		check(x.Add(half), decimal.NewFromInt(1))
		check(x.Sub(half), decimal.NewFromInt(-1))
		check(x, decimal.NewFromInt(3))
		check(decimal.Zero, x)
	}
}
