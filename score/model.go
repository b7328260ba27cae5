package score

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"sync"

	"github.com/shopspring/decimal"
	"github.com/tally-ledger/tally/reference"
)

// dec is a decimal that may be missing.
type dec struct {
	v  decimal.Decimal
	ok bool
}

func known(v decimal.Decimal) dec { return dec{v: v, ok: true} }

var unknown = dec{}

func (a dec) add(b dec) dec {
	if !a.ok || !b.ok {
		return unknown
	}
	return known(a.v.Add(b.v))
}

func (a dec) sub(b dec) dec {
	if !a.ok || !b.ok {
		return unknown
	}
	return known(a.v.Sub(b.v))
}

var zero = known(decimal.Zero)

// sink collects the reference figures a score used and the figures it
// missed, in the order it met them.
type sink struct {
	hop     string
	refs    []RefUse
	missing []Missing
}

func (s *sink) use(f reference.Figure, usedFor string, m reference.Match, year int) {
	for _, r := range s.refs {
		if r.Origin.Equal(f.Origin) && r.UsedFor == usedFor && r.RequestedYear == year {
			return
		}
	}
	s.refs = append(s.refs, RefUse{Figure: f, UsedFor: usedFor, Match: m, RequestedYear: year})
}

func (s *sink) miss(figure, detail string) {
	m := Missing{Figure: figure, Hop: s.hop, Detail: detail}
	if !slices.Contains(s.missing, m) {
		s.missing = append(s.missing, m)
	}
}

type labourState int

const (
	labourDeclared labourState = iota
	labourNone                 // the seller declares no labour went into the output
	labourMissing              // no labour figures
)

type catCalc struct {
	c      Category
	income dec // US$, the hop's whole output
	shares bool
	hourly dec
	lw     dec
	ratio  *float64
}

// hopCalc is everything computed for one hop, before attribution: money is
// in US$ for the hop's whole output.
type hopCalc struct {
	sink
	h     Hop
	f     decimal.Decimal
	year  int
	edges []edge
	cons  []string

	price, costs, inputCost, va dec
	labour                      labourState
	cats                        []catCalc
	hours                       decimal.Decimal
	sharing                     bool
	w, r, g, lw                 dec
	a                           *float64
	vaIntl, v, vb               dec
	basis                       Basis
	e                           *float64
	favours                     Favours

	ev                    map[FigureGroup]evidence
	used                  map[FigureGroup]EntryRef
	notes                 []string
	aTerm, eTerm          Term
	k                     float64
	sPoint, sWorst, sBest float64
	score                 float64

	fh, fva decimal.Decimal // f·hours, and f·vaIntl where v is known
	out     *hopOut         // the attributed money figures, once built
}

// hopOut holds a hop's money figures attributed to one unit of the final
// lot, and their rounded output, built once for the hop's score and the
// chain's share table.
type hopOut struct {
	price, inputCost, costs, va, w, r, g                 dec
	priceM, inputCostM, costsM, vaM, wM, rM, gM, vM, vbM *Money
	lwM                                                  *Money // every category's living wage
}

// model is one evaluation of a chain with a given choice of disputed
// figures.
type model struct {
	ch   Chain
	ref  *lookups
	p    Params
	g    *graph
	hops map[string]*hopCalc
	mean dec // the chain's hours-weighted mean value per hour (intl$)
}

// usd converts money to US dollars at the market rate for the hop's year
// (the latest reference year not after it): the seller country's rate if
// the money is in its currency, otherwise any published rate for the
// currency. Zero needs no rate; US dollars need none.
func (m *model) usd(s *sink, x Money, year int, country, what string) dec {
	if x.Amount.IsZero() {
		return zero
	}
	if x.Currency == "USD" {
		return known(x.Amount)
	}
	var fx reference.Figure
	ok := false
	if country != "" {
		if f, found := m.ref.ExchangeRate(country, year); found && f.Currency == x.Currency {
			fx, ok = f, true
		}
	}
	if !ok {
		fx, ok = m.ref.ExchangeRateFor(x.Currency, year)
	}
	if !ok {
		s.miss("exchange_rate", fmt.Sprintf("no %s per US$ rate in or before %d (for the %s)", x.Currency, year, what))
		return unknown
	}
	s.use(fx, "exchange_rate", "", year)
	return known(x.Amount.DivRound(fx.Amount, divPlaces))
}

