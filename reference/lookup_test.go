package reference_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/tally-ledger/tally/reference"
)

type found struct {
	Origin string
	Amount string
	Year   int
	Match  reference.Match
	OK     bool
}

func got(f reference.Figure, m reference.Match, ok bool) found {
	if !ok {
		return found{}
	}
	return found{Origin: f.Origin.String(), Amount: f.Amount.String(), Year: f.Year, Match: m, OK: true}
}

// TestYearRule: the latest reference year not after the year asked for.
func TestYearRule(t *testing.T) {
	s := bundled(t)
	tests := []struct {
		name string
		look func() (reference.Figure, bool)
		want found
	}{
		{"PPP in its own year", func() (reference.Figure, bool) { return s.PPP("CN", 2023) },
			found{"countries.csv:5", "3.647564383", 2023, "", true}},
		{"PPP for a later year uses the latest before it", func() (reference.Figure, bool) { return s.PPP("cn", 2031) },
			found{"countries.csv:5", "3.647564383", 2023, "", true}},
		{"PPP for an earlier year is missing", func() (reference.Figure, bool) { return s.PPP("CN", 2022) },
			found{}},
		{"exchange rate", func() (reference.Figure, bool) { return s.ExchangeRate("CD", 2024) },
			found{"countries.csv:2", "2340.03570436145", 2023, "", true}},
		{"average wage from an earlier year", func() (reference.Figure, bool) { return s.AverageWage("US", 2024) },
			found{"wages.csv:67", "32.82", 2022, "", true}},
		{"average wage before any year published", func() (reference.Figure, bool) { return s.AverageWage("ET", 2020) },
			found{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := tt.look()
			g := got(f, "", ok)
			if g != tt.want {
				t.Errorf("got %+v, want %+v", g, tt.want)
			}
		})
	}
}

// TestLivingWageRule pins the region rule on the bundled rows.
func TestLivingWageRule(t *testing.T) {
	s := bundled(t)
	tests := []struct {
		name            string
		country, region string
		year            int
		want            found
	}{
		{"region match", "IN", "rural Madhya Pradesh (Ratlam)", 2023,
			found{"wages.csv:10", "14114", 2023, reference.MatchRegion, true}},
		{"region match ignores case and spacing", "IN", "  Rural  Madhya Pradesh (ratlam) ", 2024,
			found{"wages.csv:10", "14114", 2023, reference.MatchRegion, true}},
		{"unknown region: highest of the other regions", "IN", "Delhi", 2023,
			found{"wages.csv:8", "15570", 2023, reference.MatchOtherRegion, true}},
		{"no region given: same", "IN", "", 2023,
			found{"wages.csv:8", "15570", 2023, reference.MatchOtherRegion, true}},
		{"national row", "ZA", "Gauteng", 2024,
			found{"wages.csv:5", "15000", 2024, reference.MatchNational, true}},
		{"national row not yet published", "ZA", "", 2023, found{}},
		{"year rule within a region: 2022", "ZM", "rural Zambia", 2022,
			found{"wages.csv:3", "2483", 2022, reference.MatchRegion, true}},
		{"year rule within a region: 2023", "ZM", "rural Zambia", 2025,
			found{"wages.csv:4", "2726", 2023, reference.MatchRegion, true}},
		{"hourly benchmark, region", "GB", "London", 2023,
			found{"wages.csv:7", "13.15", 2023, reference.MatchRegion, true}},
		{"hourly benchmark, other region: the higher", "GB", "Manchester", 2023,
			found{"wages.csv:7", "13.15", 2023, reference.MatchOtherRegion, true}},
		{"other regions: latest year first", "ID", "Papua", 2024,
			found{"wages.csv:15", "4268825", 2024, reference.MatchOtherRegion, true}},
		{"other regions: only what was published by then", "ID", "Papua", 2023,
			found{"wages.csv:13", "3359717", 2022, reference.MatchOtherRegion, true}},
		{"a region match beats a newer other region", "ET", "urban Ethiopia (region not stated by ALIGN)", 2024,
			found{"wages.csv:21", "14611", 2023, reference.MatchRegion, true}},
		{"published in US dollars", "CD", "Kolwezi (Lualaba), DR Congo", 2023,
			found{"wages.csv:2", "480", 2023, reference.MatchRegion, true}},
		{"National Capital Region is a region", "PH", "Cebu", 2023,
			found{"wages.csv:25", "25327", 2023, reference.MatchOtherRegion, true}},
		{"missing: US", "US", "", 2023, found{}},
		{"missing: CN", "CN", "Guangdong", 2023, found{}},
		{"missing: unknown country", "XX", "", 2023, found{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := got(s.LivingWage(tt.country, tt.region, tt.year))
			if g != tt.want {
				t.Errorf("LivingWage(%q, %q, %d) = %+v, want %+v", tt.country, tt.region, tt.year, g, tt.want)
			}
		})
	}
}

func TestMinimumWage(t *testing.T) {
	s := bundled(t)
	g := got(s.MinimumWage("CN", "Shanghai", 2023))
	want := found{"wages.csv:30", "1930", 2023, reference.MatchNational, true}
	if g != want {
		t.Errorf("MinimumWage(CN) = %+v, want %+v", g, want)
	}
	if f, m, ok := s.MinimumWage("ET", "", 2023); ok {
		t.Errorf("MinimumWage(ET) = %v (%s), want missing", f, m)
	}
}

func TestExchangeRateFor(t *testing.T) {
	s := bundled(t)
	f, ok := s.ExchangeRateFor("eur", 2023)
	if !ok || f.Country != "BE" || !f.Amount.Equal(decimal.RequireFromString("0.924839558470698")) {
		t.Errorf("ExchangeRateFor(EUR) = %v, %v; want Belgium's row (lowest code of the euro countries)", f, ok)
	}
	f, ok = s.ExchangeRateFor("XOF", 2024)
	if !ok || f.Country != "CI" {
		t.Errorf("ExchangeRateFor(XOF) = %v, %v; want CI", f, ok)
	}
	if f, ok := s.ExchangeRateFor("TWD", 2023); ok {
		t.Errorf("ExchangeRateFor(TWD) = %v, want missing", f)
	}
	if f, ok := s.ExchangeRateFor("EUR", 2022); ok {
		t.Errorf("ExchangeRateFor(EUR, 2022) = %v, want missing", f)
	}
}

func TestCurrency(t *testing.T) {
	s := bundled(t)
	for country, want := range map[string]string{"CD": "CDF", "TW": "TWD", "de": "EUR", "US": "USD"} {
		if c, ok := s.Currency(country); !ok || c != want {
			t.Errorf("Currency(%s) = %q, %v; want %q", country, c, ok, want)
		}
	}
	if c, ok := s.Currency("XX"); ok {
		t.Errorf("Currency(XX) = %q, want none", c)
	}
}
