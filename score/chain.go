package score

import (
	"fmt"
	"math"
	"slices"

	"github.com/shopspring/decimal"
)

// r12 rounds a ratio for output to 12 decimal places, far below any
// meaningful difference, so that float noise does not show.
func r12(x float64) float64 { return math.Round(x*1e12) / 1e12 }

func fp(x float64) *float64 { x = r12(x); return &x }

func fpp(x *float64) *float64 {
	if x == nil {
		return nil
	}
	return fp(*x)
}

func termOut(t Term) Term { return Term{Point: r12(t.Point), Worst: r12(t.Worst), Best: r12(t.Best)} }

func (m *model) usdOut(d dec) *Money {
	if !d.ok {
		return nil
	}
	return &Money{Amount: d.v.Round(m.p.MoneyPlaces), Currency: "USD"}
}

func (m *model) intlOut(d dec) *Money {
	if !d.ok {
		return nil
	}
	return &Money{Amount: d.v.Round(m.p.MoneyPlaces), Currency: IntlDollar}
}

// attributed scales a hop's amount to one unit of the final lot.
func (hc *hopCalc) attributed(d dec) dec {
	if !d.ok {
		return unknown
	}
	return known(d.v.Mul(hc.f))
}

// attributedOut builds, once per hop, the hop's attributed money figures
// and their output.
func (m *model) attributedOut(hc *hopCalc) *hopOut {
	if hc.out != nil {
		return hc.out
	}
	o := &hopOut{
		price: hc.attributed(hc.price), inputCost: hc.attributed(hc.inputCost), costs: hc.attributed(hc.costs),
		va: hc.attributed(hc.va), w: hc.attributed(hc.w), r: hc.attributed(hc.r), g: hc.attributed(hc.g),
	}
	o.priceM, o.inputCostM, o.costsM = m.usdOut(o.price), m.usdOut(o.inputCost), m.usdOut(o.costs)
	o.vaM, o.wM, o.rM, o.gM = m.usdOut(o.va), m.usdOut(o.w), m.usdOut(o.r), m.usdOut(o.g)
	o.vM, o.vbM = m.intlOut(hc.v), m.intlOut(hc.vb)
	o.lwM = m.usdOut(hc.lw)
	hc.out = o
	return o
}

// cloneMoney gives each output its own copy of a shared figure.
func cloneMoney(x *Money) *Money {
	if x == nil {
		return nil
	}
	c := *x
	return &c
}

func hoursOut(d decimal.Decimal) string { return plain(d.Round(9)) }

// hopScore builds the output for one hop.
func (m *model) hopScore(id string) HopScore {
	hc := m.hops[id]
	h := hc.h
	o := m.attributedOut(hc)
	out := HopScore{
		Method: m.p.Version, Hop: id, Entry: h.Entry, Kind: h.Kind,
		Seller: h.Seller.ID, Buyer: h.Buyer.ID, Year: hc.year, Fraction: plain(hc.f),
		Score: r12(hc.score), Point: r12(hc.sPoint), Worst: r12(hc.sWorst), Best: r12(hc.sBest), Confidence: r12(hc.k),
		WageAdequacy: fpp(hc.a), ExchangeEquality: fpp(hc.e), EqualityBasis: hc.basis, Favours: hc.favours,
		Terms: Terms{WageAdequacy: termOut(hc.aTerm), ExchangeEquality: termOut(hc.eTerm)},

		Price:               o.priceM,
		InputCost:           o.inputCostM,
		OffLedgerCosts:      o.costsM,
		ValueAdded:          o.vaM,
		LabourIncome:        o.wM,
		Capture:             o.rM,
		ValuePerHourIntl:    o.vM,
		BuyerValuePerHour:   o.vbM,
		LivingWageShortfall: o.gM,

		Categories: make([]CategoryScore, 0, len(hc.cats)),
		Inputs:     append(make([]InputRef, 0, 1+len(hc.edges)+len(hc.cons)), InputRef{Role: "hop", Hop: id, Entry: h.Entry}),
		Evidence:   make([]EvidenceUse, 0, 3),
		Reference:  slices.Clone(hc.refs),
		Missing:    slices.Clone(hc.missing),
		Notes:      hc.notes,
	}
	if hc.labour != labourMissing {
		s := hoursOut(hc.fh)
		out.Hours = &s
	}
	for _, c := range hc.cats {
		out.Categories = append(out.Categories, CategoryScore{
			Name: c.c.Name, Workers: c.c.Workers, Hours: hoursOut(c.c.Hours.Mul(hc.f)),
			SelfEmployed: c.c.SelfEmployed, SharesSurplus: c.shares,
			LabourIncome: m.usdOut(hc.attributed(c.income)),
			HourlyPay:    m.usdOut(c.hourly), LivingWage: cloneMoney(o.lwM), Ratio: fpp(c.ratio),
		})
	}
	for _, e := range hc.edges {
		r := InputRef{Role: "input", Hop: e.from, Lot: e.in.Lot, Qty: plain(e.in.Qty), Unit: e.in.Unit, Problem: e.why}
		if up, ok := m.ch.Hops[e.from]; ok {
			r.Entry = up.Entry
		}
		out.Inputs = append(out.Inputs, r)
	}
	if hc.basis == BasisBuyerHop {
		for _, c := range hc.cons {
			out.Inputs = append(out.Inputs, InputRef{Role: "buyer_hop", Hop: c, Entry: m.hops[c].h.Entry})
		}
	}
	for _, a := range m.ch.Attestations {
		if a.Subject == id {
			out.Inputs = append(out.Inputs, InputRef{Role: "attestation", Party: a.Attester.ID, Kind: a.Kind, Entry: a.Entry})
		}
	}
	for _, g := range Groups() {
		ev := hc.ev[g]
		out.Evidence = append(out.Evidence, EvidenceUse{Figure: g, Level: ev.level, Confidence: r12(ev.conf), Entries: ev.entries, Used: hc.used[g]})
	}
	return out
}

