package score_test

import (
	"math"
	"testing"
	"time"

	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/score"
)

// TestTwoHopsByHand checks every figure of the two-hop chain against a
// computation done by hand (exact fractions; see helpers_test.go for the
// reference figures).
//
// Miner (hop m), whole lot, in US$ at 4 XTS per US$:
//
//	P = 4000/4 = 1000, O = 400/4 = 100, no ledger inputs, VA = 900
//	pay: basic 300 + bonus 50 + in-kind min(200, 0.30 × 550 = 165) = 515 = W
//	R = 900 − 515 = 385
//	hourly pay 515/250 = 2.06; LW = 1733.3/173.33 = 10 XTS = 2.5 US$/h
//	A = 2.06/2.5 = 0.824; G = 2.5 × 250 − 515 = 110
//	VA_intl = 900 × 4 / 2 = 1800; v = 1800/250 = 7.2 intl$/h
//
// Trader (hop t), whole lot, US$ (XB: PPP 1, rate 1):
//
//	C = 50 kg / 100 kg × 1000 = 500, O = 100, VA = 1500 − 500 − 100 = 900
//	W = 400, R = 500, hourly 400/40 = 10 = LW → A = 1, G = 0, v = 900/40 = 22.5
//
// Exchange equality:
//
//	m sells to the trader, whose own hop t consumed the ore: E = 7.2/22.5 = 0.32, favours the buyer
//	t sells to a consumer: chain mean = (0.05×1800 + 0.1×900) / (0.05×250 + 0.1×40)
//	                                  = 180/16.5 = 120/11; E = (120/11)/22.5 = 16/33, favours the seller
//
// Evidence: every figure declared by its seller only (0.4), so K = 0.4 and
// the worst case is 0: score = 0.4 × point.
//
// Chain, per bar (f_m = 0.05, f_t = 0.1), weights f·L = 12.5 and 4:
//
//	A = (12.5×0.824 + 4×1)/16.5 = 13/15
//	p = (12.5/16.5, 4/16.5), μ = 120/11,
//	G = 2 p₁ p₂ |22.5 − 7.2| / (2μ) = 17/66 → E = 49/66
//	P_final = 150; LW cost = 0.05×110/150 = 11/300; origin = 0.05×900/150 = 0.3
//	hours = 16.5; hours ratio = 16.5 / (150 / 20) = 2.2
func TestTwoHopsByHand(t *testing.T) {
	cs := compute(t, twoHops(), handSet(t))
	m, tr := hop(t, cs, "m"), hop(t, cs, "t")

	if cs.Method != "fex-1" || m.Method != "fex-1" {
		t.Errorf("method %q / %q, want fex-1", cs.Method, m.Method)
	}
	if m.Fraction != "0.05" || tr.Fraction != "0.1" {
		t.Errorf("fractions %s, %s; want 0.05, 0.1", m.Fraction, tr.Fraction)
	}

	// Miner, per bar (× 0.05).
	money(t, "m.price", m.Price, "50")
	money(t, "m.off_ledger_costs", m.OffLedgerCosts, "5")
	money(t, "m.value_added", m.ValueAdded, "45")
	money(t, "m.labour_income", m.LabourIncome, "25.75")
	money(t, "m.capture", m.Capture, "19.25")
	money(t, "m.living_wage_shortfall", m.LivingWageShortfall, "5.5")
	money(t, "m.value_per_hour_intl", m.ValuePerHourIntl, "7.2")
	money(t, "m.categories[0].hourly_pay", m.Categories[0].HourlyPay, "2.06")
	money(t, "m.categories[0].living_wage", m.Categories[0].LivingWage, "2.5")
	if m.Hours == nil || *m.Hours != "12.5" {
		t.Errorf("m.hours = %v, want 12.5", m.Hours)
	}
	approxPtr(t, "m.wage_adequacy", m.WageAdequacy, 0.824)
	approxPtr(t, "m.exchange_equality", m.ExchangeEquality, 0.32)
	if m.EqualityBasis != score.BasisBuyerHop || m.Favours != score.FavoursBuyer {
		t.Errorf("m basis %s favours %s; want buyer_hop, buyer", m.EqualityBasis, m.Favours)
	}
	sm := 100 * math.Sqrt(0.824*0.32)
	approx(t, "m.point", m.Point, sm)
	approx(t, "m.worst", m.Worst, 0)
	approx(t, "m.best", m.Best, sm)
	approx(t, "m.confidence", m.Confidence, 0.4)
	approx(t, "m.score", m.Score, 0.4*sm)

	// Trader, per bar (× 0.1).
	money(t, "t.input_cost", tr.InputCost, "50")
	money(t, "t.value_added", tr.ValueAdded, "90")
	money(t, "t.labour_income", tr.LabourIncome, "40")
	money(t, "t.capture", tr.Capture, "50")
	money(t, "t.living_wage_shortfall", tr.LivingWageShortfall, "0")
	money(t, "t.value_per_hour_intl", tr.ValuePerHourIntl, "22.5")
	approxPtr(t, "t.wage_adequacy", tr.WageAdequacy, 1)
	approxPtr(t, "t.exchange_equality", tr.ExchangeEquality, 16.0/33)
	if tr.EqualityBasis != score.BasisChainMean || tr.Favours != score.FavoursSeller {
		t.Errorf("t basis %s favours %s; want chain_mean, seller", tr.EqualityBasis, tr.Favours)
	}
	st := 100 * math.Sqrt(16.0/33)
	approx(t, "t.point", tr.Point, st)
	approx(t, "t.score", tr.Score, 0.4*st)

	// Chain.
	approxPtr(t, "chain.wage_adequacy", cs.WageAdequacy, 13.0/15)
	approxPtr(t, "chain.exchange_equality", cs.ExchangeEquality, 49.0/66)
	sc := 100 * math.Sqrt(13.0/15*49.0/66)
	approx(t, "chain.point", cs.Point, sc)
	approx(t, "chain.worst", cs.Worst, 0)
	approx(t, "chain.confidence", cs.Confidence, 0.4)
	approx(t, "chain.score", cs.Score, 0.4*sc)
	money(t, "chain.final_price", cs.FinalPrice, "150")
	approxPtr(t, "chain.living_wage_cost_share", cs.LivingWageCostShare, 11.0/300)
	approxPtr(t, "chain.origin_share", cs.OriginShare, 0.3)
	approxPtr(t, "chain.hours_ratio", cs.HoursRatio, 2.2)

	want := []struct {
		hop                       string
		labour, capture, nonLabor float64
	}{
		{"m", 25.75 / 150, 19.25 / 150, 5.0 / 150},
		{"t", 40.0 / 150, 50.0 / 150, 10.0 / 150},
	}
	if len(cs.Shares) != 3 || !cs.Shares[2].Remainder || cs.Shares[2].Hop != score.NotOnLedger {
		t.Fatalf("share rows: %+v", cs.Shares)
	}
	for i, w := range want {
		r := cs.Shares[i]
		if r.Hop != w.hop {
			t.Errorf("row %d is %q, want %q", i, r.Hop, w.hop)
		}
		approxPtr(t, w.hop+".labour_share", r.LabourShare, w.labour)
		approxPtr(t, w.hop+".capture_share", r.CaptureShare, w.capture)
		approxPtr(t, w.hop+".non_labour_share", r.NonLabourShare, w.nonLabor)
	}
	approx(t, "remainder", cs.Shares[2].TotalShare, 0)

	// The figures used, with the year rule: 2023 hops use 2020 factors and
	// the 2019 living wage.
	years := map[string]int{}
	for _, r := range m.Reference {
		years[r.UsedFor] = r.Year
		if r.RequestedYear != 2023 {
			t.Errorf("%s requested for %d, want 2023", r.UsedFor, r.RequestedYear)
		}
	}
	for used, y := range map[string]int{"exchange_rate": 2020, "ppp": 2020, "ppp_market_rate": 2020, "living_wage": 2019} {
		if years[used] != y {
			t.Errorf("m: %s from %d, want %d (all used: %v)", used, years[used], y, years)
		}
	}
	if len(cs.Missing) != 0 {
		t.Errorf("missing: %+v", cs.Missing)
	}
}