// hourly turns a wage figure into US$ per hour: an hourly figure as it is;
// one that states the hours of its period divided by them; a monthly one
// without hours divided by MonthlyHours (a 40-hour week). A daily, weekly or
// yearly figure that does not state its hours cannot be turned into an
// hourly one, and is missing.
func (m *model) hourly(s *sink, f reference.Figure, year int, country string) dec {
	amt := f.Amount
	switch {
	case f.Period == reference.PerHour:
	case f.Hours.IsPositive():
		amt = amt.DivRound(f.Hours, divPlaces)
	case f.Period == reference.PerMonth:
		amt = amt.DivRound(m.p.MonthlyHours, divPlaces)
	default:
		s.miss(string(f.Kind), fmt.Sprintf("%s per %s does not state its hours (%s)", f.Kind, f.Period, f.Origin))
		return unknown
	}
	return m.usd(s, Money{Amount: amt, Currency: f.Currency}, year, country, string(f.Kind))
}

// float converts a decimal to the nearest float64, as parsing its string
// would (correctly rounded), without building a normalised big.Rat or a
// string (which dominated the cost of a score).
func float(x decimal.Decimal) float64 {
	e := x.Exponent()
	if x.NumDigits() <= 15 && e >= -22 && e <= 22 {
		// Both operands are exact in a float64, and one operation is
		// correctly rounded.
		c := float64(x.CoefficientInt64())
		if e < 0 {
			return c / pow10f[-e]
		}
		return c * pow10f[e]
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	return s.float(x.Coefficient(), e)
}

// ratio is a / b rounded to divPlaces decimal places, as a float64: the
// same number as float(a.DivRound(b, divPlaces)), computed in reused
// scratch integers.
func ratio(a, b decimal.Decimal) float64 {
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	return s.ratio(a.Coefficient(), a.Exponent(), b.Coefficient(), b.Exponent())
}

// pow10f holds the powers of ten that a float64 represents exactly.
var pow10f = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// scratch holds the working numbers of float and ratio, reused across
// calls so that converting a figure does not allocate.
type scratch struct {
	aa, bb, q, r, p big.Int
	abs, hi, lo     big.Int
	x, y, z         big.Float
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// pow10 is 10^n: a shared constant for small n (never to be modified),
// else computed in s.p.
func (s *scratch) pow10(n int64) *big.Int {
	if n < int64(len(pow10s)) {
		return pow10s[n]
	}
	return s.p.Exp(big.NewInt(10), big.NewInt(n), nil)
}

var pow10s = func() (t [64]*big.Int) {
	for i := range t {
		t[i] = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(i)), nil)
	}
	return t
}()

var bigOne = big.NewInt(1)

// float is c·10^e, correctly rounded to a float64.
func (s *scratch) float(c *big.Int, e int32) float64 {
	if c.IsInt64() {
		if v := c.Int64(); v >= -1<<53 && v <= 1<<53 && e >= -22 && e <= 22 {
			if e < 0 {
				return float64(v) / pow10f[-e]
			}
			return float64(v) * pow10f[e]
		}
	}
	if c.BitLen() <= 126 {
		// Parsing the digits is correctly rounded. The coefficient is
		// written as at most two 19-digit halves, without building a
		// string on the heap where it is short.
		var buf [64]byte
		b := buf[:0]
		if c.Sign() < 0 {
			b = append(b, '-')
		}
		s.abs.Abs(c)
		if s.abs.IsUint64() {
			b = strconv.AppendUint(b, s.abs.Uint64(), 10)
		} else {
			s.hi.QuoRem(&s.abs, pow10s[19], &s.lo)
			b = strconv.AppendUint(b, s.hi.Uint64(), 10)
			lo := s.lo.Uint64()
			for p := uint64(1e18); p > 1 && lo < p; p /= 10 {
				b = append(b, '0')
			}
			b = strconv.AppendUint(b, lo, 10)
		}
		b = append(b, 'e')
		b = strconv.AppendInt(b, int64(e), 10)
		if f, err := strconv.ParseFloat(string(b), 64); err == nil {
			return f
		}
	}
	s.x.SetPrec(0).SetInt(c) // exact
	s.z.SetPrec(53).SetMode(big.ToNearestEven)
	if e < 0 {
		s.y.SetPrec(0).SetInt(s.pow10(int64(-e)))
		s.z.Quo(&s.x, &s.y)
	} else {
		s.y.SetPrec(0).SetInt(s.pow10(int64(e)))
		s.z.Mul(&s.x, &s.y)
	}
	f, _ := s.z.Float64()
	if c.Sign() != 0 && (math.Abs(f) < 0x1p-1021 || math.IsInf(f, 0)) {
		// Outside the normal range a float64 has fewer bits than the
		// rounding above assumed: parse the digits instead.
		f, _ = strconv.ParseFloat(c.String()+"e"+strconv.Itoa(int(e)), 64)
	}
	return f
}

