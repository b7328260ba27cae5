package provenance

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/score"
)

// Method is the method version the Reader scores with.
const Method = score.CurrentMethod

// LotScore scores the chain that ends at a lot, per unit of it, with the
// current method (score.Method(Method)) and the reference figures in force
// at the ledger's head. ErrNotFound if no sale output the lot. A figure
// that is missing is no error: the score lists it and takes its worst case.
func (r *Reader) LotScore(ctx context.Context, lot string) (score.ChainScore, error) {
	v := r.view(ctx)
	g, err := v.lotDAG(lot)
	if err != nil {
		return score.ChainScore{}, err
	}
	return v.compute(g)
}

// HopScore scores one hop. Exchange equality compares a hop with its
// buyer's own hop that consumed its output, so a sale whose buyer consumed
// the lot in a hop of its own is scored in the chain that ends at that hop
// (the first such hop, if there are several); a sale whose lot its buyer
// has not consumed on the ledger (an end consumer's, say) is scored in the
// chain that ends at its own lot, with its delivery; a service is scored as
// the delivery of the lot it served. Money is per unit of the chain's final
// lot, which the answer's fraction relates to the hop. ErrNotFound if no
// hop has the id.
func (r *Reader) HopScore(ctx context.Context, hop string) (score.HopScore, error) {
	v := r.view(ctx)
	h, err := v.hopByID(hop)
	if err != nil {
		return score.HopScore{}, err
	}
	var final, delivery *node
	switch h.hop.HopKind {
	case schemas.HopService:
		final, err = v.producer(h.hop.Output.Lot, h.ref.Seq)
		delivery = h
		if final == nil && err == nil {
			return score.HopScore{}, fmt.Errorf("%w: service hop %q serves lot %q, which no sale before it output", ErrCorrupt, hop, h.hop.Output.Lot)
		}
	default:
		final, err = v.buyerHop(h)
		if final == nil && err == nil {
			final = h
			delivery, err = v.deliveryAfter(h)
		}
	}
	if err != nil {
		return score.HopScore{}, err
	}
	g, err := v.walk(final, delivery)
	if err != nil {
		return score.HopScore{}, err
	}
	hs, err := v.computeHop(g, hop)
	if errors.Is(err, score.ErrNotInChain) && final != h && h.hop.HopKind == schemas.HopSale {
		// The buyer's hop consumed the lot in a unit it cannot be
		// attributed in: score the hop in its own chain instead.
		if delivery, err = v.deliveryAfter(h); err != nil {
			return score.HopScore{}, err
		}
		if g, err = v.walk(h, delivery); err != nil {
			return score.HopScore{}, err
		}
		hs, err = v.computeHop(g, hop)
	}
	return hs, err
}

// deliveryAfter is the delivery of the lot a sale output, if it was
// recorded after the sale.
func (v *view) deliveryAfter(h *node) (*node, error) {
	_, delivery, _, err := v.lotEnds(h.hop.Output.Lot)
	if err != nil || delivery == nil || delivery.ref.Seq < h.ref.Seq {
		return nil, err
	}
	return delivery, nil
}

// buyerHop finds the first hop of h's buyer that consumed h's output lot.
func (v *view) buyerHop(h *node) (*node, error) {
	if h.hop.Buyer == schemas.EndConsumer {
		return nil, nil
	}
	lot := h.hop.Output.Lot
	var found *node
	err := v.each(schemas.TermLot, lot, h.ref.Seq+1, indexPage, func(seq uint64) (bool, error) {
		n, err := v.hopAt(seq)
		if err != nil || n == nil {
			return false, err
		}
		if n.hop.Seller == h.hop.Buyer && n.hop.Output.Lot != lot {
			for _, in := range n.hop.Inputs {
				if in.Lot == lot {
					found = n
					return true, nil
				}
			}
		}
		delete(v.nodes, seq)
		return false, nil
	})
	return found, err
}

func (v *view) compute(g *dag) (score.ChainScore, error) {
	ch, ref, p, err := v.inputs(g)
	if err != nil {
		return score.ChainScore{}, err
	}
	return score.Compute(ch, ref, p)
}

