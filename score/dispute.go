package score

import (
	"maps"
	"math"
	"slices"
)

// alt is one disputing party's figures for one group of a hop.
type alt struct {
	entry  EntryRef
	price  *Money
	costs  []Money
	labour []Category
}

// alternatives collects, per hop and group, the figures disputing parties
// gave (the seller cannot dispute its own hop).
func alternatives(ch Chain, atts map[string][]Attestation) map[string]map[FigureGroup][]alt {
	out := map[string]map[FigureGroup][]alt{}
	for _, id := range sortedKeys(atts) {
		h := ch.Hops[id]
		for _, a := range atts[id] {
			if a.Kind != Disputed || a.Dispute == nil || a.Attester.ID == h.Seller.ID {
				continue
			}
			d := a.Dispute
			add := func(g FigureGroup, x alt) {
				if out[id] == nil {
					out[id] = map[FigureGroup][]alt{}
				}
				x.entry = a.Entry
				out[id][g] = append(out[id][g], x)
			}
			if d.Price != nil {
				add(GroupPrice, alt{price: d.Price})
			}
			if len(d.OffLedgerCosts) > 0 {
				add(GroupCosts, alt{costs: d.OffLedgerCosts})
			}
			if len(d.Labour) > 0 {
				add(GroupLabour, alt{labour: d.Labour})
			}
		}
	}
	return out
}

// apply substitutes the chosen disputed figures into a hop and says whose
// figures each group now holds.
func apply(h Hop, choice map[FigureGroup]alt) (Hop, map[FigureGroup]EntryRef) {
	used := map[FigureGroup]EntryRef{GroupPrice: h.Entry, GroupCosts: h.Entry, GroupLabour: h.Entry}
	for g, a := range choice {
		switch g {
		case GroupPrice:
			h.Price = *a.price
		case GroupCosts:
			h.OffLedgerCosts = a.costs
		case GroupLabour:
			h.Labour, h.NoLabour = mergeLabour(h.Labour, a.labour), false
		}
		used[g] = a.entry
	}
	return h, used
}

// resolve picks, for every disputed hop, the less favourable of the
// recorded and the disputing figures: the combination that gives the hop the
// lowest point score; among equal point scores (a hop whose living wage is
// missing scores 0 whatever its figures) the lowest best score, then the
// lowest exchange equality, then the lowest wage adequacy, so that a dispute
// is never passed over only because another figure is missing. The recorded
// figures win complete ties. Hops are settled upstream first, each given the
// choices already made above it.
//
// The evaluation of the last disputed hop's chosen combination is the
// evaluation of the whole choice, so it is returned with it (nil when
// nothing is disputed) and need not be made again.
func resolve(ch Chain, g *graph, ref *lookups, p Params, atts map[string][]Attestation) (map[string]map[FigureGroup]alt, *model) {
	alts := alternatives(ch, atts)
	choice := map[string]map[FigureGroup]alt{}
	var final *model
	for _, id := range g.order {
		ga := alts[id]
		if len(ga) == 0 {
			continue
		}
		groups := slices.Sorted(maps.Keys(ga))
		// Enumerate every combination: index 0 is the recorded figure,
		// index i > 0 the i-th disputing figure.
		idx := make([]int, len(groups))
		best, bestKey := map[FigureGroup]alt(nil), []float64{math.Inf(1)}
		var bestModel *model
		for {
			c := map[FigureGroup]alt{}
			for i, grp := range groups {
				if idx[i] > 0 {
					c[grp] = ga[grp][idx[i]-1]
				}
			}
			choice[id] = c
			m := evaluate(ch, g, ref, p, atts, choice)
			if k := unfavourable(m.hops[id]); slices.Compare(k, bestKey) < 0 {
				best, bestKey, bestModel = c, k, m
			}
			i := len(idx) - 1
			for ; i >= 0; i-- {
				if idx[i]++; idx[i] <= len(ga[groups[i]]) {
					break
				}
				idx[i] = 0
			}
			if i < 0 {
				break
			}
		}
		choice[id] = best
		final = bestModel
	}
	return choice, final
}

// mergeLabour applies a dispute's labour figures to the recorded ones,
// category by category (matched by name): a disputed category's hours
// replace the recorded hours unless they are zero (not disputed), and its
// pay replaces the recorded pay unless it gives none (every amount zero and
// no currency). Categories the dispute does not name keep their recorded
// figures; categories only the dispute names are added if they give hours.
func mergeLabour(recorded, disputed []Category) []Category {
	out := slices.Clone(recorded)
	for _, dc := range disputed {
		i := slices.IndexFunc(out, func(c Category) bool { return c.Name == dc.Name })
		if i < 0 {
			// A category only the dispute names needs its own hours.
			if dc.Hours.IsPositive() {
				out = append(out, dc)
			}
			continue
		}
		c := &out[i]
		if dc.Hours.IsPositive() {
			c.Hours = dc.Hours
		}
		if givesPay(dc) {
			c.Basic, c.Bonus, c.InKind = dc.Basic, dc.Bonus, dc.InKind
		}
		if dc.Workers > 0 {
			c.Workers = dc.Workers
		}
	}
	return out
}

func givesPay(c Category) bool {
	for _, m := range []Money{c.Basic, c.Bonus, c.InKind} {
		if !m.Amount.IsZero() || m.Currency != "" {
			return true
		}
	}
	return false
}

// unfavourable orders the readings of a hop from least to most favourable
// (see resolve): compared lexicographically, lower is less favourable.
func unfavourable(hc *hopCalc) []float64 {
	return []float64{hc.sPoint, hc.sBest, hc.eTerm.Point, hc.aTerm.Point}
}