// ratio is (ca·10^ea) / (cb·10^eb) rounded half away from zero to divPlaces
// places, as decimal.DivRound rounds it, then correctly rounded to a
// float64.
func (s *scratch) ratio(ca *big.Int, ea int32, cb *big.Int, eb int32) float64 {
	if cb.Sign() == 0 {
		panic("decimal division by 0")
	}
	e := int64(ea) - int64(eb) + divPlaces
	if e < 0 {
		s.aa.Set(ca)
		s.bb.Mul(cb, s.pow10(-e))
	} else {
		s.aa.Mul(ca, s.pow10(e))
		s.bb.Set(cb)
	}
	s.q.QuoRem(&s.aa, &s.bb, &s.r)
	s.r.Abs(&s.r)
	s.r.Lsh(&s.r, 1)
	if s.r.CmpAbs(&s.bb) >= 0 {
		if ca.Sign()*cb.Sign() < 0 {
			s.q.Sub(&s.q, bigOne)
		} else {
			s.q.Add(&s.q, bigOne)
		}
	}
	return s.float(&s.q, -divPlaces)
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }

// money computes a hop's money figures, labour income, wage adequacy and
// value added in international dollars. Hops are visited upstream first, so
// the prices of its inputs are known.
func (m *model) money(hc *hopCalc) {
	h := hc.h
	country := h.Seller.Country
	hc.price = m.usd(&hc.sink, h.Price, hc.year, country, "price")
	hc.costs = zero
	for _, c := range h.OffLedgerCosts {
		hc.costs = hc.costs.add(m.usd(&hc.sink, c, hc.year, country, "off-ledger cost"))
	}
	hc.inputCost = zero
	for _, e := range hc.edges {
		if !e.ok {
			hc.inputCost = unknown
			hc.miss("input_cost", e.why)
			continue
		}
		up := m.hops[e.from]
		if !up.price.ok {
			hc.inputCost = unknown
			hc.miss("input_cost", fmt.Sprintf("lot %q: the price of hop %q could not be converted to US$", e.in.Lot, e.from))
			continue
		}
		hc.inputCost = hc.inputCost.add(known(e.ratio.Mul(up.price.v)))
	}
	hc.va = hc.price.sub(hc.inputCost).sub(hc.costs)

	switch {
	case h.NoLabour:
		hc.labour = labourNone
	case len(h.Labour) == 0:
		hc.labour = labourMissing
		hc.miss("labour", "no labour recorded for this output")
	default:
		hc.labour = labourDeclared
	}
	m.labour(hc)

	// Value added in international dollars: US$ × (local currency per US$)
	// / (local currency per international $), with the seller country's
	// market rate and PPP factor.
	// The factors are looked up even when value added is unknown, so that
	// every missing figure is reported.
	hc.vaIntl = unknown
	fx, okF := m.ref.ExchangeRate(country, hc.year)
	ppp, okP := m.ref.PPP(country, hc.year)
	if !okP {
		hc.miss("ppp", fmt.Sprintf("no PPP factor for %q in or before %d", country, hc.year))
	}
	if !okF {
		hc.miss("ppp_market_rate", fmt.Sprintf("no market exchange rate for %q in or before %d", country, hc.year))
	}
	switch {
	case !okP || !okF:
	case fx.Currency != ppp.Currency:
		hc.miss("ppp", fmt.Sprintf("PPP factor in %s and market rate in %s for %s do not match", ppp.Currency, fx.Currency, country))
	default:
		hc.use(ppp, "ppp", "", hc.year)
		hc.use(fx, "ppp_market_rate", "", hc.year)
		if hc.va.ok {
			hc.vaIntl = known(hc.va.v.Mul(fx.Amount).DivRound(ppp.Amount, divPlaces))
		}
	}
	hc.v = unknown
	switch {
	case hc.labour == labourNone:
		hc.miss("hours", "no labour declared for this output: wage adequacy and value per hour are undefined")
	case hc.labour == labourDeclared && hc.vaIntl.ok:
		hc.v = known(hc.vaIntl.v.DivRound(hc.hours, divPlaces))
	}
}

