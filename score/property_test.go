package score_test

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/score"
	"github.com/tally-ledger/tally/score/scoretest"
)

// Properties of the method, checked on random chains drawn from a fixed
// seed (so a failure reproduces): the case number and the seed are in every
// message.

const cases = 150

func rng(i int) *rand.Rand { return rand.New(rand.NewPCG(20260101, uint64(i))) }

func randomChain(t *testing.T, r *rand.Rand, ref *reference.Set) score.Chain {
	t.Helper()
	return scoretest.RandomChain(r, ref, scoretest.RandomOptions{
		Hops: 2 + r.IntN(7), Delivery: r.Float64() < 0.3, Attestations: r.Float64() < 0.7, AuditAll: r.Float64() < 0.35,
	})
}

// clone copies a chain deeply enough to change any hop, input, category or
// attestation without touching the original.
func clone(ch score.Chain) score.Chain {
	c := ch
	c.Hops = map[string]score.Hop{}
	for id, h := range ch.Hops {
		h.Inputs = slices.Clone(h.Inputs)
		h.Labour = slices.Clone(h.Labour)
		h.OffLedgerCosts = slices.Clone(h.OffLedgerCosts)
		c.Hops[id] = h
	}
	c.Attestations = slices.Clone(ch.Attestations)
	return c
}

func mustCompute(t *testing.T, i int, ch score.Chain, ref *reference.Set) score.ChainScore {
	t.Helper()
	cs, err := score.Compute(ch, ref, score.FEX1)
	if err != nil {
		t.Fatalf("case %d: Compute: %v", i, err)
	}
	return cs
}

