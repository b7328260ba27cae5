package reference_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/tally-ledger/tally/reference"
)

// ledgerFigure is a benchmark as a benchmark.published entry at seq would
// carry it. The amounts in these tests are test values, not reference data.
func ledgerFigure(seq uint64, kind reference.Kind, country, region string, year int, amount string) reference.Figure {
	f := reference.Figure{
		Kind: kind, Country: country, Region: region, Year: year,
		Currency: "USD", Amount: decimal.RequireFromString(amount),
		Method: "test method", Source: "test source", Origin: reference.LedgerEntry(seq),
	}
	if kind == reference.KindLivingWage || kind == reference.KindMinimumWage || kind == reference.KindAverageEarnings {
		f.Period = reference.PerMonth
	}
	return f
}

func mustWith(t *testing.T, s *reference.Set, f reference.Figure) *reference.Set {
	t.Helper()
	n, err := s.With(f)
	if err != nil {
		t.Fatalf("With(%v): %v", f, err)
	}
	return n
}

// TestLedgerAddsAFigure: a benchmark for a gap fills it from its sequence
// number on, and only from then on.
func TestLedgerAddsAFigure(t *testing.T) {
	base := bundled(t)
	s := mustWith(t, base, ledgerFigure(10, reference.KindLivingWage, "US", "", 2023, "3000"))

	if g := got(s.LivingWage("US", "", 2023)); g != (found{"ledger:10", "3000", 2023, reference.MatchNational, true}) {
		t.Errorf("after the entry: %+v", g)
	}
	if _, _, ok := s.At(9).LivingWage("US", "", 2023); ok {
		t.Error("At(9): the entry at 10 is already in force")
	}
	if g := got(s.At(10).LivingWage("US", "", 2023)); !g.OK {
		t.Error("At(10): the entry at 10 is not in force")
	}
	if _, _, ok := base.LivingWage("US", "", 2023); ok {
		t.Error("With changed the set it was called on")
	}
}

// TestLedgerSupersedes: a later figure for the same kind, country, region
// and year replaces the bundled row, and a still later one replaces that;
// rewinding brings each back.
func TestLedgerSupersedes(t *testing.T) {
	base := bundled(t)
	s := mustWith(t, base, ledgerFigure(5, reference.KindLivingWage, "ZM", "Rural Zambia", 2023, "2800"))
	s = mustWith(t, s, ledgerFigure(8, reference.KindLivingWage, "ZM", "rural zambia", 2023, "2900"))
	// A figure for another year of the same region does not supersede.
	s = mustWith(t, s, ledgerFigure(9, reference.KindLivingWage, "ZM", "rural Zambia", 2021, "2000"))

	tests := []struct {
		at   uint64
		want found
	}{
		{4, found{"wages.csv:4", "2726", 2023, reference.MatchRegion, true}},
		{5, found{"ledger:5", "2800", 2023, reference.MatchRegion, true}},
		{7, found{"ledger:5", "2800", 2023, reference.MatchRegion, true}},
		{8, found{"ledger:8", "2900", 2023, reference.MatchRegion, true}},
		{100, found{"ledger:8", "2900", 2023, reference.MatchRegion, true}},
	}
	for _, tt := range tests {
		if g := got(s.At(tt.at).LivingWage("ZM", "rural Zambia", 2023)); g != tt.want {
			t.Errorf("At(%d): %+v, want %+v", tt.at, g, tt.want)
		}
	}
	f, _, _ := s.LivingWage("ZM", "rural Zambia", 2023)
	var sup []string
	for _, o := range s.Superseded(f) {
		sup = append(sup, o.String())
	}
	if d := cmp.Diff([]string{"wages.csv:4", "ledger:5"}, sup); d != "" {
		t.Errorf("Superseded (-want +got):\n%s", d)
	}
	// The 2022 row is untouched.
	if g := got(s.LivingWage("ZM", "rural Zambia", 2022)); g.Origin != "wages.csv:3" {
		t.Errorf("2022: %+v", g)
	}
	// Figures counts each slot once.
	if got, want := len(s.Figures()), len(base.Figures())+1; got != want {
		t.Errorf("Figures: %d, want %d (two supersessions, one new slot)", got, want)
	}
}

// TestLedgerOrder: figures added out of sequence order still layer by
// sequence number, and figures of the same entry apply in the order given.
func TestLedgerOrder(t *testing.T) {
	base := bundled(t)
	a := mustWith(t, base, ledgerFigure(20, reference.KindPPP, "TW", "", 2023, "15"))
	a = mustWith(t, a, ledgerFigure(12, reference.KindPPP, "TW", "", 2023, "14"))
	if g := got(a.Lookup(reference.KindPPP, "TW", "", 2023)); g.Origin != "ledger:20" {
		t.Errorf("out of order: %+v, want ledger:20 in force", g)
	}
	b := mustWith(t, base, ledgerFigure(7, reference.KindPPP, "TW", "", 2023, "14"))
	b = mustWith(t, b, ledgerFigure(7, reference.KindPPP, "TW", "", 2023, "16"))
	if g := got(b.Lookup(reference.KindPPP, "TW", "", 2023)); g.Amount != "16" {
		t.Errorf("same entry: %+v, want the later figure 16", g)
	}
}