// TestEvidenceByHand: the same chain with attestations.
func TestEvidenceByHand(t *testing.T) {
	sm := 100 * math.Sqrt(0.824*0.32)
	st := 100 * math.Sqrt(16.0/33)
	sc := 100 * math.Sqrt(13.0/15*49.0/66)
	priceOK := score.Attestation{Entry: score.EntryRef{Seq: 10}, Kind: score.PriceConfirmed, Attester: trader, Subject: "m"}
	union := score.Attestation{Entry: score.EntryRef{Seq: 11}, Kind: score.WageConfirmed, Role: score.RoleUnion,
		Attester: score.Party{ID: "diggers-union", Country: "XA"}, Subject: "m"}
	audit := func(hop string, seq uint64, scope ...score.FigureGroup) score.Attestation {
		return score.Attestation{Entry: score.EntryRef{Seq: seq}, Kind: score.Audited, Role: score.RoleAuditor,
			Attester: score.Party{ID: "auditor"}, Subject: hop, Scope: scope}
	}
	tests := []struct {
		name           string
		atts           []score.Attestation
		mK, mWorst     float64
		tK, tWorst     float64
		chainK, chainW float64
		mLevels        [3]score.Evidence
	}{
		{
			name: "buyer confirms the price, union the wages, t audited",
			atts: []score.Attestation{priceOK, union, audit("t", 12)},
			// m: price 0.7, costs 0.4, labour 0.8; A's figures (labour 0.8) pass
			// the 0.7 bar but E's (costs 0.4) do not: worst = √(0.824 × 0) = 0.
			mK: (0.7 + 0.4 + 0.8) / 3, mWorst: 0,
			// t: 0.9 throughout, but its chain-mean E uses m's costs (0.4).
			tK: 0.9, tWorst: 0,
			chainK: (12.5*(0.7+0.4+0.8)/3 + 4*0.9) / 16.5, chainW: 0,
			mLevels: [3]score.Evidence{score.EvidenceCounterparty, score.EvidenceSeller, score.EvidenceWorkerConfirmed},
		},
		{
			name: "both audited, union confirms m's wages",
			atts: []score.Attestation{audit("m", 13), union, audit("t", 14)},
			mK:   (0.9 + 0.9 + 1.0) / 3, mWorst: sm,
			tK: 0.9, tWorst: st,
			chainK: (12.5*(2.8/3) + 4*0.9) / 16.5, chainW: sc,
			mLevels: [3]score.Evidence{score.EvidenceAudited, score.EvidenceAudited, score.EvidenceAuditedWorkerConfirmed},
		},
		{
			name: "an audit scoped to labour leaves price and costs declared",
			atts: []score.Attestation{audit("m", 15, score.GroupLabour)},
			mK:   (0.4 + 0.4 + 0.9) / 3, mWorst: 0,
			tK: 0.4, tWorst: 0,
			chainK: (12.5*(1.7/3) + 4*0.4) / 16.5, chainW: 0,
			mLevels: [3]score.Evidence{score.EvidenceSeller, score.EvidenceSeller, score.EvidenceAudited},
		},
		{
			name: "attestations that do not count: a stranger confirming the price, the seller auditing itself",
			atts: []score.Attestation{
				{Entry: score.EntryRef{Seq: 16}, Kind: score.PriceConfirmed, Attester: score.Party{ID: "stranger"}, Subject: "m"},
				{Entry: score.EntryRef{Seq: 17}, Kind: score.Audited, Role: score.RoleAuditor, Attester: miner, Subject: "m"},
			},
			mK: 0.4, mWorst: 0, tK: 0.4, tWorst: 0, chainK: 0.4, chainW: 0,
			mLevels: [3]score.Evidence{score.EvidenceSeller, score.EvidenceSeller, score.EvidenceSeller},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := twoHops()
			ch.Attestations = tt.atts
			cs := compute(t, ch, handSet(t))
			m, tr := hop(t, cs, "m"), hop(t, cs, "t")
			approx(t, "m.confidence", m.Confidence, tt.mK)
			approx(t, "m.worst", m.Worst, tt.mWorst)
			approx(t, "m.point", m.Point, sm)
			approx(t, "m.score", m.Score, tt.mK*sm+(1-tt.mK)*tt.mWorst)
			approx(t, "t.confidence", tr.Confidence, tt.tK)
			approx(t, "t.worst", tr.Worst, tt.tWorst)
			approx(t, "chain.confidence", cs.Confidence, tt.chainK)
			approx(t, "chain.worst", cs.Worst, tt.chainW)
			approx(t, "chain.score", cs.Score, tt.chainK*sc+(1-tt.chainK)*tt.chainW)
			for i, e := range m.Evidence {
				if e.Level != tt.mLevels[i] {
					t.Errorf("m %s evidence %s, want %s", e.Figure, e.Level, tt.mLevels[i])
				}
			}
		})
	}
}

