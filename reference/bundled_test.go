package reference_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tally-ledger/tally/reference"
)

func bundled(t testing.TB) *reference.Set {
	t.Helper()
	s, err := reference.Bundled()
	if err != nil {
		t.Fatalf("Bundled: %v", err)
	}
	return s
}

// rawRows reads a bundled CSV independently of the package's parser.
func rawRows(t *testing.T, name string) [][]string {
	t.Helper()
	b, err := reference.DataFile(name)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[1:]
}

// TestEveryRowParses checks that every data row of both files became the
// figures it holds (two per country row, one per wage row), with the
// amount, year and source it was published with, and that a country row's
// empty cell is a documented NOT FOUND rather than a silent gap.
func TestEveryRowParses(t *testing.T) {
	s := bundled(t)
	byOrigin := map[string][]reference.Figure{}
	for _, f := range s.Figures() {
		byOrigin[f.Origin.String()] = append(byOrigin[f.Origin.String()], f)
	}

	wages := rawRows(t, reference.WagesFile)
	for i, rec := range wages {
		at := reference.BundledRow(reference.WagesFile, i+2).String()
		got := byOrigin[at]
		if len(got) != 1 {
			t.Errorf("%s: %d figures, want 1", at, len(got))
			continue
		}
		f := got[0]
		if string(f.Kind) != rec[4] || f.Country != rec[0] || f.Amount.String() != trimZeros(rec[6]) || f.Source != rec[8] {
			t.Errorf("%s: figure %v does not match row %q", at, f, rec)
		}
	}

	countries := rawRows(t, reference.CountriesFile)
	for i, rec := range countries {
		at := reference.BundledRow(reference.CountriesFile, i+2).String()
		want := 0
		for _, c := range []struct{ amount, source string }{{rec[2], rec[4]}, {rec[6], rec[7]}} {
			if c.amount == "" {
				if !strings.HasPrefix(c.source, "NOT FOUND") {
					t.Errorf("%s: empty cell without a NOT FOUND note", at)
				}
				continue
			}
			want++
		}
		if got := len(byOrigin[at]); got != want {
			t.Errorf("%s (%s): %d figures, want %d", at, rec[0], got, want)
		}
	}
	if got, want := len(s.Figures()), len(wages)+2*len(countries)-2; got != want {
		t.Errorf("%d figures in all, want %d (every row, less Taiwan's two missing cells)", got, want)
	}
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// TestEveryFigureIsCited checks that no figure lacks a source, a method or
// series, a reference year or a currency, and that factors and wages carry
// the right period.
func TestEveryFigureIsCited(t *testing.T) {
	for _, f := range bundled(t).Figures() {
		if err := f.Validate(); err != nil {
			t.Errorf("%s: %v", f.Origin, err)
		}
		if f.Year < 2021 || f.Year > 2024 {
			t.Errorf("%s: year %d outside the 2021-2024 the sources cover", f.Origin, f.Year)
		}
	}
}

// TestGapsStayMissing reads GAPS.md and checks that no lookup, for any year
// or region, finds a figure that is listed there as not found.
func TestGapsStayMissing(t *testing.T) {
	s := bundled(t)
	b, err := reference.DataFile("GAPS.md")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string][]reference.Kind{
		"living_wage":      {reference.KindLivingWage},
		"minimum_wage":     {reference.KindMinimumWage},
		"average_earnings": {reference.KindAverageEarnings},
		"PPP factor and exchange rate (not in World Bank WDI)": {reference.KindPPP, reference.KindExchangeRate},
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		cells := strings.Split(strings.Trim(sc.Text(), "| "), "|")
		if len(cells) != 2 || len(strings.TrimSpace(cells[0])) != 2 {
			continue
		}
		country, kind := strings.TrimSpace(cells[0]), strings.TrimSpace(cells[1])
		ks, ok := kinds[kind]
		if !ok {
			t.Fatalf("GAPS.md: unknown kind %q", kind)
		}
		for _, k := range ks {
			n++
			for _, region := range []string{"", "national"} {
				if f, m, ok := s.Lookup(k, country, region, 9999); ok {
					t.Errorf("gap %s %s: found %v (%s)", country, k, f, m)
				}
			}
		}
	}
	if n < 30 {
		t.Fatalf("read only %d gaps from GAPS.md", n)
	}

	// The named examples, through the typed lookups.
	if f, _, ok := s.LivingWage("US", "", 2023); ok {
		t.Errorf("US living wage: got %v, want missing", f)
	}
	if f, ok := s.PPP("TW", 2023); ok {
		t.Errorf("TW PPP: got %v, want missing", f)
	}
	if f, ok := s.ExchangeRate("TW", 2023); ok {
		t.Errorf("TW exchange rate: got %v, want missing", f)
	}
	if f, ok := s.AverageWage("CN", 2023); ok {
		t.Errorf("CN average wage: got %v, want missing", f)
	}
}

// TestNationalRows pins which published region texts count as country-wide.
func TestNationalRows(t *testing.T) {
	var got []string
	for _, f := range bundled(t).Figures() {
		if f.Kind != reference.KindMinimumWage && f.Kind != reference.KindPPP && f.Kind != reference.KindExchangeRate && f.National() {
			got = append(got, f.Country+" "+string(f.Kind)+" "+f.Region)
		}
	}
	want := []string{
		"ZA living_wage South Africa (national)",
		"BE average_earnings national",
		"BD average_earnings national",
		"BR average_earnings national",
		"CI average_earnings national",
		"CL average_earnings national",
		"ET average_earnings national",
		"FI average_earnings national",
		"FR average_earnings national",
		"GH average_earnings national",
		"IN average_earnings national",
		"ZM average_earnings national",
		"ID average_earnings national",
		"US average_earnings United States (national, all private employees)",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("national rows (-want +got):\n%s", d)
	}
	for _, f := range bundled(t).Figures() {
		if f.Kind == reference.KindMinimumWage && !f.National() {
			t.Errorf("%s: minimum wage row %q not national", f.Origin, f.Region)
		}
	}
}

func TestDataFiles(t *testing.T) {
	for _, name := range []string{"countries.csv", "wages.csv", "SOURCES.md", "GAPS.md", "README.md"} {
		b, err := reference.DataFile(name)
		if err != nil || len(b) == 0 {
			t.Errorf("DataFile(%q): %d bytes, %v", name, len(b), err)
		}
	}
	if _, err := reference.DataFile("nope.csv"); err == nil {
		t.Error("DataFile(nope.csv): no error")
	}
}