func (v *view) computeHop(g *dag, hop string) (score.HopScore, error) {
	ch, ref, p, err := v.inputs(g)
	if err != nil {
		return score.HopScore{}, err
	}
	return score.ComputeHop(ch, hop, ref, p)
}

// inputs are what the method scores a chain with: the chain, the reference
// figures in force at the view's position and the method's parameters.
func (v *view) inputs(g *dag) (score.Chain, *reference.Set, score.Params, error) {
	ref, err := v.reference()
	if err != nil {
		return score.Chain{}, nil, score.Params{}, err
	}
	p, err := score.Method(Method)
	if err != nil {
		return score.Chain{}, nil, score.Params{}, err
	}
	ch, err := g.chain(ref)
	return ch, ref, p, err
}

// chain builds the method's input.
func (g *dag) chain(ref *reference.Set) (score.Chain, error) {
	ch := score.Chain{Hops: make(map[string]score.Hop, len(g.nodes)), Final: g.final.hop.ID}
	if g.delivery != nil {
		ch.Delivery = g.delivery.hop.ID
	}
	for _, n := range g.nodes {
		h, err := g.hop(n, ref)
		if err != nil {
			return score.Chain{}, fmt.Errorf("%w: hop %q (entry %d)%v", ErrCorrupt, n.hop.ID, n.ref.Seq, err)
		}
		ch.Hops[h.ID] = h
	}
	for _, a := range g.atts {
		sa, ok, err := g.attestation(a, ref)
		if err != nil {
			return score.Chain{}, fmt.Errorf("%w: attestation (entry %d)%v", ErrCorrupt, a.ref.Seq, err)
		}
		if ok {
			ch.Attestations = append(ch.Attestations, sa)
		}
	}
	return ch, nil
}

// partyOf is a party as the method sees it, in a hop of year; the region
// is matched against the reference figures (partyRegion).
func (g *dag) partyOf(id string, ref *reference.Set, year int) score.Party {
	p := score.Party{ID: id}
	if reg := g.parties[id].reg; reg != nil {
		p.Country, p.OrgForm = reg.Country, score.OrgForm(reg.OrgForm)
		p.Region = partyRegion(ref, reg.Country, reg.Region, year)
	}
	return p
}

func money(m schemas.Money, path string) (score.Money, error) {
	v, err := m.Value()
	if err != nil {
		return score.Money{}, fmt.Errorf(": %s: %v", path, err)
	}
	return score.Money{Amount: v, Currency: m.Currency}, nil
}

func quantity(d schemas.Decimal, path string) (decimal.Decimal, error) {
	v, err := d.Value()
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf(": %s: %v", path, err)
	}
	return v, nil
}

// hop is a hop record as the method's input.
func (g *dag) hop(n *node, ref *reference.Set) (score.Hop, error) {
	r := n.hop
	at, err := r.OccurredAt.Time()
	if err != nil {
		return score.Hop{}, fmt.Errorf(": /occurred_at: %v", err)
	}
	h := score.Hop{
		ID: r.ID, Entry: score.EntryRef{Seq: n.ref.Seq, Hash: n.ref.EntryHash},
		Seller: g.partyOf(r.Seller, ref, at.Year()), Buyer: g.partyOf(r.Buyer, ref, at.Year()),
		Kind: score.HopKind(r.HopKind), OutputLot: r.Output.Lot, Unit: r.Output.Quantity.Unit,
		OccurredAt: at, Location: r.Location.Country,
		OffLedgerCosts: []score.Money{},
	}
	if h.OutputQty, err = quantity(r.Output.Quantity.Amount, "/output/quantity/amount"); err != nil {
		return h, err
	}
	if h.Price, err = money(r.Price, "/price"); err != nil {
		return h, err
	}
	for i, in := range r.Inputs {
		q, err := quantity(in.Quantity.Amount, fmt.Sprintf("/inputs/%d/quantity/amount", i))
		if err != nil {
			return h, err
		}
		from := ""
		if i < len(n.sources) {
			from = n.sources[i].Hop
		}
		h.Inputs = append(h.Inputs, score.Input{Lot: in.Lot, Qty: q, Unit: in.Quantity.Unit, FromHop: from})
	}
	for i, c := range r.Costs {
		m, err := money(c.Amount, fmt.Sprintf("/costs/%d/amount", i))
		if err != nil {
			return h, err
		}
		h.OffLedgerCosts = append(h.OffLedgerCosts, m)
	}
	for i, l := range r.Labour {
		c, err := category(l.Category, l.Workers, l.Hours, &l.Pay, fmt.Sprintf("/labour/%d", i))
		if err != nil {
			return h, err
		}
		c.SelfEmployed = l.SelfEmployed
		h.Labour = append(h.Labour, c)
	}
	return h, nil
}