// TestMissingByHand: what each missing figure does to the two-hop chain.
func TestMissingByHand(t *testing.T) {
	t.Run("no living wage for XA", func(t *testing.T) {
		cs := compute(t, twoHops(), handSet(t, reference.KindLivingWage))
		m := hop(t, cs, "m")
		null(t, "m.wage_adequacy", m.WageAdequacy)
		approx(t, "m.point", m.Point, 0)
		approx(t, "m.best", m.Best, 100*math.Sqrt(0.32)) // A's best case is 1
		if !hasMissing(m.Missing, "living_wage") {
			t.Errorf("living wage not reported missing: %+v", m.Missing)
		}
		null(t, "chain.wage_adequacy", cs.WageAdequacy)
		approx(t, "chain A point", cs.Terms.WageAdequacy.Point, 4/16.5)
		approx(t, "chain A best", cs.Terms.WageAdequacy.Best, 1)
		null(t, "chain.living_wage_cost_share", cs.LivingWageCostShare)
		// E does not need a living wage.
		approxPtr(t, "m.exchange_equality", m.ExchangeEquality, 0.32)
	})
	t.Run("no PPP factor for XA", func(t *testing.T) {
		cs := compute(t, twoHops(), handSet(t, reference.KindPPP))
		m, tr := hop(t, cs, "m"), hop(t, cs, "t")
		null(t, "m.exchange_equality", m.ExchangeEquality)
		null(t, "t.exchange_equality", tr.ExchangeEquality) // the chain mean needs m's value per hour
		if m.Favours != score.FavoursUnknown {
			t.Errorf("m favours %s, want unknown", m.Favours)
		}
		approx(t, "chain point", cs.Point, 0)
		approx(t, "chain best", cs.Best, 100*math.Sqrt(13.0/15))
		// Money shares do not need PPP.
		approxPtr(t, "m labour share", cs.Shares[0].LabourShare, 25.75/150)
	})
	t.Run("the miner's labour is missing", func(t *testing.T) {
		ch := twoHops()
		m := ch.Hops["m"]
		m.Labour = nil
		ch.Hops["m"] = m
		cs := compute(t, ch, handSet(t))
		hm := hop(t, cs, "m")
		null(t, "m.wage_adequacy", hm.WageAdequacy)
		null(t, "m.exchange_equality", hm.ExchangeEquality)
		if hm.Hours != nil || cs.Hours != nil {
			t.Errorf("hours %v / %v, want null", hm.Hours, cs.Hours)
		}
		if hm.Evidence[2].Level != score.EvidenceMissing || hm.Evidence[2].Confidence != 0 {
			t.Errorf("labour evidence %+v, want missing, 0", hm.Evidence[2])
		}
		approx(t, "m.confidence", hm.Confidence, 0.8/3)
		approx(t, "chain point", cs.Point, 0)
		approx(t, "chain score", cs.Score, 0)
		approx(t, "chain confidence", cs.Confidence, 0)
		approx(t, "chain best", cs.Best, 100)
		null(t, "hours_ratio", cs.HoursRatio)
		r := cs.Shares[0]
		null(t, "m labour share", r.LabourShare)
		null(t, "m capture share", r.CaptureShare)
		approxPtr(t, "m value added share", r.ValueAddedShare, 45.0/150)
		approx(t, "remainder", cs.Shares[2].TotalShare, 0)
		approxPtr(t, "origin share", cs.OriginShare, 0.3)
	})
	t.Run("units that cannot be compared", func(t *testing.T) {
		ch := twoHops()
		tr := ch.Hops["t"]
		tr.Inputs = []score.Input{{Lot: "ore", Qty: d("50"), Unit: "LTR", FromHop: "m"}}
		ch.Hops["t"] = tr
		cs := compute(t, ch, handSet(t))
		if _, ok := cs.Hop("m"); ok {
			t.Error("m is attributed through a link that cannot be followed")
		}
		h := hop(t, cs, "t")
		if h.InputCost != nil || h.ValueAdded != nil || h.Capture != nil {
			t.Errorf("input cost %v, value added %v, capture %v: want null", h.InputCost, h.ValueAdded, h.Capture)
		}
		if !hasMissing(h.Missing, "input_cost") || !hasMissing(cs.Missing, "attribution") {
			t.Errorf("missing: %+v", cs.Missing)
		}
		if h.Inputs[1].Problem == "" {
			t.Errorf("input ref carries no problem: %+v", h.Inputs[1])
		}
		// The trader's row accounts for its labour and costs; the rest of the
		// price is not on the ledger.
		approx(t, "t total", cs.Shares[0].TotalShare, 50.0/150)
		approx(t, "remainder", cs.Shares[1].TotalShare, 100.0/150)
		null(t, "origin share", cs.OriginShare)
	})
	t.Run("the producing hop is not on the ledger", func(t *testing.T) {
		ch := twoHops()
		delete(ch.Hops, "m")
		cs := compute(t, ch, handSet(t))
		h := hop(t, cs, "t")
		if h.ValueAdded != nil || !hasMissing(h.Missing, "input_cost") {
			t.Errorf("value added %v, missing %+v", h.ValueAdded, h.Missing)
		}
		approx(t, "remainder", cs.Shares[1].TotalShare, 100.0/150)
	})
	t.Run("a hop before every reference year", func(t *testing.T) {
		ch := twoHops()
		m := ch.Hops["m"]
		m.OccurredAt = time.Date(2019, 12, 31, 23, 0, 0, 0, time.UTC)
		ch.Hops["m"] = m
		cs := compute(t, ch, handSet(t))
		hm := hop(t, cs, "m")
		// 2019: the living wage (2019) is there, the rate and PPP (2020) are not.
		if !hasMissing(hm.Missing, "exchange_rate") || !hasMissing(hm.Missing, "ppp") {
			t.Errorf("missing %+v, want exchange_rate and ppp", hm.Missing)
		}
		if hm.Price != nil {
			t.Errorf("price %v converted without a rate", hm.Price)
		}
	})
}

