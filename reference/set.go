package reference

import (
	"fmt"
	"slices"
	"strings"
)

// Set is an immutable collection of reference figures: a base (the bundled
// files, or figures given to New) with ledger figures layered on top in
// sequence order. Within the set, a figure supersedes every figure before it
// with the same kind, country, region (compared case-insensitively) and year;
// superseded figures are not returned by lookups, but rewinding with At
// brings them back.
//
// A *Set is safe for concurrent use.
type Set struct {
	base     []Figure // non-ledger figures, in origin order, keys unique
	ledger   []Figure // ledger figures, by sequence number (stable)
	currency map[string]string

	effective []Figure            // after supersession, in origin order
	byCountry map[ccKey][]Figure  // effective figures per kind and country
	byCurr    map[string][]Figure // effective exchange rates per currency
	winner    map[key]Figure      // effective figure per slot
	replaced  map[key][]Origin    // superseded origins per slot, oldest first
}

type ccKey struct {
	kind    Kind
	country string
}

// New builds a set from figures. Figures with a ledger origin are layered in
// sequence order (a later one superseding an earlier one for the same slot);
// any other figure belongs to the base, where two figures for the same slot
// are an error. Every figure must pass Validate.
func New(figs []Figure) (*Set, error) {
	return build(figs, nil)
}

func build(figs []Figure, currency map[string]string) (*Set, error) {
	s := &Set{currency: currency}
	seen := map[key]Origin{}
	for i, f := range figs {
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("figure %d (%s): %w", i, f.Origin, err)
		}
		if f.Origin.IsLedger() {
			s.ledger = append(s.ledger, f)
			continue
		}
		if prev, dup := seen[f.key()]; dup {
			return nil, fmt.Errorf("%w: %s repeats the slot of %s (%s %s %q %d)", ErrInvalidFigure, f.Origin, prev, f.Kind, f.Country, f.Region, f.Year)
		}
		seen[f.key()] = f.Origin
		s.base = append(s.base, f)
	}
	slices.SortStableFunc(s.base, func(a, b Figure) int { return cmpOrigin(a.Origin, b.Origin) })
	slices.SortStableFunc(s.ledger, func(a, b Figure) int { return cmpOrigin(a.Origin, b.Origin) })
	s.index()
	return s, nil
}

func cmpOrigin(a, b Origin) int {
	switch {
	case a.before(b):
		return -1
	case b.before(a):
		return 1
	}
	return 0
}

// With returns a new set with a figure from a benchmark.published entry
// layered on top; s is unchanged. The figure supersedes any figure for the
// same slot (kind, country, region, year) from the bundle or from an earlier
// ledger entry. Figures from the same entry apply in the order given.
func (s *Set) With(f Figure) (*Set, error) {
	if !f.Origin.IsLedger() {
		return nil, fmt.Errorf("%w: %s", ErrNotLedger, f.Origin)
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("ledger:%d: %w", f.Origin.Seq(), err)
	}
	n := &Set{base: s.base, currency: s.currency}
	// Insert after every figure with the same or a lower sequence number, so
	// that a replay which adds entries in ledger order appends.
	i := len(s.ledger)
	for i > 0 && s.ledger[i-1].Origin.Seq() > f.Origin.Seq() {
		i--
	}
	n.ledger = slices.Concat(s.ledger[:i:i], []Figure{f}, s.ledger[i:])
	n.index()
	return n, nil
}

// At returns the set as it stood at ledger position seq: the base and the
// ledger figures published at or before seq.
func (s *Set) At(seq uint64) *Set {
	n := &Set{base: s.base, currency: s.currency}
	for _, f := range s.ledger {
		if f.Origin.Seq() <= seq {
			n.ledger = append(n.ledger, f)
		}
	}
	n.index()
	return n
}

func (s *Set) index() {
	s.winner = make(map[key]Figure, len(s.base)+len(s.ledger))
	s.replaced = map[key][]Origin{}
	for _, f := range slices.Concat(s.base, s.ledger) {
		k := f.key()
		if prev, ok := s.winner[k]; ok {
			s.replaced[k] = append(s.replaced[k], prev.Origin)
		}
		s.winner[k] = f
	}
	s.effective = make([]Figure, 0, len(s.winner))
	for _, f := range s.winner {
		s.effective = append(s.effective, f)
	}
	slices.SortFunc(s.effective, func(a, b Figure) int { return cmpOrigin(a.Origin, b.Origin) })
	s.byCountry = map[ccKey][]Figure{}
	s.byCurr = map[string][]Figure{}
	for _, f := range s.effective {
		k := ccKey{f.Kind, f.Country}
		s.byCountry[k] = append(s.byCountry[k], f)
		if f.Kind == KindExchangeRate {
			s.byCurr[f.Currency] = append(s.byCurr[f.Currency], f)
		}
	}
}

// Figures returns every figure in force (superseded ones left out): bundled
// rows in file order, then ledger figures in sequence order.
func (s *Set) Figures() []Figure { return slices.Clone(s.effective) }

// Superseded returns the origins of the figures that f's slot held before
// the figure now in force, oldest first.
func (s *Set) Superseded(f Figure) []Origin { return slices.Clone(s.replaced[f.key()]) }

// Currency returns the ISO 4217 currency of a country: from countries.csv
// for the bundle, otherwise from the country's latest exchange-rate or PPP
// figure.
func (s *Set) Currency(country string) (string, bool) {
	country = strings.ToUpper(strings.TrimSpace(country))
	if c, ok := s.currency[country]; ok {
		return c, true
	}
	best := Figure{}
	for _, k := range []Kind{KindExchangeRate, KindPPP} {
		for _, f := range s.byCountry[ccKey{k, country}] {
			if best.Currency == "" || f.Year > best.Year {
				best = f
			}
		}
	}
	return best.Currency, best.Currency != ""
}