func close(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func closePtr(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return close(*a, *b)
}

// ratios lists every ratio of a chain score, by name.
func ratios(cs score.ChainScore) map[string]*float64 {
	out := map[string]*float64{}
	put := func(k string, v float64) { out[k] = &v }
	put("score", cs.Score)
	put("point", cs.Point)
	put("worst", cs.Worst)
	put("best", cs.Best)
	put("confidence", cs.Confidence)
	out["wage_adequacy"] = cs.WageAdequacy
	out["exchange_equality"] = cs.ExchangeEquality
	out["living_wage_cost_share"] = cs.LivingWageCostShare
	out["origin_share"] = cs.OriginShare
	out["hours_ratio"] = cs.HoursRatio
	for _, r := range cs.Shares {
		out[r.Hop+".labour_share"] = r.LabourShare
		out[r.Hop+".capture_share"] = r.CaptureShare
		out[r.Hop+".non_labour_share"] = r.NonLabourShare
		put(r.Hop+".total_share", r.TotalShare)
	}
	for _, h := range cs.Hops {
		put(h.Hop+".score", h.Score)
		put(h.Hop+".point", h.Point)
		put(h.Hop+".worst", h.Worst)
		put(h.Hop+".best", h.Best)
		put(h.Hop+".confidence", h.Confidence)
		out[h.Hop+".wage_adequacy"] = h.WageAdequacy
		out[h.Hop+".exchange_equality"] = h.ExchangeEquality
	}
	return out
}

// TestScalingLeavesRatiosUnchanged: measuring any lot in a unit k times
// smaller (its output quantity and every quantity consumed from it times k,
// or the same lot re-expressed in grams) changes no ratio.
func TestScalingLeavesRatiosUnchanged(t *testing.T) {
	ref := bundledSet(t)
	for i := range cases {
		r := rng(i)
		ch := randomChain(t, r, ref)
		base := mustCompute(t, i, ch, ref)

		sc := clone(ch)
		for _, id := range slices.Sorted(maps.Keys(sc.Hops)) {
			k := decimal.NewFromFloat([]float64{0.001, 0.5, 3, 1000, 7.25}[r.IntN(5)])
			h := sc.Hops[id]
			if id == sc.Delivery {
				continue // scaled with the final lot below
			}
			if h.Unit == "KGM" && r.Float64() < 0.5 {
				// Re-express in grams; consumers keep their own units.
				h.OutputQty, h.Unit = h.OutputQty.Mul(decimal.NewFromInt(1000)), "GRM"
				sc.Hops[id] = h
				continue
			}
			h.OutputQty = h.OutputQty.Mul(k)
			sc.Hops[id] = h
			for _, cid := range slices.Sorted(maps.Keys(sc.Hops)) {
				c := sc.Hops[cid]
				for j := range c.Inputs {
					if c.Inputs[j].FromHop == id {
						c.Inputs[j].Qty = c.Inputs[j].Qty.Mul(k)
					}
				}
				sc.Hops[cid] = c
			}
			if id == sc.Final && sc.Delivery != "" {
				dh := sc.Hops[sc.Delivery]
				q, _ := score.ConvertQuantity(dh.OutputQty, dh.Unit, ch.Hops[id].Unit)
				dh.OutputQty, dh.Unit = q.Mul(k), h.Unit
				if h.Unit == "GRM" {
					dh.OutputQty = q.Mul(decimal.NewFromInt(1000))
				}
				sc.Hops[sc.Delivery] = dh
			}
		}
		got := mustCompute(t, i, sc, ref)
		want := ratios(base)
		for name, g := range ratios(got) {
			if !closePtr(g, want[name]) {
				t.Errorf("case %d: %s changed with scale: %v → %v", i, name, deref(want[name]), deref(g))
			}
		}
		if len(ratios(got)) != len(want) {
			t.Errorf("case %d: %d ratios, was %d", i, len(ratios(got)), len(want))
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// withoutFigures returns the set less every figure of a kind for a country.
func withoutFigures(t *testing.T, ref *reference.Set, kind reference.Kind, country string) *reference.Set {
	t.Helper()
	var keep []reference.Figure
	for _, f := range ref.Figures() {
		if f.Kind != kind || f.Country != country {
			keep = append(keep, f)
		}
	}
	s, err := reference.New(keep)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// notAbove checks that no headline, point or worst score rose.
func notAbove(t *testing.T, what string, got, was score.ChainScore) {
	t.Helper()
	cmp := func(name string, g, w float64) {
		if g > w+1e-9 {
			t.Errorf("%s: %s rose from %.9g to %.9g", what, name, w, g)
		}
	}
	cmp("chain score", got.Score, was.Score)
	cmp("chain point", got.Point, was.Point)
	cmp("chain worst", got.Worst, was.Worst)
	cmp("chain confidence", got.Confidence, was.Confidence)
	for _, h := range got.Hops {
		w, ok := was.Hop(h.Hop)
		if !ok {
			continue
		}
		cmp(h.Hop+" score", h.Score, w.Score)
		cmp(h.Hop+" point", h.Point, w.Point)
		cmp(h.Hop+" worst", h.Worst, w.Worst)
		cmp(h.Hop+" confidence", h.Confidence, w.Confidence)
	}
}

// TestRemovingAFigureNeverRaisesAScore: leaving out a hop's labour, a
// confirming attestation, or a country's living wage, PPP factor or
// exchange rate never raises any score. (Removing a figure here means the
// lookup finds nothing: every figure of that kind for the country goes.)
func TestRemovingAFigureNeverRaisesAScore(t *testing.T) {
	ref := bundledSet(t)
	for i := range cases {
		r := rng(i)
		ch := randomChain(t, r, ref)
		base := mustCompute(t, i, ch, ref)
		ids := slices.Sorted(maps.Keys(ch.Hops))
		id := ids[r.IntN(len(ids))]

		mod, set, what := clone(ch), ref, ""
		switch k := r.IntN(3); {
		case k == 0:
			h := mod.Hops[id]
			h.Labour = nil
			mod.Hops[id] = h
			what = "labour of " + id
		case k == 1 && len(ch.Attestations) > 0:
			j := r.IntN(len(ch.Attestations))
			what = fmt.Sprintf("attestation %d (%s on %s)", j, ch.Attestations[j].Kind, ch.Attestations[j].Subject)
			mod.Attestations = slices.Delete(mod.Attestations, j, j+1)
		default:
			kind := []reference.Kind{reference.KindLivingWage, reference.KindPPP, reference.KindExchangeRate}[r.IntN(3)]
			country := ch.Hops[id].Seller.Country
			set = withoutFigures(t, ref, kind, country)
			what = fmt.Sprintf("%s of %s", kind, country)
		}
		notAbove(t, fmt.Sprintf("case %d, without %s", i, what), mustCompute(t, i, mod, set), base)
	}
}

// TestRaisingAWageNeverLowersWageAdequacy: more basic pay, bonus or in-kind
// pay for an employee category never lowers A, for the hop or the chain.
// (Where a hop shares its surplus as labour income — a worker cooperative,
// a self-employed seller, or any self-employed category — raising one
// category's declared pay takes it from the surplus the others live on, so
// A can fall; TestSurplusByHand covers that case.)
func TestRaisingAWageNeverLowersWageAdequacy(t *testing.T) {
	ref := bundledSet(t)
	checked := 0
	for i := range cases {
		r := rng(i)
		ch := randomChain(t, r, ref)
		ids := slices.Sorted(maps.Keys(ch.Hops))
		id := ids[r.IntN(len(ids))]
		h := ch.Hops[id]
		if h.Seller.OrgForm == score.WorkerCooperative || h.Seller.OrgForm == score.SelfEmployed || len(h.Labour) == 0 ||
			slices.ContainsFunc(h.Labour, func(c score.Category) bool { return c.SelfEmployed }) {
			continue
		}
		j := r.IntN(len(h.Labour))
		base := mustCompute(t, i, ch, ref)
		mod := clone(ch)
		mh := mod.Hops[id]
		c := &mh.Labour[j]
		raise := func(m *score.Money) {
			if m.Currency == "" {
				m.Currency = "USD"
			}
			m.Amount = m.Amount.Add(decimal.NewFromFloat(1 + r.Float64()*5000).Round(2))
		}
		switch r.IntN(3) {
		case 0:
			raise(&c.Basic)
		case 1:
			raise(&c.Bonus)
		default:
			raise(&c.InKind)
		}
		mod.Hops[id] = mh
		got := mustCompute(t, i, mod, ref)
		checked++

		was, _ := base.Hop(id)
		now, _ := got.Hop(id)
		for _, p := range []struct {
			name     string
			now, was score.Term
		}{
			{id, now.Terms.WageAdequacy, was.Terms.WageAdequacy},
			{"chain", got.Terms.WageAdequacy, base.Terms.WageAdequacy},
		} {
			if p.now.Point < p.was.Point-1e-12 || p.now.Worst < p.was.Worst-1e-12 || p.now.Best < p.was.Best-1e-12 {
				t.Errorf("case %d: raising %s's pay lowered %s wage adequacy: %+v → %+v", i, id, p.name, p.was, p.now)
			}
		}
		if now.Point < was.Point-1e-9 {
			t.Errorf("case %d: raising pay lowered %s's point score %v → %v", i, id, was.Point, now.Point)
		}
	}
	if checked < cases/3 {
		t.Errorf("only %d cases checked", checked)
	}
}

// TestExchangeEqualityIsSymmetric: swapping seller and buyer gives the same
// E and the other side favoured.
func TestExchangeEqualityIsSymmetric(t *testing.T) {
	swap := map[score.Favours]score.Favours{score.FavoursSeller: score.FavoursBuyer, score.FavoursBuyer: score.FavoursSeller, score.FavoursNeither: score.FavoursNeither}
	for i := range 2000 {
		r := rng(i)
		v := func() decimal.Decimal {
			switch r.IntN(8) {
			case 0:
				return decimal.Zero
			case 1:
				return decimal.NewFromFloat(-r.Float64() * 10).Round(4)
			}
			return decimal.NewFromFloat(r.ExpFloat64() * 20).Round(6)
		}
		a, b := v(), v()
		if r.IntN(10) == 0 {
			b = a
		}
		e1, f1 := score.ExchangeEquality(a, b)
		e2, f2 := score.ExchangeEquality(b, a)
		if e1 != e2 || f2 != swap[f1] {
			t.Errorf("E(%s, %s) = %v %s but E(%s, %s) = %v %s", a, b, e1, f1, b, a, e2, f2)
		}
		if e1 < 0 || e1 > 1 {
			t.Errorf("E(%s, %s) = %v outside [0, 1]", a, b, e1)
		}
	}
}

// TestSharesSumToOne: when every input is on the ledger, the share table's
// rows account for the whole final price, and with every hop's labour known
// so do labour + capture + non-labour.
func TestSharesSumToOne(t *testing.T) {
	ref := bundledSet(t)
	for i := range cases {
		r := rng(i)
		cs := mustCompute(t, i, randomChain(t, r, ref), ref)
		total, parts := 0.0, 0.0
		for _, row := range cs.Shares {
			total += row.TotalShare
			if row.Remainder {
				if math.Abs(row.TotalShare) > 1e-9 {
					t.Errorf("case %d: remainder %v with every input on the ledger", i, row.TotalShare)
				}
				continue
			}
			for _, p := range []*float64{row.LabourShare, row.CaptureShare, row.NonLabourShare} {
				if p == nil {
					t.Fatalf("case %d: %s: a share is missing", i, row.Hop)
				}
				parts += *p
			}
		}
		if math.Abs(total-1) > 1e-9 || math.Abs(parts-1) > 1e-9 {
			t.Errorf("case %d: rows sum to %v, parts to %v; want 1", i, total, parts)
		}
	}
}

// TestDisputeNeverScoresBetter: a disputed figure never gives its hop a
// better headline, point or worst score than the same figure undisputed.
func TestDisputeNeverScoresBetter(t *testing.T) {
	ref := bundledSet(t)
	for i := range cases {
		r := rng(i)
		ch := randomChain(t, r, ref)
		base := mustCompute(t, i, ch, ref)
		ids := slices.Sorted(maps.Keys(ch.Hops))
		id := ids[r.IntN(len(ids))]
		h := ch.Hops[id]
		scale := func(m score.Money, lo, hi float64) score.Money {
			m.Amount = m.Amount.Mul(decimal.NewFromFloat(lo + r.Float64()*(hi-lo))).Round(2)
			return m
		}
		dsp := &score.Dispute{}
		scope := []score.FigureGroup{}
		switch r.IntN(4) {
		case 0:
			p := scale(h.Price, 0.5, 1.5)
			dsp.Price = &p
		case 1:
			for _, c := range h.OffLedgerCosts {
				dsp.OffLedgerCosts = append(dsp.OffLedgerCosts, scale(c, 0.3, 2))
			}
		case 2:
			for _, c := range h.Labour {
				c.Basic = scale(c.Basic, 0.3, 1.7)
				dsp.Labour = append(dsp.Labour, c)
			}
		default:
			scope = []score.FigureGroup{score.GroupLabour} // disputed without figures
			dsp = nil
		}
		mod := clone(ch)
		mod.Attestations = append(mod.Attestations, score.Attestation{
			Entry: score.EntryRef{Seq: 9999}, Kind: score.Disputed, Subject: id,
			Attester: score.Party{ID: "disputer"}, Scope: scope, Dispute: dsp,
		})
		got := mustCompute(t, i, mod, ref)
		now, _ := got.Hop(id)
		was, _ := base.Hop(id)
		for _, p := range []struct {
			name     string
			now, was float64
		}{{"score", now.Score, was.Score}, {"point", now.Point, was.Point}, {"worst", now.Worst, was.Worst}, {"confidence", now.Confidence, was.Confidence}} {
			if p.now > p.was+1e-9 {
				t.Errorf("case %d: disputing %s raised its %s from %v to %v", i, id, p.name, p.was, p.now)
			}
		}
	}
}
