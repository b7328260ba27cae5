package demo_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/schemas"
)

// endConsumer is the only buyer the demo may name without registering it:
// an anonymous consumer, off the ledger.
const endConsumer = "consumer"

// unitBase converts a quantity to a base unit within its dimension, so
// that units can be compared: mass to kilograms, counts to items.
var unitBase = map[string]struct {
	dim    string
	factor decimal.Decimal
}{
	"KGM": {"mass", decimal.NewFromInt(1)},
	"GRM": {"mass", decimal.New(1, -3)},
	"MGM": {"mass", decimal.New(1, -6)},
	"TNE": {"mass", decimal.NewFromInt(1000)},
	"C62": {"count", decimal.NewFromInt(1)},
	"H87": {"count", decimal.NewFromInt(1)},
}

// base returns a quantity in its dimension's base unit.
func base(t *testing.T, q schemas.Quantity) (string, decimal.Decimal) {
	t.Helper()
	u, ok := unitBase[q.Unit]
	if !ok {
		t.Fatalf("unit %s is not one the demo should use", q.Unit)
	}
	v, err := q.Value()
	if err != nil {
		t.Fatal(err)
	}
	return u.dim, v.Mul(u.factor)
}

func mustTime(t *testing.T, ts schemas.Timestamp) time.Time {
	t.Helper()
	tm, err := ts.Time()
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// lotState is what the chain knows about a lot after the hop that sold it.
type lotState struct {
	hop      *schemas.HopRecorded
	dim      string
	qty      decimal.Decimal // in base units
	consumed decimal.Decimal
	at       time.Time
}

// TestChainConsistency checks the demo against the rules a ledger admits a
// chain by, in submission order: who may say what, and that goods flow
// along the chain without being spent twice.
func TestChainConsistency(t *testing.T) {
	sts := statements(t)
	parties := map[string]*schemas.PartyRegistered{}
	hopsByID := map[string]*schemas.HopRecorded{}
	hopDigest := map[string]string{}
	lots := map[string]*lotState{}

	for i, s := range sts {
		where := fmt.Sprintf("statement %d (%s by %s)", i, s.kind, s.signer)
		switch e := s.ev.(type) {
		case *schemas.PartyRegistered:
			if _, dup := parties[e.ID]; dup {
				t.Errorf("%s: party %s registered twice", where, e.ID)
			}
			parties[e.ID] = e

		case *schemas.HopRecorded:
			if _, dup := hopsByID[e.ID]; dup {
				t.Errorf("%s: hop id %s used twice", where, e.ID)
			}
			hopsByID[e.ID], hopDigest[e.ID] = e, s.digest
			if parties[e.Seller] == nil {
				t.Errorf("%s: seller %s is not registered before the hop", where, e.Seller)
			}
			if parties[e.Buyer] == nil && e.Buyer != endConsumer {
				t.Errorf("%s: buyer %s is neither registered nor the end consumer", where, e.Buyer)
			}
			at := mustTime(t, e.OccurredAt)
			if at.Year() != 2023 {
				t.Errorf("%s: occurred_at %s is not in 2023 (the reference year of the demo)", where, e.OccurredAt)
			}
			for j, in := range e.Inputs {
				lot := lots[in.Lot]
				if lot == nil {
					t.Errorf("%s: input %d: lot %s was not sold by an earlier hop", where, j, in.Lot)
					continue
				}
				if lot.hop.Buyer != e.Seller {
					t.Errorf("%s: input %d: lot %s was bought by %s, not by the seller %s", where, j, in.Lot, lot.hop.Buyer, e.Seller)
				}
				dim, q := base(t, in.Quantity)
				if dim != lot.dim {
					t.Errorf("%s: input %d: %s of lot %s, which is measured in %s", where, j, in.Quantity.Unit, in.Lot, lot.dim)
				}
				lot.consumed = lot.consumed.Add(q)
				if lot.consumed.GreaterThan(lot.qty) {
					t.Errorf("%s: input %d: lot %s is consumed %s times in all, more than its %s", where, j, in.Lot, lot.consumed, lot.qty)
				}
				if !at.After(lot.at) {
					t.Errorf("%s: occurs at %s, not after the sale of its input %s at %s", where, e.OccurredAt, in.Lot, lot.hop.OccurredAt)
				}
			}
			dim, q := base(t, e.Output.Quantity)
			switch e.HopKind {
			case schemas.HopSale:
				if lots[e.Output.Lot] != nil {
					t.Errorf("%s: sells lot %s, which an earlier hop already output", where, e.Output.Lot)
					continue
				}
				lots[e.Output.Lot] = &lotState{hop: e, dim: dim, qty: q, at: at}
			case schemas.HopService:
				lot := lots[e.Output.Lot]
				if lot == nil {
					t.Errorf("%s: serves lot %s, which no earlier hop sold", where, e.Output.Lot)
					continue
				}
				if e.Buyer != lot.hop.Buyer {
					t.Errorf("%s: service bought by %s, but lot %s belongs to %s", where, e.Buyer, e.Output.Lot, lot.hop.Buyer)
				}
				if dim != lot.dim || q.GreaterThan(lot.qty) {
					t.Errorf("%s: serves %s %s of lot %s, which holds %s %s", where, e.Output.Quantity.Amount, e.Output.Quantity.Unit, e.Output.Lot, lot.qty, lot.dim)
				}
				if len(e.Inputs) > 0 {
					t.Errorf("%s: a service consumes no lots, got %d inputs", where, len(e.Inputs))
				}
				if !at.After(lot.at) {
					t.Errorf("%s: service at %s, not after the sale of lot %s at %s", where, e.OccurredAt, e.Output.Lot, lot.hop.OccurredAt)
				}
			}

		case *schemas.AttestationRecorded:
			hop := hopsByID[e.Subject.Hop]
			if hop == nil {
				t.Errorf("%s: subject hop %s is not recorded before the attestation", where, e.Subject.Hop)
				continue
			}
			if e.Subject.Digest != hopDigest[e.Subject.Hop] {
				t.Errorf("%s: subject digest %s is not the digest %s of hop %s", where, e.Subject.Digest, hopDigest[e.Subject.Hop], e.Subject.Hop)
			}
			att := parties[e.Attester]
			if att == nil {
				t.Errorf("%s: attester is not registered", where)
				continue
			}
			if e.Attester == hop.Seller {
				t.Errorf("%s: the seller attests its own hop", where)
			}
			switch e.Claim {
			case schemas.ClaimPriceConfirmed:
				if e.Attester != hop.Buyer {
					t.Errorf("%s: price confirmed by %s, not by the buyer %s", where, e.Attester, hop.Buyer)
				}
			case schemas.ClaimWageConfirmed:
				if att.Role != "union" && att.Role != "workers_collective" {
					t.Errorf("%s: wage confirmed by a %s, not a union or workers' collective", where, att.Role)
				}
			case schemas.ClaimAudited:
				if att.Role != "auditor" {
					t.Errorf("%s: audited by a %s, not an auditor", where, att.Role)
				}
			case schemas.ClaimDisputed:
				for _, l := range e.Figures.Labour {
					if !slices.ContainsFunc(hop.Labour, func(h schemas.Labour) bool { return h.Category == l.Category }) {
						t.Errorf("%s: disputes category %s, which hop %s does not declare", where, l.Category, hop.ID)
					}
				}
			}

		case *schemas.BenchmarkPublished:
			p := parties[e.Publisher]
			if p == nil || (p.Role != "researcher" && p.Role != "operator") {
				t.Errorf("%s: a benchmark must be published by a registered researcher or operator", where)
			}
		}
	}
}

// TestChainCoverage checks that the demo shows what it is for: every
// claim, a service hop, a worker cooperative at each end.
func TestChainCoverage(t *testing.T) {
	sts := statements(t)
	claims := map[string]int{}
	kinds := map[string]int{}
	var coops []string
	for _, s := range sts {
		kinds[s.kind]++
		switch e := s.ev.(type) {
		case *schemas.AttestationRecorded:
			claims[e.Claim]++
		case *schemas.PartyRegistered:
			if e.OrgForm == "worker_cooperative" {
				coops = append(coops, e.Role)
			}
		}
	}
	for _, c := range schemas.Claims {
		if claims[c] == 0 {
			t.Errorf("no %s attestation", c)
		}
	}
	if kinds[schemas.KindBenchmarkPublished] == 0 {
		t.Error("no benchmark")
	}
	if diff := slices.Compare(coops, []string{"miner", "courier"}); diff != 0 {
		t.Errorf("worker cooperatives have roles %v, want the miners and the couriers", coops)
	}
	hs := hops(sts)
	if first := hs[0]; len(first.Inputs) != 0 || first.Location.Region != "CD-LU" {
		t.Errorf("the first hop %s should be the origin, in Lualaba", first.ID)
	}
	if last := hs[len(hs)-1]; last.HopKind != schemas.HopService || last.Service != "delivery" {
		t.Errorf("the last hop %s should be the courier's delivery service", last.ID)
	}
}

// TestFinalLot checks that FinalLot is the one phone of the final sale, that
// nothing consumes it and that the courier's delivery serves it.
func TestFinalLot(t *testing.T) {
	var sale, delivery *schemas.HopRecorded
	for _, h := range hops(statements(t)) {
		for _, in := range h.Inputs {
			if in.Lot == demo.FinalLot() {
				t.Errorf("hop %s consumes the final lot", h.ID)
			}
		}
		if h.Output.Lot != demo.FinalLot() {
			continue
		}
		switch h.HopKind {
		case schemas.HopSale:
			sale = h
		case schemas.HopService:
			delivery = h
		}
	}
	if sale == nil || sale.ID != demo.FinalHop() {
		t.Fatalf("the final lot %s is not sold by the final hop %s", demo.FinalLot(), demo.FinalHop())
	}
	if q := sale.Output.Quantity; q.Amount != "1" || (q.Unit != "H87" && q.Unit != "C62") {
		t.Errorf("the final lot is %s %s, want one piece", q.Amount, q.Unit)
	}
	if delivery == nil || delivery.Service != "delivery" {
		t.Errorf("no delivery service on the final lot")
	}
}

// TestValueAdded checks that the demo is an economy that adds up: at every
// hop the price covers the attributed on-ledger inputs and the off-ledger
// costs (value added is positive), and the wages paid do not exceed the
// value added (nobody pays out more than it makes). Money is converted to
// US$ at the 2023 market rates of the reference data, as FEX-1 does.
func TestValueAdded(t *testing.T) {
	ref, err := reference.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	usd := func(amount schemas.Decimal, currency string) decimal.Decimal {
		t.Helper()
		v, err := amount.Value()
		if err != nil {
			t.Fatal(err)
		}
		if currency == "USD" {
			return v
		}
		fx, ok := ref.ExchangeRateFor(currency, 2023)
		if !ok {
			t.Fatalf("no 2023 exchange rate for %s in the reference data", currency)
		}
		return v.Div(fx.Amount)
	}
	type sold struct {
		priceUSD, qty decimal.Decimal
	}
	soldLots := map[string]sold{}
	for _, h := range hops(statements(t)) {
		t.Run(h.ID, func(t *testing.T) {
			price := usd(h.Price.Amount, h.Price.Currency)
			inputs := decimal.Zero
			for _, in := range h.Inputs {
				s := soldLots[in.Lot]
				_, q := base(t, in.Quantity)
				inputs = inputs.Add(s.priceUSD.Mul(q).Div(s.qty))
			}
			costs := decimal.Zero
			for _, c := range h.Costs {
				costs = costs.Add(usd(c.Amount.Amount, c.Amount.Currency))
			}
			va := price.Sub(inputs).Sub(costs)
			pay := decimal.Zero
			for _, l := range h.Labour {
				total, err := l.Pay.Total()
				if err != nil {
					t.Fatal(err)
				}
				pay = pay.Add(usd(schemas.Decimal(total.String()), l.Pay.Currency))
			}
			if !va.IsPositive() {
				t.Errorf("value added %s USD = price %s − inputs %s − costs %s is not positive", va.StringFixed(2), price.StringFixed(2), inputs.StringFixed(2), costs.StringFixed(2))
			}
			if pay.GreaterThan(va) {
				t.Errorf("wages %s USD exceed the value added %s USD", pay.StringFixed(2), va.StringFixed(2))
			}
			if h.HopKind == schemas.HopSale {
				_, q := base(t, h.Output.Quantity)
				soldLots[h.Output.Lot] = sold{priceUSD: price, qty: q}
			}
		})
	}
}
