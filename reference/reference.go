// Package reference holds the published figures that Tally's scores are
// measured against: living wages, statutory minimum wages, average earnings,
// purchasing-power-parity factors and market exchange rates.
//
// Every figure carries its source, its reference year, its method (or
// statistical series) and its origin: a row of a data file bundled with the
// program (data/, with SOURCES.md and GAPS.md beside it), or a
// benchmark.published entry on the ledger. No figure is estimated here: a
// figure that was not found is missing, and a lookup says so instead of
// answering zero.
//
// A Set is immutable. Bundled returns the bundled figures; With layers a
// ledger figure on top, superseding any earlier figure for the same kind,
// country, region and year; At rewinds the layering to a ledger position, so
// a score computed at sequence number n can always be recomputed with the
// figures that were in force at n.
package reference

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// Kind is what a figure measures.
type Kind string

// The kinds of reference figure.
const (
	// KindLivingWage is a living wage benchmark (money per Period).
	KindLivingWage Kind = "living_wage"
	// KindMinimumWage is a statutory minimum wage (money per Period).
	KindMinimumWage Kind = "minimum_wage"
	// KindAverageEarnings is the average earnings of employees (money per Period).
	KindAverageEarnings Kind = "average_earnings"
	// KindPPP is a purchasing-power-parity conversion factor for private
	// consumption: local currency units per international dollar.
	KindPPP Kind = "ppp_private_consumption"
	// KindExchangeRate is a market (official) exchange rate, period average:
	// local currency units per US dollar.
	KindExchangeRate Kind = "exchange_rate"
)

// Kinds lists every kind, in a fixed order.
func Kinds() []Kind {
	return []Kind{KindLivingWage, KindMinimumWage, KindAverageEarnings, KindPPP, KindExchangeRate}
}

func (k Kind) valid() bool {
	switch k {
	case KindLivingWage, KindMinimumWage, KindAverageEarnings, KindPPP, KindExchangeRate:
		return true
	}
	return false
}

// isWage reports whether the figure is an amount of pay per period (as
// opposed to a conversion factor).
func (k Kind) isWage() bool {
	return k == KindLivingWage || k == KindMinimumWage || k == KindAverageEarnings
}

// Period is the time a wage amount pays for.
type Period string

// The periods of a wage figure. Conversion factors have no period.
const (
	PerHour  Period = "hour"
	PerDay   Period = "day"
	PerWeek  Period = "week"
	PerMonth Period = "month"
	PerYear  Period = "year"
)

func (p Period) valid() bool {
	switch p {
	case PerHour, PerDay, PerWeek, PerMonth, PerYear:
		return true
	}
	return false
}

// Figure is one reference figure with everything needed to cite it.
//
// For a wage kind, Amount is money in Currency per Period. For KindPPP it is
// units of Currency (the country's currency) per international dollar; for
// KindExchangeRate, units of Currency per US dollar; Period is empty for
// both.
type Figure struct {
	Kind     Kind            `json:"kind"`
	Country  string          `json:"country"`          // ISO 3166-1 alpha-2
	Region   string          `json:"region,omitempty"` // as published; empty or "national" for a country-wide figure
	Year     int             `json:"year"`             // reference year of the figure
	Currency string          `json:"currency"`         // ISO 4217
	Period   Period          `json:"period,omitempty"`
	Amount   decimal.Decimal `json:"amount"`
	// Hours is the working time a wage per day, week, month or year
	// assumes, where the benchmark states it; zero where it does not.
	Hours decimal.Decimal `json:"hours,omitzero"`
	// Method is the method of a wage figure (Anker/GLWC, survey source, ...)
	// or the statistical series of a factor (e.g. PA.NUS.PRVT.PP).
	Method string `json:"method"`
	Source string `json:"source"`
	Origin Origin `json:"origin"`
}

// National reports whether the figure covers its whole country. The
// published region texts say so in a few ways: an empty region, "national",
// a text that begins "national figure" (ILOSTAT's national figure where
// wages are set regionally), or one that contains "(national" (such as
// "South Africa (national)"). "National Capital Region" is a region.
func (f Figure) National() bool { return isNational(f.Region) }

func isNational(region string) bool {
	r := normRegion(region)
	return r == "" || r == "national" || strings.HasPrefix(r, "national figure") || strings.Contains(r, "(national")
}

// normRegion is the form regions are compared in: trimmed, lower case,
// inner runs of space collapsed.
func normRegion(region string) string {
	return strings.Join(strings.Fields(strings.ToLower(region)), " ")
}

// key identifies the slot a figure fills; a later figure with the same key
// supersedes an earlier one.
type key struct {
	kind    Kind
	country string
	region  string
	year    int
}

func (f Figure) key() key {
	return key{kind: f.Kind, country: f.Country, region: normRegion(f.Region), year: f.Year}
}

// String names the figure and its origin, for messages.
func (f Figure) String() string {
	r := ""
	if f.Region != "" {
		r = " (" + f.Region + ")"
	}
	p := ""
	if f.Period != "" {
		p = "/" + string(f.Period)
	}
	if !f.Hours.IsZero() {
		p += " of " + f.Hours.String() + " h"
	}
	return fmt.Sprintf("%s %s%s %d: %s %s%s [%s]", f.Kind, f.Country, r, f.Year, f.Amount.String(), f.Currency, p, f.Origin)
}

// Validate checks that a figure is complete: a known kind, a country code, a
// plausible year, a positive amount, a currency code, the period a wage needs
// (and none for a factor), a method and a source. Errors wrap ErrInvalidFigure
// and name the field.
func (f Figure) Validate() error {
	bad := func(field, rule string) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidFigure, field, rule)
	}
	if !f.Kind.valid() {
		return bad("kind", fmt.Sprintf("%q is not one of %v", f.Kind, Kinds()))
	}
	if !isAlpha(f.Country, 2) {
		return bad("country", fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 code", f.Country))
	}
	if f.Year < 1900 || f.Year > 2200 {
		return bad("year", fmt.Sprintf("%d is not a plausible reference year", f.Year))
	}
	if !isAlpha(f.Currency, 3) {
		return bad("currency", fmt.Sprintf("%q is not an ISO 4217 code", f.Currency))
	}
	if !f.Amount.IsPositive() {
		return bad("amount", "must be greater than zero")
	}
	switch {
	case f.Kind.isWage() && !f.Period.valid():
		return bad("period", fmt.Sprintf("a %s needs a period (hour, day, week, month, year), got %q", f.Kind, f.Period))
	case !f.Kind.isWage() && f.Period != "":
		return bad("period", fmt.Sprintf("a %s has no period, got %q", f.Kind, f.Period))
	case f.Hours.IsNegative():
		return bad("hours", "must not be negative")
	case !f.Hours.IsZero() && (f.Period == "" || f.Period == PerHour):
		return bad("hours", fmt.Sprintf("only a wage per day, week, month or year states its hours (period %q)", f.Period))
	}
	if strings.TrimSpace(f.Method) == "" {
		return bad("method", "required (the method or statistical series)")
	}
	if strings.TrimSpace(f.Source) == "" {
		return bad("source", "required")
	}
	return f.Origin.validate()
}

func isAlpha(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
