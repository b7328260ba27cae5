package score_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tally-ledger/tally/score"
)

// TestInvalidInput: bad input is an error that names the field (a JSON
// Pointer into the chain) and the rule.
func TestInvalidInput(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*score.Chain)
		path   string
	}{
		{"no final hop", func(c *score.Chain) { c.Final = "" }, "/final"},
		{"final hop not in chain", func(c *score.Chain) { c.Final = "x" }, "/final"},
		{"delivery not in chain", func(c *score.Chain) { c.Delivery = "x" }, "/delivery"},
		{"key and ID differ", func(c *score.Chain) { setHop(c, "m", func(h *score.Hop) { h.ID = "n" }) }, "/hops/m/id"},
		{"unknown kind", func(c *score.Chain) { setHop(c, "m", func(h *score.Hop) { h.Kind = "gift" }) }, "/hops/m/kind"},
		{"zero output", func(c *score.Chain) { setHop(c, "m", func(h *score.Hop) { h.OutputQty = decimal.Zero }) }, "/hops/m/output_qty"},
		{"no unit", func(c *score.Chain) { setHop(c, "m", func(h *score.Hop) { h.Unit = "" }) }, "/hops/m/unit"},
		{"no date", func(c *score.Chain) { setHop(c, "m", func(h *score.Hop) { h.OccurredAt = time.Time{} }) }, "/hops/m/occurred_at"},
		{"negative price", func(c *score.Chain) { setHop(c, "m", func(h *score.Hop) { h.Price.Amount = d("-1") }) }, "/hops/m/price/amount"},
		{"price currency", func(c *score.Chain) { setHop(c, "m", func(h *score.Hop) { h.Price.Currency = "usd" }) }, "/hops/m/price/currency"},
		{"cost currency", func(c *score.Chain) {
			setHop(c, "m", func(h *score.Hop) { h.OffLedgerCosts = []score.Money{{Amount: d("1")}} })
		}, "/hops/m/off_ledger_costs/0/currency"},
		{"input quantity", func(c *score.Chain) { setHop(c, "t", func(h *score.Hop) { h.Inputs[0].Qty = d("-5") }) }, "/hops/t/inputs/0/qty"},
		{"own output", func(c *score.Chain) { setHop(c, "t", func(h *score.Hop) { h.Inputs[0].FromHop = "t" }) }, "/hops/t/inputs/0/from_hop"},
		{"zero hours", func(c *score.Chain) { setHop(c, "m", func(h *score.Hop) { h.Labour[0].Hours = decimal.Zero }) }, "/hops/m/labour/0/hours"},
		{"negative bonus", func(c *score.Chain) { setHop(c, "m", func(h *score.Hop) { h.Labour[0].Bonus = xts("-3") }) }, "/hops/m/labour/0/bonus/amount"},
		{"labour and no labour", func(c *score.Chain) { setHop(c, "m", func(h *score.Hop) { h.NoLabour = true }) }, "/hops/m/labour"},
		{"seller country", func(c *score.Chain) { setHop(c, "m", func(h *score.Hop) { h.Seller.Country = "Xa" }) }, "/hops/m/seller/country"},
		{"attestation kind", func(c *score.Chain) {
			c.Attestations = []score.Attestation{{Kind: "liked", Subject: "m", Attester: trader}}
		}, "/attestations/0/kind"},
		{"attestation scope", func(c *score.Chain) {
			c.Attestations = []score.Attestation{{Kind: score.Audited, Subject: "m", Attester: trader, Scope: []score.FigureGroup{"vibes"}}}
		}, "/attestations/0/scope/0"},
		{"figures on a confirmation", func(c *score.Chain) {
			c.Attestations = []score.Attestation{{Kind: score.PriceConfirmed, Subject: "m", Attester: trader, Dispute: &score.Dispute{}}}
		}, "/attestations/0/dispute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := twoHops()
			tt.mutate(&ch)
			_, err := score.Compute(ch, handSet(t), score.FEX1)
			if !errors.Is(err, score.ErrInvalidChain) {
				t.Fatalf("err = %v, want ErrInvalidChain", err)
			}
			if !strings.Contains(err.Error(), tt.path+":") {
				t.Errorf("err = %q, want it to name %s", err, tt.path)
			}
		})
	}
}

func setHop(c *score.Chain, id string, f func(*score.Hop)) {
	h := c.Hops[id]
	h.Labour = append([]score.Category(nil), h.Labour...)
	h.Inputs = append([]score.Input(nil), h.Inputs...)
	f(&h)
	c.Hops[id] = h
}

func TestCycle(t *testing.T) {
	ch := twoHops()
	setHop(&ch, "m", func(h *score.Hop) {
		h.Inputs = []score.Input{{Lot: "bars", Qty: d("1"), Unit: "C62", FromHop: "t"}}
	})
	_, err := score.Compute(ch, handSet(t), score.FEX1)
	if !errors.Is(err, score.ErrCycle) || !strings.Contains(err.Error(), "t → m → t") {
		t.Errorf("err = %v, want ErrCycle naming t → m → t", err)
	}
}

func TestNoReference(t *testing.T) {
	if _, err := score.Compute(twoHops(), nil, score.FEX1); !errors.Is(err, score.ErrNoReference) {
		t.Errorf("err = %v, want ErrNoReference", err)
	}
}

func TestComputeHop(t *testing.T) {
	h, err := score.ComputeHop(twoHops(), "m", handSet(t), score.FEX1)
	if err != nil || h.Hop != "m" {
		t.Fatalf("ComputeHop(m) = %v, %v", h.Hop, err)
	}
	ch := twoHops()
	ch.Hops["stray"] = score.Hop{ID: "stray", Seller: miner, Kind: score.Sale, OutputLot: "s", OutputQty: d("1"), Unit: "C62",
		Price: score.USD("1"), OccurredAt: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := score.ComputeHop(ch, "stray", handSet(t), score.FEX1); !errors.Is(err, score.ErrNotInChain) {
		t.Errorf("ComputeHop(stray) err = %v, want ErrNotInChain", err)
	}
}
