package score_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/tally-ledger/tally/score"
	"github.com/tally-ledger/tally/score/scoretest"
)

// FuzzCompute scores random chains drawn from fuzzed seeds: any well-formed
// chain must score without error, with every ratio in range.
func FuzzCompute(f *testing.F) {
	f.Add(uint64(1), uint64(2), uint8(3))
	f.Add(uint64(42), uint64(0), uint8(12))
	ref := bundledSet(f)
	f.Fuzz(func(t *testing.T, a, b uint64, hops uint8) {
		r := rand.New(rand.NewPCG(a, b))
		ch := scoretest.RandomChain(r, ref, scoretest.RandomOptions{
			Hops: 1 + int(hops%16), Delivery: a%3 == 0, Attestations: b%2 == 0, AuditAll: a%5 == 0,
		})
		cs, err := score.Compute(ch, ref, score.FEX1)
		if err != nil {
			t.Fatalf("Compute: %v", err)
		}
		in := func(name string, x, lo, hi float64) {
			if !(x >= lo && x <= hi) {
				t.Errorf("%s = %v outside [%v, %v]", name, x, lo, hi)
			}
		}
		in("score", cs.Score, 0, 100)
		in("confidence", cs.Confidence, 0, 1)
		if !(cs.Worst <= cs.Score+1e-9 && cs.Score <= cs.Point+1e-9 && cs.Point <= cs.Best+1e-9) {
			t.Errorf("chain: worst %v ≤ score %v ≤ point %v ≤ best %v does not hold", cs.Worst, cs.Score, cs.Point, cs.Best)
		}
		for _, h := range cs.Hops {
			in(h.Hop+" score", h.Score, 0, 100)
			if !(h.Worst <= h.Score+1e-9 && h.Score <= h.Point+1e-9 && h.Point <= h.Best+1e-9) {
				t.Errorf("%s: worst %v ≤ score %v ≤ point %v ≤ best %v does not hold", h.Hop, h.Worst, h.Score, h.Point, h.Best)
			}
		}
		if _, err := json.Marshal(cs); err != nil {
			t.Errorf("Marshal: %v", err)
		}
	})
}

// FuzzMoneyJSON: whatever decodes as Money encodes and decodes back to the
// same amount and currency.
func FuzzMoneyJSON(f *testing.F) {
	f.Add([]byte(`{"amount":"12.50","currency":"USD"}`))
	f.Add([]byte(`{"amount":"-0.000001","currency":"XTS"}`))
	f.Add([]byte(`{"amount":"1e3","currency":"EUR"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m score.Money
		if err := json.Unmarshal(b, &m); err != nil {
			return
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal(%v): %v", m, err)
		}
		var back score.Money
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", out, err)
		}
		if !back.Amount.Equal(m.Amount) || back.Currency != m.Currency {
			t.Errorf("%s → %s → %v", b, out, back)
		}
	})
}
