package score

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
)

// divPlaces is the number of decimal places kept by every division.
const divPlaces = 20

// edge is one input link: hop `to` consumed part of hop `from`'s output.
type edge struct {
	index int // position in the consuming hop's Inputs
	in    Input
	from  string
	// ratio is the quantity consumed, in the producing hop's unit, over the
	// quantity that hop output.
	ratio decimal.Decimal
	ok    bool
	why   string // why the link cannot be followed, if it cannot
}

// graph is a chain's DAG with the attribution of every hop to one unit of
// the final lot.
type graph struct {
	order     []string // attributed hops, upstream first, the delivery last
	f         map[string]decimal.Decimal
	edges     map[string][]edge
	consumers map[string][]string // hops that consumed a hop's output and are its buyer's own
	missing   []Missing
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// buildGraph walks the chain from the final hop (and the delivery) through
// input links. The fraction of an upstream hop u attributed to one unit of
// the final lot is
//
//	f_final = 1 / quantity of the final lot
//	f_u     = Σ over links d←u of f_d × (quantity d consumed, in u's unit) / (quantity u output)
//
// so that along one path the ratios multiply and several paths add. A link
// whose producing hop is not in the chain, or whose units do not convert,
// cannot be followed: it is reported, and the value behind it is left out
// (it shows in the share table as "not on the ledger").
func buildGraph(ch Chain) (*graph, error) {
	g := &graph{
		f:         make(map[string]decimal.Decimal, len(ch.Hops)),
		edges:     make(map[string][]edge, len(ch.Hops)),
		consumers: make(map[string][]string, len(ch.Hops)),
	}
	roots := []string{ch.Final}
	if ch.Delivery != "" {
		roots = append(roots, ch.Delivery)
	}

	// Depth-first search for the reachable hops, refusing cycles.
	const (
		white = iota
		grey
		black
	)
	colour := make(map[string]int, len(ch.Hops))
	var path []string
	var visit func(id string) error
	visit = func(id string) error {
		colour[id] = grey
		path = append(path, id)
		for _, in := range ch.Hops[id].Inputs {
			if _, ok := ch.Hops[in.FromHop]; !ok {
				continue
			}
			switch colour[in.FromHop] {
			case grey:
				i := slices.Index(path, in.FromHop)
				return fmt.Errorf("%w: %s → %s", ErrCycle, strings.Join(path[i:], " → "), in.FromHop)
			case white:
				if err := visit(in.FromHop); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		colour[id] = black
		return nil
	}
	for _, r := range roots {
		if colour[r] == white {
			if err := visit(r); err != nil {
				return nil, err
			}
		}
	}
	reach := sortedKeys(colour)

	// The links of every reachable hop.
	for _, id := range reach {
		if n := len(ch.Hops[id].Inputs); n > 0 {
			g.edges[id] = make([]edge, 0, n)
		}
		for i, in := range ch.Hops[id].Inputs {
			e := edge{index: i, in: in, from: in.FromHop}
			up, ok := ch.Hops[in.FromHop]
			switch {
			case in.FromHop == "":
				e.why = fmt.Sprintf("lot %q names no producing hop: not on the ledger", in.Lot)
			case !ok:
				e.why = fmt.Sprintf("lot %q: producing hop %q is not on the ledger", in.Lot, in.FromHop)
			default:
				if q, conv := ConvertQuantity(in.Qty, in.Unit, up.Unit); !conv {
					e.why = fmt.Sprintf("lot %q: %s %s cannot be compared with hop %q's output in %s", in.Lot, plain(in.Qty), in.Unit, in.FromHop, up.Unit)
				} else {
					e.ratio, e.ok = q.DivRound(up.OutputQty, divPlaces), true
				}
			}
			g.edges[id] = append(g.edges[id], e)
		}
	}

	// Kahn's algorithm, upstream first, picking the smallest ID among the
	// ready hops so the order is deterministic. Walked backwards it visits
	// every hop after all the hops that consumed it, so a hop's fraction is
	// complete before it is passed on.
	pending := make(map[string]int, len(reach))
	users := make(map[string][]string, len(reach))
	for _, id := range reach {
		for _, e := range g.edges[id] {
			if _, ok := ch.Hops[e.from]; ok {
				pending[id]++
				users[e.from] = append(users[e.from], id)
			}
		}
	}
	var up []string
	ready := []string{}
	for _, id := range reach {
		if pending[id] == 0 {
			ready = append(ready, id)
		}
	}
	for len(ready) > 0 {
		slices.Sort(ready)
		id := ready[0]
		ready = ready[1:]
		up = append(up, id)
		for _, u := range users[id] {
			if pending[u]--; pending[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	down := slices.Clone(up)
	slices.Reverse(down)

	final := ch.Hops[ch.Final]
	g.f[ch.Final] = decimal.NewFromInt(1).DivRound(final.OutputQty, divPlaces)
	if ch.Delivery != "" {
		d := ch.Hops[ch.Delivery]
		if q, ok := ConvertQuantity(d.OutputQty, d.Unit, final.Unit); ok {
			g.f[ch.Delivery] = decimal.NewFromInt(1).DivRound(q, divPlaces)
		} else {
			g.missing = append(g.missing, Missing{Figure: "delivery", Hop: ch.Delivery,
				Detail: fmt.Sprintf("delivered quantity in %s cannot be compared with the final lot in %s; the delivery is left out", d.Unit, final.Unit)})
		}
	}
	for _, id := range down {
		fd := g.f[id]
		if !fd.IsPositive() {
			continue
		}
		for _, e := range g.edges[id] {
			if e.ok {
				g.f[e.from] = g.f[e.from].Add(fd.Mul(e.ratio))
			}
		}
	}

	for _, id := range up {
		if !g.f[id].IsPositive() {
			delete(g.f, id)
			if id != ch.Delivery {
				g.missing = append(g.missing, Missing{Figure: "attribution", Hop: id,
					Detail: "reached only through inputs that cannot be followed; left out of the chain"})
			}
			continue
		}
		if id != ch.Delivery {
			g.order = append(g.order, id)
		}
	}
	if _, ok := g.f[ch.Delivery]; ok && ch.Delivery != "" {
		g.order = append(g.order, ch.Delivery)
	}

	// The buyer's own hops: attributed hops that consumed a hop's output and
	// whose seller is that hop's buyer.
	for _, id := range g.order {
		seller := ch.Hops[id].Seller.ID
		for _, e := range g.edges[id] {
			if !e.ok {
				continue
			}
			if b := ch.Hops[e.from].Buyer.ID; b != "" && b == seller && !slices.Contains(g.consumers[e.from], id) {
				g.consumers[e.from] = append(g.consumers[e.from], id)
			}
		}
	}
	return g, nil
}
