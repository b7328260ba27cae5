// Package score implements FEX, Tally's method for scoring how equal each
// exchange along a supply chain was, in its version fex-1 and every later
// version whose parameters are in params/.
//
// The functions here are pure and deterministic: the same chain, the same
// reference figures and the same method version give the same answer, byte
// for byte. A chain is described in this package's own input model (Chain,
// Hop, Attestation); reference figures come from package reference, so that
// a score can name the bundled row or the ledger entry of every figure it
// used.
//
// Each hop is scored on two terms. Wage adequacy A is the worst-paid job
// category's hourly pay over the living wage, capped at 1. Exchange equality
// E compares the value added per hour of work, in international dollars, of
// the seller with that of the buyer's own hop (or the chain's mean, where
// the buyer has none). The hop score is 100·√(A·E). The chain is scored on
// the hours-weighted mean of A and one minus the hours-weighted Gini of
// value per hour, and gets a share table of the final price. Evidence
// grades every figure; a missing figure takes its worst case, so leaving
// data out can never raise a score. docs/methodology.md gives every formula.
package score

import (
	"fmt"

	"github.com/tally-ledger/tally/reference"
)

// Compute scores a chain and every hop in it with the given method
// parameters (usually FEX1, or Method(version)) against the reference
// figures in force (a Set at the ledger position the score is for).
//
// Bad input is an error naming the field (ErrInvalidChain, ErrCycle); a
// missing figure is not: it is listed in the answer's Missing, and the
// terms that needed it take their worst case.
func Compute(ch Chain, ref *reference.Set, p Params) (ChainScore, error) {
	if ref == nil {
		return ChainScore{}, ErrNoReference
	}
	if err := p.Validate(); err != nil {
		return ChainScore{}, err
	}
	if err := validate(ch); err != nil {
		return ChainScore{}, err
	}
	g, err := buildGraph(ch)
	if err != nil {
		return ChainScore{}, err
	}
	atts := map[string][]Attestation{}
	for _, a := range ch.Attestations {
		if _, ok := g.f[a.Subject]; ok {
			atts[a.Subject] = append(atts[a.Subject], a)
		}
	}
	refs := newLookups(ref)
	choice, m := resolve(ch, g, refs, p, atts)
	if m == nil {
		m = evaluate(ch, g, refs, p, atts, choice)
	}
	return m.chainScore(), nil
}

// ComputeHop scores one hop of a chain: the hop's entry in Compute's answer.
func ComputeHop(ch Chain, hop string, ref *reference.Set, p Params) (HopScore, error) {
	cs, err := Compute(ch, ref, p)
	if err != nil {
		return HopScore{}, err
	}
	hs, ok := cs.Hop(hop)
	if !ok {
		return HopScore{}, fmt.Errorf("%w: %q is not attributed to final hop %q", ErrNotInChain, hop, ch.Final)
	}
	return hs, nil
}
