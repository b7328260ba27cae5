package reference

import (
	"slices"
	"strings"
)

// Match says how well a figure found by a regional lookup fits the place
// asked about.
type Match string

// The matches, best first.
const (
	// MatchRegion: the figure's region is the region asked for.
	MatchRegion Match = "region"
	// MatchNational: no figure for that region; the figure covers the
	// whole country.
	MatchNational Match = "national"
	// MatchOtherRegion: the country has figures only for other regions;
	// the highest of them stands in (see Lookup).
	MatchOtherRegion Match = "other_region"
)

// Lookup finds the figure of a kind for a place and year. The rule:
//
//  1. Only figures for the country whose year is not after the year asked
//     for count ("the latest reference year not after the hop's year"): a
//     figure is never used for an earlier year than its own.
//  2. Figures for the region asked for (compared case-insensitively, with
//     spaces collapsed) come first; then country-wide figures (see
//     Figure.National); then figures for other regions of the country.
//  3. Within the first of those groups that has any figure, the latest
//     year wins. Among figures of that year, for the region and national
//     groups the most recently published wins (a ledger entry over the
//     bundle, a later entry over an earlier one); for other regions the
//     highest amount wins, monthly figures before hourly ones and figures
//     in the country's own currency first, so that standing in for an
//     unknown region never flatters pay.
//
// The answer is the figure, which group it came from, and whether there was
// one at all: a missing figure is missing, never zero.
func (s *Set) Lookup(kind Kind, country, region string, year int) (Figure, Match, bool) {
	country = strings.ToUpper(strings.TrimSpace(country))
	want := normRegion(region)
	var groups [3][]Figure
	for _, f := range s.byCountry[ccKey{kind, country}] {
		if f.Year > year {
			continue
		}
		switch {
		case want != "" && normRegion(f.Region) == want:
			groups[0] = append(groups[0], f)
		case f.National():
			groups[1] = append(groups[1], f)
		default:
			groups[2] = append(groups[2], f)
		}
	}
	local, _ := s.Currency(country)
	for g, cands := range groups {
		if len(cands) == 0 {
			continue
		}
		if g < 2 {
			return newest(cands), []Match{MatchRegion, MatchNational}[g], true
		}
		return highest(cands, local), MatchOtherRegion, true
	}
	return Figure{}, "", false
}

// newest picks the latest year, then the most recently published figure.
func newest(cands []Figure) Figure {
	return slices.MaxFunc(cands, func(a, b Figure) int {
		if a.Year != b.Year {
			return a.Year - b.Year
		}
		return cmpOrigin(a.Origin, b.Origin)
	})
}

// highest picks the latest year, then monthly before hourly, then the
// country's own currency, then the highest amount, then the most recently
// published.
func highest(cands []Figure, local string) Figure {
	return slices.MaxFunc(cands, func(a, b Figure) int {
		if a.Year != b.Year {
			return a.Year - b.Year
		}
		if (a.Period == PerMonth) != (b.Period == PerMonth) {
			if a.Period == PerMonth {
				return 1
			}
			return -1
		}
		if (a.Currency == local) != (b.Currency == local) {
			if a.Currency == local {
				return 1
			}
			return -1
		}
		if c := a.Amount.Cmp(b.Amount); c != 0 {
			return c
		}
		return cmpOrigin(a.Origin, b.Origin)
	})
}

// national is Lookup restricted to country-wide figures.
func (s *Set) national(kind Kind, country string, year int) (Figure, bool) {
	f, m, ok := s.Lookup(kind, country, "", year)
	if !ok || m != MatchNational {
		return Figure{}, false
	}
	return f, true
}

// PPP returns the country's PPP conversion factor for private consumption
// (local currency per international dollar) for the latest reference year
// not after year.
func (s *Set) PPP(country string, year int) (Figure, bool) {
	return s.national(KindPPP, country, year)
}

// ExchangeRate returns the country's market exchange rate (local currency
// per US dollar) for the latest reference year not after year.
func (s *Set) ExchangeRate(country string, year int) (Figure, bool) {
	return s.national(KindExchangeRate, country, year)
}

// ExchangeRateFor returns an exchange rate for a currency (units per US
// dollar) for the latest reference year not after year, whichever country
// it was published for. Where several countries share the currency (the
// euro) and the year, the lowest country code wins, so the answer is
// deterministic; the figure names the country it came from.
func (s *Set) ExchangeRateFor(currency string, year int) (Figure, bool) {
	currency = strings.ToUpper(strings.TrimSpace(currency))
	var cands []Figure
	for _, f := range s.byCurr[currency] {
		if f.Year <= year && f.National() {
			cands = append(cands, f)
		}
	}
	if len(cands) == 0 {
		return Figure{}, false
	}
	return slices.MaxFunc(cands, func(a, b Figure) int {
		if a.Year != b.Year {
			return a.Year - b.Year
		}
		if a.Country != b.Country {
			return strings.Compare(b.Country, a.Country) // lower code wins
		}
		return cmpOrigin(a.Origin, b.Origin)
	}), true
}

// LivingWage returns the living wage benchmark for a place (see Lookup for
// the rule and the Match reported).
func (s *Set) LivingWage(country, region string, year int) (Figure, Match, bool) {
	return s.Lookup(KindLivingWage, country, region, year)
}

// MinimumWage returns the statutory minimum wage for a place (see Lookup).
func (s *Set) MinimumWage(country, region string, year int) (Figure, Match, bool) {
	return s.Lookup(KindMinimumWage, country, region, year)
}

// AverageWage returns the country-wide average earnings of employees for the
// latest reference year not after year. Regional averages are not used.
func (s *Set) AverageWage(country string, year int) (Figure, bool) {
	return s.national(KindAverageEarnings, country, year)
}
