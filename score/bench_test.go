package score_test

import (
	"math/rand/v2"
	"testing"

	"github.com/tally-ledger/tally/score"
	"github.com/tally-ledger/tally/score/scoretest"
)

// BenchmarkCompute12Hops scores a 12-hop chain (a random DAG with several
// paths, confirmations and audits, mixed currencies and units) against the
// bundled reference figures.
func BenchmarkCompute12Hops(b *testing.B) {
	ref := bundledSet(b)
	ch := scoretest.RandomChain(rand.New(rand.NewPCG(12, 12)), ref, scoretest.RandomOptions{Hops: 12, Attestations: true})
	if len(ch.Hops) != 12 {
		b.Fatalf("%d hops", len(ch.Hops))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := score.Compute(ch, ref, score.FEX1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompute12HopsDisputed is the same chain with a disputed price on
// a middle hop, which makes the method evaluate the chain once per
// candidate figure.
func BenchmarkCompute12HopsDisputed(b *testing.B) {
	ref := bundledSet(b)
	ch := scoretest.RandomChain(rand.New(rand.NewPCG(12, 12)), ref, scoretest.RandomOptions{Hops: 12, Attestations: true})
	h := ch.Hops["hop-05"]
	p := h.Price
	p.Amount = p.Amount.Mul(d("0.8"))
	ch.Attestations = append(ch.Attestations, score.Attestation{Entry: score.EntryRef{Seq: 1}, Kind: score.Disputed,
		Attester: h.Buyer, Subject: "hop-05", Dispute: &score.Dispute{Price: &p}})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := score.Compute(ch, ref, score.FEX1); err != nil {
			b.Fatal(err)
		}
	}
}