// chainScore builds the chain's output: its own terms, the share table and
// the chain figures, and every hop's score.
func (m *model) chainScore() ChainScore {
	cs := ChainScore{
		Method: m.p.Version, Final: m.ch.Final, Reference: []RefUse{}, Shares: make([]ShareRow, 0, len(m.g.order)+1),
		Hops: make([]HopScore, 0, len(m.g.order)), Missing: slices.Clone(m.g.missing),
	}
	if _, ok := m.hops[m.ch.Delivery]; ok {
		cs.Delivery = m.ch.Delivery
	}
	chain := &sink{}
	for _, id := range m.g.order {
		hs := m.hopScore(id)
		cs.Hops = append(cs.Hops, hs)
		for _, x := range hs.Missing {
			if !slices.Contains(cs.Missing, x) {
				cs.Missing = append(cs.Missing, x)
			}
		}
	}

	// Hours. A hop whose labour is missing could hold any share of the
	// chain's hours, so the hours-weighted terms take their worst case.
	hoursUnknown := false
	hours := decimal.Zero
	for _, id := range m.g.order {
		hc := m.hops[id]
		if hc.labour == labourMissing {
			hoursUnknown = true
			continue
		}
		hours = hours.Add(hc.fh)
	}
	if !hoursUnknown {
		s := hoursOut(hours)
		cs.Hours = &s
	}
	weights := make(map[*hopCalc]float64, len(m.g.order))
	weight := func(hc *hopCalc) float64 {
		w, ok := weights[hc]
		if !ok {
			w = ratio(hc.fh, hours)
			weights[hc] = w
		}
		return w
	}

	// A_chain: the hours-weighted mean of A_h.
	cs.Terms.WageAdequacy = Term{Point: 0, Worst: 0, Best: 1}
	if !hoursUnknown && hours.IsPositive() {
		var t Term
		allKnown := true
		for _, id := range m.g.order {
			hc := m.hops[id]
			if hc.labour != labourDeclared {
				continue
			}
			w := weight(hc)
			t.Point += w * hc.aTerm.Point
			t.Worst += w * hc.aTerm.Worst
			t.Best += w * hc.aTerm.Best
			allKnown = allKnown && hc.a != nil
		}
		cs.Terms.WageAdequacy = t
		if allKnown {
			cs.WageAdequacy = fp(t.Point)
		}
	}

	// E_chain: 1 − the hours-weighted Gini of value per hour, which needs
	// every hop's value per hour.
	cs.Terms.ExchangeEquality = Term{Point: 0, Worst: 0, Best: 1}
	var vs, ws []float64
	minConf := math.Inf(1)
	allV := true
	for _, id := range m.g.order {
		hc := m.hops[id]
		minConf = math.Min(minConf, m.valueConf(hc))
		if !hc.v.ok {
			allV = false
			continue
		}
		vs = append(vs, float(hc.v.v))
		ws = append(ws, float(hc.fh))
	}
	if allV {
		e := 0.0 // a chain whose mean value per hour is not positive
		if gini, ok := WeightedGini(vs, ws); ok {
			e = clamp01(1 - gini)
		}
		cs.ExchangeEquality = fp(e)
		cs.Terms.ExchangeEquality = term(&e, minConf, m.p.WorstCaseBelow)
	} else {
		chain.miss("value_per_hour", "the Gini of value per hour needs every hop's value per hour")
	}

	s := func(a, e float64) float64 { return m.p.Scale * math.Sqrt(a*e) }
	cs.Point = s(cs.Terms.WageAdequacy.Point, cs.Terms.ExchangeEquality.Point)
	cs.Worst = s(cs.Terms.WageAdequacy.Worst, cs.Terms.ExchangeEquality.Worst)
	cs.Best = s(cs.Terms.WageAdequacy.Best, cs.Terms.ExchangeEquality.Best)
	switch {
	case hoursUnknown:
		cs.Confidence = 0
	case !hours.IsPositive():
		for _, id := range m.g.order {
			cs.Confidence += m.hops[id].k / float64(len(m.g.order))
		}
	default:
		for _, id := range m.g.order {
			if hc := m.hops[id]; hc.labour == labourDeclared {
				cs.Confidence += weight(hc) * hc.k
			}
		}
	}
	cs.Score = cs.Confidence*cs.Point + (1-cs.Confidence)*cs.Worst
	cs.Score, cs.Point, cs.Worst, cs.Best, cs.Confidence = r12(cs.Score), r12(cs.Point), r12(cs.Worst), r12(cs.Best), r12(cs.Confidence)
	cs.Terms = Terms{WageAdequacy: termOut(cs.Terms.WageAdequacy), ExchangeEquality: termOut(cs.Terms.ExchangeEquality)}

	m.shares(&cs, chain, hoursUnknown, hours)
	cs.Reference = append(cs.Reference, chain.refs...)
	for _, x := range chain.missing {
		if !slices.Contains(cs.Missing, x) {
			cs.Missing = append(cs.Missing, x)
		}
	}
	return cs
}