// TestSurplusByHand: a worker cooperative's surplus is its members' labour
// income, shared by hours; a self-employed category in a corporation gets
// the surplus alone.
//
// One hop, one unit, in XB (US$, LW 10/h): P = 1000, O = 100, VA = 900.
// Categories a (100 h, basic 300) and b (150 h, basic 100): declared 400.
//
//	cooperative: surplus 500, a gets 500 × 100/250 = 200 → 500, b gets 300 → 400;
//	             W = 900, R = 0, hourly 5 and 2.667 → A = 0.2667 (b's)
//	corporation with b self-employed: b gets all 500 → 600, a keeps 300;
//	             W = 900, R = 0, hourly 3 and 4 → A = 0.3 (a's)
//	corporation, no one self-employed: W = 400, R = 500, A = 100/150/10 = 0.0667
func TestSurplusByHand(t *testing.T) {
	one := func(form score.OrgForm, bSelf bool) score.Chain {
		h := score.Hop{
			ID: "h", Seller: score.Party{ID: "s", Country: "XB", OrgForm: form}, Buyer: consumer, Kind: score.Sale,
			OutputLot: "x", OutputQty: d("1"), Unit: "C62", Price: score.USD("1000"),
			OffLedgerCosts: []score.Money{score.USD("100")}, OccurredAt: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC),
			Labour: []score.Category{
				{Name: "a", Workers: 1, Hours: d("100"), Basic: score.USD("300")},
				{Name: "b", Workers: 1, Hours: d("150"), Basic: score.USD("100"), SelfEmployed: bSelf},
			},
		}
		return score.Chain{Hops: map[string]score.Hop{"h": h}, Final: "h"}
	}
	tests := []struct {
		name       string
		form       score.OrgForm
		bSelf      bool
		a, b, w, r string
		adequacy   float64
		labourEv   score.Evidence
	}{
		{"worker cooperative", score.WorkerCooperative, false, "500", "400", "900", "0", 400.0 / 150 / 10, score.EvidenceWorkerConfirmed},
		{"self-employed category", score.Corporation, true, "300", "600", "900", "0", 0.3, score.EvidenceSeller},
		{"employees only", score.Corporation, false, "300", "100", "400", "500", 100.0 / 150 / 10, score.EvidenceSeller},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hop(t, compute(t, one(tt.form, tt.bSelf), handSet(t)), "h")
			money(t, "a income", h.Categories[0].LabourIncome, tt.a)
			money(t, "b income", h.Categories[1].LabourIncome, tt.b)
			money(t, "labour income", h.LabourIncome, tt.w)
			money(t, "capture", h.Capture, tt.r)
			approxPtr(t, "wage adequacy", h.WageAdequacy, tt.adequacy)
			if h.Evidence[2].Level != tt.labourEv {
				t.Errorf("labour evidence %s, want %s", h.Evidence[2].Level, tt.labourEv)
			}
			// A one-hop chain is its own mean: E = 1.
			approxPtr(t, "exchange equality", h.ExchangeEquality, 1)
		})
	}
}