// labour computes labour income per category: basic + bonus + in-kind up to
// InKindCap of total pay (basic + bonus + in-kind). Where the seller is a
// worker cooperative or self-employed, and for self-employed categories,
// the surplus (value added less that pay) is labour income too, shared over
// those categories by hours. Capture is value added less labour income.
func (m *model) labour(hc *hopCalc) {
	h := hc.h
	hc.hours = decimal.Zero
	hc.cats = nil
	switch hc.labour {
	case labourNone:
		hc.w, hc.g = zero, zero
		hc.r = hc.va
		return
	case labourMissing:
		hc.w, hc.r, hc.g = unknown, unknown, unknown
		return
	}
	all := h.Seller.OrgForm == WorkerCooperative || h.Seller.OrgForm == SelfEmployed
	hc.cats = make([]catCalc, 0, len(h.Labour))
	declared := zero
	sharingHours := decimal.Zero
	for _, c := range h.Labour {
		what := "pay of category " + c.Name
		b := m.usd(&hc.sink, c.Basic, hc.year, h.Seller.Country, what)
		bo := m.usd(&hc.sink, c.Bonus, hc.year, h.Seller.Country, what)
		k := m.usd(&hc.sink, c.InKind, hc.year, h.Seller.Country, what)
		cc := catCalc{c: c, shares: all || c.SelfEmployed, income: unknown}
		if b.ok && bo.ok && k.ok {
			total := b.v.Add(bo.v).Add(k.v)
			counted := decimal.Min(k.v, m.p.InKindCap.Mul(total))
			cc.income = known(b.v.Add(bo.v).Add(counted))
		}
		declared = declared.add(cc.income)
		hc.hours = hc.hours.Add(c.Hours)
		if cc.shares {
			hc.sharing = true
			sharingHours = sharingHours.Add(c.Hours)
		}
		hc.cats = append(hc.cats, cc)
	}
	if hc.sharing {
		surplus := hc.va.sub(declared)
		if !surplus.ok {
			hc.miss("value_added", "the surplus shared as labour income is unknown")
		}
		for i := range hc.cats {
			if c := &hc.cats[i]; c.shares {
				if surplus.ok && c.income.ok {
					c.income = known(c.income.v.Add(surplus.v.Mul(c.c.Hours).DivRound(sharingHours, divPlaces)))
				} else {
					c.income = unknown
				}
			}
		}
	}
	hc.w = zero
	for _, c := range hc.cats {
		hc.w = hc.w.add(c.income)
	}
	hc.r = hc.va.sub(hc.w)

	// The living wage for the seller's place, per hour, in US$.
	hc.lw = unknown
	if f, match, ok := m.ref.LivingWage(h.Seller.Country, h.Seller.Region, hc.year); ok {
		hc.use(f, "living_wage", match, hc.year)
		hc.lw = m.hourly(&hc.sink, f, hc.year, h.Seller.Country)
	} else {
		hc.miss("living_wage", fmt.Sprintf("no living wage for %q (region %q) in or before %d", h.Seller.Country, h.Seller.Region, hc.year))
	}

	minRatio := math.Inf(1)
	allKnown := hc.lw.ok && hc.lw.v.IsPositive()
	hc.g = zero
	for i := range hc.cats {
		c := &hc.cats[i]
		c.lw = hc.lw
		if !c.income.ok {
			allKnown = false
			hc.g = unknown
			continue
		}
		c.hourly = known(c.income.v.DivRound(c.c.Hours, divPlaces))
		if hc.lw.ok && hc.lw.v.IsPositive() {
			r := ratio(c.hourly.v, hc.lw.v)
			c.ratio = &r
			minRatio = math.Min(minRatio, r)
			gap := hc.lw.v.Mul(c.c.Hours).Sub(c.income.v)
			hc.g = hc.g.add(known(decimal.Max(decimal.Zero, gap)))
		} else {
			hc.g = unknown
		}
	}
	if allKnown {
		a := clamp01(minRatio)
		hc.a = &a
	}
}

// equality computes a hop's exchange equality against its buyer's own
// hop(s), or the chain mean.
func (m *model) equality(hc *hopCalc) {
	hc.vb = unknown
	if len(hc.cons) > 0 {
		hc.basis = BasisBuyerHop
		num, den, ok := decimal.Zero, decimal.Zero, true
		for _, id := range hc.cons {
			d := m.hops[id]
			if !d.v.ok {
				ok = false
				break
			}
			num = num.Add(d.fva)
			den = den.Add(d.fh)
		}
		if ok && den.IsPositive() {
			hc.vb = known(num.DivRound(den, divPlaces))
		} else {
			hc.miss("buyer_value_per_hour", fmt.Sprintf("the value per hour of the buyer's hop %v is missing", hc.cons))
		}
	} else {
		hc.basis = BasisChainMean
		hc.vb = m.mean
		if !m.mean.ok {
			hc.miss("chain_mean_value_per_hour", "the chain's mean value per hour is missing (some hop's value per hour is)")
		}
	}
	hc.favours = FavoursUnknown
	if hc.v.ok && hc.vb.ok {
		e, fav := ExchangeEquality(hc.v.v, hc.vb.v)
		hc.e, hc.favours = &e, fav
	}
}