func TestWithRejects(t *testing.T) {
	base := bundled(t)
	ok := ledgerFigure(1, reference.KindLivingWage, "US", "", 2023, "3000")
	tests := []struct {
		name   string
		mutate func(*reference.Figure)
		want   error
	}{
		{"bundled origin", func(f *reference.Figure) { f.Origin = reference.BundledRow("wages.csv", 2) }, reference.ErrNotLedger},
		{"unknown kind", func(f *reference.Figure) { f.Kind = "wage" }, reference.ErrInvalidFigure},
		{"country", func(f *reference.Figure) { f.Country = "USA" }, reference.ErrInvalidFigure},
		{"currency", func(f *reference.Figure) { f.Currency = "dollars" }, reference.ErrInvalidFigure},
		{"zero amount", func(f *reference.Figure) { f.Amount = decimal.Zero }, reference.ErrInvalidFigure},
		{"negative amount", func(f *reference.Figure) { f.Amount = decimal.NewFromInt(-1) }, reference.ErrInvalidFigure},
		{"year", func(f *reference.Figure) { f.Year = 0 }, reference.ErrInvalidFigure},
		{"wage without period", func(f *reference.Figure) { f.Period = "" }, reference.ErrInvalidFigure},
		{"factor with period", func(f *reference.Figure) { f.Kind = reference.KindPPP }, reference.ErrInvalidFigure},
		{"no source", func(f *reference.Figure) { f.Source = " " }, reference.ErrInvalidFigure},
		{"no method", func(f *reference.Figure) { f.Method = "" }, reference.ErrInvalidFigure},
		{"unknown period", func(f *reference.Figure) { f.Period = "fortnight" }, reference.ErrInvalidFigure},
		{"hours on an hourly wage", func(f *reference.Figure) {
			f.Period, f.Hours = reference.PerHour, decimal.NewFromInt(1)
		}, reference.ErrInvalidFigure},
		{"hours on a factor", func(f *reference.Figure) {
			f.Kind, f.Period, f.Hours = reference.KindPPP, "", decimal.NewFromInt(1)
		}, reference.ErrInvalidFigure},
		{"negative hours", func(f *reference.Figure) { f.Hours = decimal.NewFromInt(-8) }, reference.ErrInvalidFigure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ok
			tt.mutate(&f)
			if _, err := base.With(f); !errors.Is(err, tt.want) {
				t.Errorf("With: %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := base.With(ok); err != nil {
		t.Errorf("With(valid): %v", err)
	}
	weekly := ok
	weekly.Period, weekly.Hours = reference.PerWeek, decimal.NewFromInt(45)
	if _, err := base.With(weekly); err != nil {
		t.Errorf("With(weekly wage of 45 hours): %v", err)
	}
}

func TestNew(t *testing.T) {
	a := reference.Figure{Kind: reference.KindPPP, Country: "XA", Year: 2020, Currency: "XTS",
		Amount: decimal.NewFromInt(2), Method: "m", Source: "s", Origin: reference.BundledRow("t.csv", 2)}
	dup := a
	dup.Origin = reference.BundledRow("t.csv", 3)
	if _, err := reference.New([]reference.Figure{a, dup}); !errors.Is(err, reference.ErrInvalidFigure) {
		t.Errorf("New with two base figures for one slot: %v, want ErrInvalidFigure", err)
	}
	led := a
	led.Amount = decimal.NewFromInt(3)
	led.Origin = reference.LedgerEntry(0)
	s, err := reference.New([]reference.Figure{led, a})
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := s.PPP("XA", 2020); !ok || !f.Origin.IsLedger() || f.Origin.Seq() != 0 {
		t.Errorf("PPP = %v, %v; want the ledger figure at seq 0", f, ok)
	}
	if c, ok := s.Currency("XA"); !ok || c != "XTS" {
		t.Errorf("Currency(XA) = %q, %v", c, ok)
	}
}

func TestOriginJSON(t *testing.T) {
	for _, o := range []reference.Origin{reference.BundledRow("wages.csv", 12), reference.LedgerEntry(0), reference.LedgerEntry(42)} {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var back reference.Origin
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !back.Equal(o) {
			t.Errorf("%s read back as %v, want %v", b, back, o)
		}
	}
	b, _ := json.Marshal(reference.LedgerEntry(0))
	if string(b) != `{"from":"ledger","seq":0}` {
		t.Errorf("ledger origin JSON %s", b)
	}
	var o reference.Origin
	if err := json.Unmarshal([]byte(`{"from":"ledger"}`), &o); err == nil {
		t.Error("ledger origin without seq accepted")
	}
}
