package provenance_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/internal/provenance"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/schemas"
)

// TestFigure reads the demo's benchmark as a reference figure: its region
// code becomes the name wages.csv gives Lualaba's figure, so that it fills
// the same slot.
func TestFigure(t *testing.T) {
	b := demoBook(t)
	var got []reference.Figure
	for _, s := range b.stmts {
		if bp, ok := s.ev.(*schemas.BenchmarkPublished); ok {
			f, err := provenance.Figure(s.seq, bp)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, f)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d figures, want the demo's one benchmark", len(got))
	}
	f := got[0]
	want := reference.Figure{
		Kind: reference.KindLivingWage, Country: "CD", Region: "Kolwezi (Lualaba), DR Congo", Year: 2024,
		Currency: "USD", Period: reference.PerMonth, Amount: decimal.RequireFromString("501"),
		Method: "published on the ledger by living-wage-research-desk for region CD-LU",
		Source: "RAID and CAJJ, Kolwezi living wage 2024 update (Minimum Expenditure Basket method), published 10 Jun 2024; supersedes USD 480 (2023) " +
			"https://www.business-humanrights.org/en/latest-news/dr-congo-mine-workers-labouring-for-the-energy-transition-are-trapped-in-exploitative-low-wage-system",
		Origin: reference.LedgerEntry(uint64(len(b.stmts) - 1)),
	}
	sameJSON(t, "figure", want, f)

	for _, bad := range []schemas.BenchmarkPublished{
		{Measure: "rent", Country: "CD", Year: 2024, Value: "1", Currency: "USD"},
		{Measure: schemas.MeasureLivingWage, Country: "CD", Year: 2024, Value: "1", Currency: "USD"}, // a wage without its period
	} {
		if _, err := provenance.Figure(1, &bad); err == nil {
			t.Errorf("%+v read as a figure", bad)
		}
	}
}

// TestLedgerFiguresInForce: benchmarks published on the ledger supersede
// the bundled figure for the same place and year (Lualaba), or add one for
// a place the bundle has none for (Bristol), from their entry on, and the
// scores use them.
func TestLedgerFiguresInForce(t *testing.T) {
	b := demoBook(t)
	r := b.reader(t)
	before, size0, _, err := r.Reference(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if size0 != uint64(len(b.stmts)) {
		t.Errorf("reference read at %d, want %d", size0, len(b.stmts))
	}

	// Test figures, not published benchmarks.
	src := schemas.Source{Citation: "test figure for the provenance tests, not a published benchmark", URL: "https://example.org/test"}
	lualaba := &schemas.BenchmarkPublished{Publisher: "living-wage-research-desk", Measure: schemas.MeasureLivingWage,
		Country: "CD", Region: "CD-LU", Year: 2023, Value: "520", Currency: "USD", Period: "month", Source: src}
	bristol := &schemas.BenchmarkPublished{Publisher: "living-wage-research-desk", Measure: schemas.MeasureLivingWage,
		Country: "GB", Region: "GB-BST", Year: 2023, Value: "12.40", Currency: "GBP", Period: "hour", Source: src}
	added := b.add(t, sign(t, lualaba.Publisher, lualaba), sign(t, bristol.Publisher, bristol))

	after, _, skipped, err := r.Reference(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) > 0 {
		t.Errorf("skipped %q", skipped)
	}
	if n, m := len(before.Figures()), len(after.Figures()); m != n+1 {
		t.Errorf("%d figures in force, then %d: want one more (Lualaba's superseded, Bristol's added)", n, m)
	}
	kolwezi, _, _ := after.LivingWage("CD", "Kolwezi (Lualaba), DR Congo", 2023)
	if kolwezi.Origin != reference.LedgerEntry(added[0].seq) {
		t.Fatalf("Kolwezi 2023 living wage from %s, want ledger:%d", kolwezi.Origin, added[0].seq)
	}
	old, _, _ := before.LivingWage("CD", "Kolwezi (Lualaba), DR Congo", 2023)
	if diff := cmp.Diff([]reference.Origin{old.Origin}, after.Superseded(kolwezi), cmp.Comparer(reference.Origin.Equal)); diff != "" {
		t.Errorf("superseded:\n%s", diff)
	}

	cs, err := r.LotScore(t.Context(), demo.FinalLot())
	if err != nil {
		t.Fatal(err)
	}
	for hop, want := range map[string]struct {
		seq    uint64
		region string
	}{
		"ore-sale-kolwezi-2023-03-15": {added[0].seq, "Kolwezi (Lualaba), DR Congo"},
		demo.FinalHop():               {added[1].seq, "GB-BST"},
	} {
		hs, _ := cs.Hop(hop)
		lw := usedFor(hs.Reference, "living_wage")
		if lw == nil || lw.Origin != reference.LedgerEntry(want.seq) || lw.Region != want.region || lw.Match != reference.MatchRegion {
			t.Errorf("hop %s: living wage %+v, want ledger:%d for %q matched by region", hop, lw, want.seq, want.region)
		}
	}
	// And the score is the method's on the chain with those figures.
	wantScore, err := computeChain(t, b, map[string]string{"GB-BST": "GB-BST"})
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "lot score", wantScore, cs)

	// A reader that starts afresh reads the same.
	fresh, err := b.reader(t).LotScore(t.Context(), demo.FinalLot())
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "lot score of a new reader", cs, fresh)
}

// TestConcurrentReads: one Reader scores from several goroutines while
// benchmarks are appended (run with -race), and then holds every figure.
func TestConcurrentReads(t *testing.T) {
	b := demoBook(t)
	r := b.reader(t)
	done := make(chan error)
	for range 4 {
		go func() {
			for range 10 {
				cs, err := r.LotScore(t.Context(), demo.FinalLot())
				if err == nil && cs.Method != "fex-1" {
					err = fmt.Errorf("method %q", cs.Method)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	src := schemas.Source{Citation: "test figure for the provenance tests, not a published benchmark", URL: "https://example.org/test"}
	for year := 2025; year < 2030; year++ {
		bp := &schemas.BenchmarkPublished{Publisher: "living-wage-research-desk", Measure: schemas.MeasureLivingWage,
			Country: "CD", Region: "CD-LU", Year: year, Value: "600", Currency: "USD", Period: "month", Source: src}
		b.add(t, sign(t, bp.Publisher, bp))
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	set, size, _, err := r.Reference(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ledgerFigures(t, b).Figures()); size != uint64(len(b.stmts)) || len(set.Figures()) != n {
		t.Errorf("%d figures at %d, want %d at %d", len(set.Figures()), size, n, len(b.stmts))
	}
}
