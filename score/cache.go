package score

import "github.com/tally-ledger/tally/reference"

// lookups memoises the reference look-ups of one Compute call: every hop
// asks for the same few rates and factors, and a dispute evaluates the
// chain once per candidate figure. A Set does not change, so a look-up
// gives the same answer every time it is asked.
type lookups struct {
	ref  *reference.Set
	nat  map[natKey]natHit
	curr map[natKey]natHit
	lw   map[lwKey]lwHit
}

type natKey struct {
	kind reference.Kind
	key  string
	year int
}

type natHit struct {
	f  reference.Figure
	ok bool
}

type lwKey struct {
	country, region string
	year            int
}

type lwHit struct {
	f  reference.Figure
	m  reference.Match
	ok bool
}

func newLookups(ref *reference.Set) *lookups {
	return &lookups{ref: ref, nat: map[natKey]natHit{}, curr: map[natKey]natHit{}, lw: map[lwKey]lwHit{}}
}

func (l *lookups) national(kind reference.Kind, country string, year int) (reference.Figure, bool) {
	k := natKey{kind, country, year}
	if h, ok := l.nat[k]; ok {
		return h.f, h.ok
	}
	var h natHit
	switch kind {
	case reference.KindExchangeRate:
		h.f, h.ok = l.ref.ExchangeRate(country, year)
	case reference.KindPPP:
		h.f, h.ok = l.ref.PPP(country, year)
	case reference.KindAverageEarnings:
		h.f, h.ok = l.ref.AverageWage(country, year)
	default:
		panic("score: no national look-up for " + string(kind))
	}
	l.nat[k] = h
	return h.f, h.ok
}

// ExchangeRate is reference.Set.ExchangeRate.
func (l *lookups) ExchangeRate(country string, year int) (reference.Figure, bool) {
	return l.national(reference.KindExchangeRate, country, year)
}

// PPP is reference.Set.PPP.
func (l *lookups) PPP(country string, year int) (reference.Figure, bool) {
	return l.national(reference.KindPPP, country, year)
}

// AverageWage is reference.Set.AverageWage.
func (l *lookups) AverageWage(country string, year int) (reference.Figure, bool) {
	return l.national(reference.KindAverageEarnings, country, year)
}

// ExchangeRateFor is reference.Set.ExchangeRateFor.
func (l *lookups) ExchangeRateFor(currency string, year int) (reference.Figure, bool) {
	k := natKey{reference.KindExchangeRate, currency, year}
	if h, ok := l.curr[k]; ok {
		return h.f, h.ok
	}
	var h natHit
	h.f, h.ok = l.ref.ExchangeRateFor(currency, year)
	l.curr[k] = h
	return h.f, h.ok
}

// LivingWage is reference.Set.LivingWage.
func (l *lookups) LivingWage(country, region string, year int) (reference.Figure, reference.Match, bool) {
	k := lwKey{country, region, year}
	if h, ok := l.lw[k]; ok {
		return h.f, h.m, h.ok
	}
	var h lwHit
	h.f, h.m, h.ok = l.ref.LivingWage(country, region, year)
	l.lw[k] = h
	return h.f, h.m, h.ok
}