// TestInKindByHand: in-kind pay counts up to 30% of total pay.
func TestInKindByHand(t *testing.T) {
	tests := []struct{ basic, inKind, want string }{
		{"700", "300", "1000"}, // 300 = 30% of 1000: counted in full
		{"700", "200", "900"},  // under the cap
		{"700", "500", "1060"}, // cap 0.30 × 1200 = 360
		{"0", "100", "30"},     // all in kind: 30 of 100
	}
	for _, tt := range tests {
		ch := twoHops()
		tr := ch.Hops["t"]
		tr.Labour = []score.Category{{Name: "c", Workers: 1, Hours: d("40"), Basic: score.USD(tt.basic), InKind: score.USD(tt.inKind)}}
		tr.OutputQty = d("1")
		tr.Inputs[0].Qty = d("100000") // the whole ore lot, so t's fraction is 1
		ch.Hops["t"] = tr
		h := hop(t, compute(t, ch, handSet(t)), "t")
		money(t, "labour income (basic "+tt.basic+", in kind "+tt.inKind+")", h.LabourIncome, tt.want)
	}
}

// TestDisputeByHand: the trader disputes the miner's price.
func TestDisputeByHand(t *testing.T) {
	dispute := func(price string) score.Attestation {
		p := xts(price)
		return score.Attestation{Entry: score.EntryRef{Seq: 20, Hash: "d"}, Kind: score.Disputed, Attester: trader,
			Subject: "m", Dispute: &score.Dispute{Price: &p}}
	}
	t.Run("a lower price is less favourable to the miner and is used", func(t *testing.T) {
		// P = 3200/4 = 800 → VA_m = 700, v_m = 700×4/2/250 = 5.6;
		// t pays 400 → VA_t = 1000, v_t = 25; E_m = 5.6/25 = 0.224.
		ch := twoHops()
		ch.Attestations = []score.Attestation{dispute("3200")}
		m := hop(t, compute(t, ch, handSet(t)), "m")
		approxPtr(t, "m.exchange_equality", m.ExchangeEquality, 0.224)
		ev := m.Evidence[0]
		if ev.Level != score.EvidenceDisputed || ev.Confidence != 0.2 || ev.Used.Seq != 20 {
			t.Errorf("price evidence %+v, want disputed, 0.2, the dispute's figure used", ev)
		}
		approx(t, "m.confidence", m.Confidence, (0.2+0.4+0.4)/3)
		approx(t, "m.point", m.Point, 100*math.Sqrt(0.824*0.224))
	})
	t.Run("a higher price would favour the miner: the recorded price stays", func(t *testing.T) {
		// P = 4400/4 = 1100 → v_m = 1000×2/250 = 8; VA_t = 1500−550−100 = 850,
		// v_t = 21.25; E_m = 0.376 > 0.32.
		ch := twoHops()
		ch.Attestations = []score.Attestation{dispute("4400")}
		m := hop(t, compute(t, ch, handSet(t)), "m")
		approxPtr(t, "m.exchange_equality", m.ExchangeEquality, 0.32)
		if ev := m.Evidence[0]; ev.Level != score.EvidenceDisputed || ev.Used.Seq != 1 {
			t.Errorf("price evidence %+v, want disputed with the hop's own figure used", ev)
		}
		approx(t, "m.confidence", m.Confidence, (0.2+0.4+0.4)/3)
	})
	t.Run("with the living wage missing the point score ties at 0, and the dispute still decides", func(t *testing.T) {
		// Without XA's living wage A is missing, so S = 0 for the miner
		// under either price; the lower price still gives the lower
		// exchange equality (0.224 against 0.32) and is used.
		ch := twoHops()
		ch.Attestations = []score.Attestation{dispute("3200")}
		m := hop(t, compute(t, ch, handSet(t, reference.KindLivingWage)), "m")
		if m.Point != 0 {
			t.Fatalf("m.point %v, want 0 with the living wage missing", m.Point)
		}
		approxPtr(t, "m.exchange_equality", m.ExchangeEquality, 0.224)
		if ev := m.Evidence[0]; ev.Used.Seq != 20 {
			t.Errorf("price evidence %+v, want the dispute's figure used", ev)
		}
		// A higher disputed price would favour the miner: recorded stays.
		ch.Attestations = []score.Attestation{dispute("4400")}
		m = hop(t, compute(t, ch, handSet(t, reference.KindLivingWage)), "m")
		approxPtr(t, "m.exchange_equality", m.ExchangeEquality, 0.32)
		if ev := m.Evidence[0]; ev.Used.Seq != 1 {
			t.Errorf("price evidence %+v, want the hop's own figure used", ev)
		}
	})
	t.Run("a union disputes the wages", func(t *testing.T) {
		ch := twoHops()
		ch.Attestations = []score.Attestation{{Entry: score.EntryRef{Seq: 21}, Kind: score.Disputed, Role: score.RoleUnion,
			Attester: score.Party{ID: "union"}, Subject: "m", Dispute: &score.Dispute{Labour: []score.Category{
				{Name: "diggers", Workers: 10, Hours: d("250"), Basic: xts("1000"), Bonus: xts("200"), InKind: xts("800")}}}}}
		// pay 250 + 50 + min(200, 0.3 × 500 = 150) = 450 → hourly 1.8 → A = 0.72
		m := hop(t, compute(t, ch, handSet(t)), "m")
		approxPtr(t, "m.wage_adequacy", m.WageAdequacy, 0.72)
		if m.Evidence[2].Level != score.EvidenceDisputed {
			t.Errorf("labour evidence %s, want disputed", m.Evidence[2].Level)
		}
	})
}