// confidence of the figures behind a hop's value added: its price and
// costs and the prices of its inputs.
func (m *model) accountsConf(hc *hopCalc) float64 {
	c := math.Min(hc.ev[GroupPrice].conf, hc.ev[GroupCosts].conf)
	for _, e := range hc.edges {
		if e.ok {
			c = math.Min(c, m.hops[e.from].ev[GroupPrice].conf)
		}
	}
	return c
}

// valueConf is the confidence of the figures behind a hop's value per hour.
func (m *model) valueConf(hc *hopCalc) float64 {
	return math.Min(m.accountsConf(hc), hc.ev[GroupLabour].conf)
}

func term(v *float64, conf, threshold float64) Term {
	if v == nil {
		return Term{Point: 0, Worst: 0, Best: 1}
	}
	t := Term{Point: *v, Best: *v}
	if conf >= threshold {
		t.Worst = *v
	}
	return t
}

// scores turns the terms into the hop's point, worst, best and headline
// scores.
func (m *model) scores(hc *hopCalc) {
	thr := m.p.WorstCaseBelow
	aConf := hc.ev[GroupLabour].conf
	if hc.sharing {
		aConf = math.Min(aConf, m.accountsConf(hc))
	}
	hc.aTerm = term(hc.a, aConf, thr)

	eConf := m.valueConf(hc)
	if hc.basis == BasisBuyerHop {
		for _, id := range hc.cons {
			eConf = math.Min(eConf, m.valueConf(m.hops[id]))
		}
	} else {
		for _, d := range m.hops {
			eConf = math.Min(eConf, m.valueConf(d))
		}
	}
	hc.eTerm = term(hc.e, eConf, thr)

	s := func(a, e float64) float64 { return m.p.Scale * math.Sqrt(a*e) }
	hc.sPoint = s(hc.aTerm.Point, hc.eTerm.Point)
	hc.sWorst = s(hc.aTerm.Worst, hc.eTerm.Worst)
	hc.sBest = s(hc.aTerm.Best, hc.eTerm.Best)
	hc.k = (hc.ev[GroupPrice].conf + hc.ev[GroupCosts].conf + hc.ev[GroupLabour].conf) / 3
	hc.score = hc.k*hc.sPoint + (1-hc.k)*hc.sWorst
}

// evaluate computes every hop of the chain with the given choice of
// disputed figures.
func evaluate(ch Chain, g *graph, ref *lookups, p Params, atts map[string][]Attestation, choice map[string]map[FigureGroup]alt) *model {
	m := &model{ch: ch, ref: ref, p: p, g: g, hops: make(map[string]*hopCalc, len(g.order))}
	for _, id := range g.order {
		h, used := apply(ch.Hops[id], choice[id])
		hc := &hopCalc{sink: sink{hop: id}, h: h, f: g.f[id], year: h.Year(), edges: g.edges[id], cons: g.consumers[id], used: used}
		m.hops[id] = hc
		m.money(hc)
		hc.fh = hc.f.Mul(hc.hours)
		if hc.v.ok {
			hc.fva = hc.f.Mul(hc.vaIntl.v)
		}
		hc.ev, hc.notes = hopEvidence(ch.Hops[id], hc.labour == labourMissing, atts[id], p)
	}

	// The chain's hours-weighted mean value per hour, Σ f·VA_intl / Σ f·L,
	// needs every hop's value per hour.
	num, den, ok := decimal.Zero, decimal.Zero, true
	for _, id := range g.order {
		hc := m.hops[id]
		if !hc.v.ok {
			ok = false
			break
		}
		num = num.Add(hc.fva)
		den = den.Add(hc.fh)
	}
	m.mean = unknown
	if ok && den.IsPositive() {
		m.mean = known(num.DivRound(den, divPlaces))
	}
	for _, id := range g.order {
		m.equality(m.hops[id])
	}
	for _, id := range g.order {
		m.scores(m.hops[id])
	}
	return m
}