// category is a job category as the method's input. A dispute may give
// hours only (hours "") or pay only (pay nil); what it leaves out stays
// zero, which the method reads as not disputed.
func category(name string, workers int, hours schemas.Decimal, pay *schemas.Pay, path string) (score.Category, error) {
	c := score.Category{Name: name, Workers: workers}
	var err error
	if hours != "" {
		if c.Hours, err = quantity(hours, path+"/hours"); err != nil {
			return c, err
		}
	}
	if pay == nil {
		return c, nil
	}
	for _, x := range []struct {
		d    schemas.Decimal
		to   *score.Money
		name string
	}{{pay.Basic, &c.Basic, "basic"}, {pay.Bonus, &c.Bonus, "bonus"}, {pay.InKind, &c.InKind, "in_kind"}} {
		if *x.to, err = money(schemas.Money{Amount: x.d, Currency: pay.Currency}, path+"/pay/"+x.name); err != nil {
			return c, err
		}
	}
	return c, nil
}

// auditGroups maps an audit's scope onto the method's figure groups; the
// vocabulary's quantities and inputs grade no figure group of the method.
var auditGroups = map[string]score.FigureGroup{
	"price":  score.GroupPrice,
	"costs":  score.GroupCosts,
	"labour": score.GroupLabour,
}

// attestation is an attestation as the method's input; ok is false for
// one that grades no figure of the method (an audit of quantities or inputs
// only), which is left out.
func (g *dag) attestation(a attestation, ref *reference.Set) (score.Attestation, bool, error) {
	r := a.att
	n := g.byID[r.Subject.Hop]
	if n == nil || n.ref.Digest != r.Subject.Digest {
		return score.Attestation{}, false, nil
	}
	year := 0
	if t, err := n.hop.OccurredAt.Time(); err == nil {
		year = t.Year()
	}
	out := score.Attestation{
		Entry: score.EntryRef{Seq: a.ref.Seq, Hash: a.ref.EntryHash},
		Kind:  score.AttestationKind(r.Claim), Subject: r.Subject.Hop,
	}
	out.Attester = g.partyOf(r.Attester, ref, year)
	if reg := g.parties[r.Attester].reg; reg != nil {
		out.Role = score.Role(reg.Role)
	}
	if r.Claim == schemas.ClaimAudited {
		for _, s := range r.Scope {
			if grp, ok := auditGroups[s]; ok {
				out.Scope = append(out.Scope, grp)
			}
		}
		if len(out.Scope) == 0 {
			return out, false, nil
		}
	}
	if r.Claim == schemas.ClaimDisputed && r.Figures != nil {
		d := &score.Dispute{}
		if r.Figures.Price != nil {
			m, err := money(*r.Figures.Price, "/figures/price")
			if err != nil {
				return out, false, err
			}
			d.Price = &m
		}
		for i, l := range r.Figures.Labour {
			c, err := category(l.Category, 0, l.Hours, l.Pay, fmt.Sprintf("/figures/labour/%d", i))
			if err != nil {
				return out, false, err
			}
			d.Labour = append(d.Labour, c)
		}
		out.Dispute = d
	}
	return out, true, nil
}