// TestDeliveryByHand: a courier cooperative delivers the 10 bars for 50 US$
// (5 hours, pay 30): per bar f = 0.1, P_final = 150 + 5 = 155; the
// cooperative's surplus of 20 is its riders' income, so its row is all
// labour: 5 per bar.
func TestDeliveryByHand(t *testing.T) {
	ch := twoHops()
	ch.Hops["d"] = score.Hop{
		ID: "d", Seller: score.Party{ID: "couriers", Country: "XB", OrgForm: score.WorkerCooperative}, Buyer: consumer,
		Kind: score.Service, OutputLot: "bars", OutputQty: d("10"), Unit: "C62", Price: score.USD("50"),
		OccurredAt: time.Date(2023, 6, 2, 0, 0, 0, 0, time.UTC),
		Labour:     []score.Category{{Name: "riders", Workers: 1, Hours: d("5"), Basic: score.USD("30")}},
	}
	ch.Delivery = "d"
	cs := compute(t, ch, handSet(t))
	money(t, "final price", cs.FinalPrice, "155")
	if cs.Delivery != "d" || cs.Hops[len(cs.Hops)-1].Hop != "d" {
		t.Errorf("delivery %q, last hop %q", cs.Delivery, cs.Hops[len(cs.Hops)-1].Hop)
	}
	r := cs.Shares[2]
	approxPtr(t, "d labour share", r.LabourShare, 5.0/155)
	approxPtr(t, "d capture share", r.CaptureShare, 0)
	h := hop(t, cs, "d")
	if h.EqualityBasis != score.BasisChainMean {
		t.Errorf("delivery basis %s, want chain_mean", h.EqualityBasis)
	}
	sum := 0.0
	for _, r := range cs.Shares {
		sum += r.TotalShare
	}
	approx(t, "shares", sum, 1)
}

