package score_test

import (
	"math"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/score"
)

func bundledSet(t testing.TB) *reference.Set {
	t.Helper()
	s, err := reference.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func xts(amount string) score.Money { return score.Money{Amount: d(amount), Currency: "XTS"} }

// Test reference figures for two fictional countries, XA and XB (ISO 3166
// user-assigned codes), so that hand computations stay simple. XA's
// currency is XTS (the ISO 4217 code reserved for testing); XB uses the US
// dollar. These are test values, not reference data.
//
//	XA: PPP 2 XTS per intl$ (2020), 4 XTS per US$ (2020),
//	    living wage 1733.3 XTS a month (2019) = 10 XTS = 2.5 US$ an hour
//	XB: PPP 1, 1 US$ per US$ (2020), living wage 10 US$ an hour (2020),
//	    average earnings 20 US$ an hour (2021)
func handFigures() []reference.Figure {
	row := 1
	fig := func(kind reference.Kind, country string, year int, cur string, period reference.Period, amount string) reference.Figure {
		row++
		return reference.Figure{Kind: kind, Country: country, Year: year, Currency: cur, Period: period,
			Amount: d(amount), Method: "test", Source: "hand computation fixture", Origin: reference.BundledRow("hand.csv", row)}
	}
	return []reference.Figure{
		fig(reference.KindPPP, "XA", 2020, "XTS", "", "2"),
		fig(reference.KindExchangeRate, "XA", 2020, "XTS", "", "4"),
		fig(reference.KindLivingWage, "XA", 2019, "XTS", reference.PerMonth, "1733.3"),
		fig(reference.KindPPP, "XB", 2020, "USD", "", "1"),
		fig(reference.KindExchangeRate, "XB", 2020, "USD", "", "1"),
		fig(reference.KindLivingWage, "XB", 2020, "USD", reference.PerHour, "10"),
		fig(reference.KindAverageEarnings, "XB", 2021, "USD", reference.PerHour, "20"),
	}
}

func handSet(t testing.TB, drop ...reference.Kind) *reference.Set {
	t.Helper()
	var figs []reference.Figure
	for _, f := range handFigures() {
		keep := true
		for _, k := range drop {
			if f.Kind == k && f.Country == "XA" {
				keep = false
			}
		}
		if keep {
			figs = append(figs, f)
		}
	}
	s, err := reference.New(figs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	miner    = score.Party{ID: "miner", Country: "XA", OrgForm: score.Corporation}
	trader   = score.Party{ID: "trader", Country: "XB", OrgForm: score.Corporation}
	consumer = score.Party{ID: "consumer", Country: "XB"}
)

// twoHops is the hand-computed chain: a miner in XA sells 100 kg of ore to
// a trader in XB, who uses 50,000 g of it to make 10 bars sold to a
// consumer. Per bar (the final unit) the miner's fraction is
// 1/10 × 50/100 = 0.05 and the trader's 1/10.
func twoHops() score.Chain {
	m := score.Hop{
		ID: "m", Entry: score.EntryRef{Seq: 1, Hash: "e1"}, Seller: miner, Buyer: trader, Kind: score.Sale,
		OutputLot: "ore", OutputQty: d("100"), Unit: "KGM",
		Price: xts("4000"), OffLedgerCosts: []score.Money{xts("400")},
		OccurredAt: time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC),
		Labour: []score.Category{{Name: "diggers", Workers: 10, Hours: d("250"),
			Basic: xts("1200"), Bonus: xts("200"), InKind: xts("800")}},
	}
	tr := score.Hop{
		ID: "t", Entry: score.EntryRef{Seq: 2, Hash: "e2"}, Seller: trader, Buyer: consumer, Kind: score.Sale,
		OutputLot: "bars", OutputQty: d("10"), Unit: "C62",
		Inputs: []score.Input{{Lot: "ore", Qty: d("50000"), Unit: "GRM", FromHop: "m"}},
		Price:  score.USD("1500"), OffLedgerCosts: []score.Money{score.USD("100")},
		OccurredAt: time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC),
		Labour:     []score.Category{{Name: "smelters", Workers: 2, Hours: d("40"), Basic: score.USD("400")}},
	}
	return score.Chain{Hops: map[string]score.Hop{"m": m, "t": tr}, Final: "t"}
}

func approx(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.12g, want %.12g", name, got, want)
	}
}

func approxPtr(t *testing.T, name string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = null, want %.12g", name, want)
		return
	}
	approx(t, name, *got, want)
}

func null(t *testing.T, name string, got *float64) {
	t.Helper()
	if got != nil {
		t.Errorf("%s = %v, want null", name, *got)
	}
}

func money(t *testing.T, name string, got *score.Money, want string) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = null, want %s", name, want)
		return
	}
	if !got.Amount.Equal(d(want)) {
		t.Errorf("%s = %s, want %s", name, got, want)
	}
}

func compute(t *testing.T, ch score.Chain, ref *reference.Set) score.ChainScore {
	t.Helper()
	cs, err := score.Compute(ch, ref, score.FEX1)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	return cs
}

func hop(t *testing.T, cs score.ChainScore, id string) score.HopScore {
	t.Helper()
	h, ok := cs.Hop(id)
	if !ok {
		t.Fatalf("hop %q not in the chain score", id)
	}
	return h
}