// shares fills the share table and the chain figures that are fractions of
// the final price.
func (m *model) shares(cs *ChainScore, chain *sink, hoursUnknown bool, hours decimal.Decimal) {
	pFinal := zero
	for _, id := range []string{m.ch.Final, cs.Delivery} {
		if hc, ok := m.hops[id]; ok {
			pFinal = pFinal.add(m.attributedOut(hc).price)
		}
	}
	cs.FinalPrice = m.usdOut(pFinal)
	if !pFinal.ok || !pFinal.v.IsPositive() {
		chain.miss("final_price", "the final price is missing or zero: no share of it can be given")
		return
	}
	P := pFinal.v
	share := func(d dec) *float64 {
		if !d.ok {
			return nil
		}
		return fp(ratio(d.v, P))
	}

	accounted := decimal.Zero
	lwCost, origin := zero, zero
	for _, id := range m.g.order {
		hc := m.hops[id]
		ho := m.attributedOut(hc)
		w, r, o, va := ho.w, ho.r, ho.costs, ho.va
		total := zero
		switch {
		case va.ok && o.ok:
			total = va.add(o)
		case w.ok && o.ok:
			total = w.add(o)
		case o.ok:
			total = o
		case w.ok:
			total = w
		}
		accounted = accounted.Add(total.v)
		cs.Shares = append(cs.Shares, ShareRow{
			Hop: id, LabourShare: share(w), CaptureShare: share(r), NonLabourShare: share(o), ValueAddedShare: share(va),
			TotalShare: r12(ratio(total.v, P)),
			Labour:     cloneMoney(ho.wM), Capture: cloneMoney(ho.rM), NonLabour: cloneMoney(ho.costsM), ValueAdded: cloneMoney(ho.vaM),
			Total: *m.usdOut(total),
		})
		lwCost = lwCost.add(ho.g)
		if len(hc.h.Inputs) == 0 {
			origin = origin.add(va)
		}
		for _, e := range hc.edges {
			if !e.ok {
				origin = unknown
			}
		}
	}
	rest := P.Sub(accounted)
	cs.Shares = append(cs.Shares, ShareRow{Hop: NotOnLedger, Remainder: true, TotalShare: r12(ratio(rest, P)), Total: *m.usdOut(known(rest))})

	if lwCost.ok {
		cs.LivingWageCostShare = share(lwCost)
	} else {
		chain.miss("living_wage_cost_share", "some hop's living-wage shortfall is missing")
	}
	if origin.ok {
		cs.OriginShare = share(origin)
	} else {
		chain.miss("origin_share", "the chain's origins are not all on the ledger, or their value added is missing")
	}

	// Hours ratio: hours worked along the chain per hour that the final
	// price buys at the average wage where the final sale happened.
	final := m.hops[m.ch.Final]
	market := final.h.Location
	if market == "" {
		market = final.h.Seller.Country
	}
	avg, ok := m.ref.AverageWage(market, final.year)
	switch {
	case hoursUnknown:
		chain.miss("hours_ratio", "some hop's hours are missing")
	case !ok:
		chain.miss("average_wage", fmt.Sprintf("no average wage for %q in or before %d", market, final.year))
	default:
		chain.use(avg, "average_wage", "", final.year)
		if hw := m.hourly(chain, avg, final.year, market); hw.ok && hw.v.IsPositive() {
			cs.HoursRatio = fp(ratio(hours.Mul(hw.v), P))
		}
	}
}