// TestHourlyBenchmark uses the bundled London living wage, published per
// hour (GBP 13.15), with pay of GBP 2,000 for 160 hours (12.50 an hour):
// A = 12.5/13.15, whatever the exchange rate.
func TestHourlyBenchmark(t *testing.T) {
	h := score.Hop{
		ID: "h", Seller: score.Party{ID: "s", Country: "GB", Region: "London", OrgForm: score.Corporation},
		Buyer: consumer, Kind: score.Service, OutputLot: "x", OutputQty: d("1"), Unit: "C62",
		Price: score.Money{Amount: d("5000"), Currency: "GBP"}, OccurredAt: time.Date(2023, 9, 1, 0, 0, 0, 0, time.UTC),
		Labour: []score.Category{{Name: "cleaners", Workers: 1, Hours: d("160"), Basic: score.Money{Amount: d("2000"), Currency: "GBP"}}},
	}
	cs := compute(t, score.Chain{Hops: map[string]score.Hop{"h": h}, Final: "h"}, bundledSet(t))
	hs := hop(t, cs, "h")
	approxPtr(t, "wage adequacy", hs.WageAdequacy, 12.5/13.15)
	var lw *score.RefUse
	for i, r := range hs.Reference {
		if r.UsedFor == "living_wage" {
			lw = &hs.Reference[i]
		}
	}
	if lw == nil || lw.Period != reference.PerHour || lw.Match != reference.MatchRegion || lw.Origin.String() != "wages.csv:7" {
		t.Errorf("living wage used: %+v", lw)
	}
}

// TestPartialLabourDispute: a union disputes the hours of one category and
// the pay of another, as the vocabulary allows; the rest stays as recorded.
func TestPartialLabourDispute(t *testing.T) {
	ch := twoHops()
	setHop(&ch, "m", func(h *score.Hop) {
		h.Labour = append(h.Labour, score.Category{Name: "washers", Workers: 4, Hours: d("100"), Basic: xts("1000")})
	})
	ch.Attestations = []score.Attestation{{Entry: score.EntryRef{Seq: 30}, Kind: score.Disputed, Role: score.RoleUnion,
		Attester: score.Party{ID: "union"}, Subject: "m", Dispute: &score.Dispute{Labour: []score.Category{
			{Name: "diggers", Hours: d("300")},   // hours only: 515/300 = 1.7167 US$/h
			{Name: "washers", Basic: xts("800")}, // pay only: 200/100 = 2 US$/h
			{Name: "sorters", Basic: xts("40")},  // unknown category without hours: ignored
		}}}}
	m := hop(t, compute(t, ch, handSet(t)), "m")
	if len(m.Categories) != 2 {
		t.Fatalf("categories %+v", m.Categories)
	}
	if m.Categories[0].Hours != "15" { // 300 × 0.05
		t.Errorf("diggers' hours %s, want the disputed 300 (15 per bar)", m.Categories[0].Hours)
	}
	money(t, "diggers' pay", m.Categories[0].LabourIncome, "25.75")
	money(t, "washers' pay", m.Categories[1].LabourIncome, "10")
	// A = min(515/300, 200/100) / 2.5
	approxPtr(t, "m.wage_adequacy", m.WageAdequacy, 515.0/300/2.5)
}

// TestBenchmarkHours: a living wage per week that states its hours, and one
// per day that does not (missing: no hourly rate can be derived).
func TestBenchmarkHours(t *testing.T) {
	week := reference.Figure{Kind: reference.KindLivingWage, Country: "XA", Year: 2022, Currency: "XTS",
		Period: reference.PerWeek, Hours: d("50"), Amount: d("750"), Method: "test", Source: "test",
		Origin: reference.LedgerEntry(7)}
	set, err := handSet(t).With(week)
	if err != nil {
		t.Fatal(err)
	}
	// 750/50 = 15 XTS = 3.75 US$ an hour; the miner earns 2.06.
	m := hop(t, compute(t, twoHops(), set), "m")
	approxPtr(t, "m.wage_adequacy", m.WageAdequacy, 2.06/3.75)

	day := week
	day.Period, day.Hours, day.Origin = reference.PerDay, d("0"), reference.LedgerEntry(8)
	day.Year = 2023
	set, err = set.With(day)
	if err != nil {
		t.Fatal(err)
	}
	m = hop(t, compute(t, twoHops(), set), "m")
	null(t, "m.wage_adequacy", m.WageAdequacy)
	if !hasMissing(m.Missing, "living_wage") {
		t.Errorf("missing %+v, want the living wage", m.Missing)
	}
}
