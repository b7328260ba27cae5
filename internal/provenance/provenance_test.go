package provenance_test

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/internal/provenance"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/score"
)

// TestDemoProvenance reads the demo's final lot back from the ledger: every
// hop of the demo is upstream of the phone, each input linked to the sale
// that output its lot, with every attestation and party.
func TestDemoProvenance(t *testing.T) {
	b := demoBook(t)
	p, err := b.reader(t).Lot(t.Context(), demo.FinalLot())
	if err != nil {
		t.Fatal(err)
	}
	if p.Final != demo.FinalHop() {
		t.Errorf("final %q, want %q", p.Final, demo.FinalHop())
	}
	if want := b.deliveryOf(t, demo.FinalLot()); p.Delivery != want {
		t.Errorf("delivery %q, want %q", p.Delivery, want)
	}
	if p.LogSize != uint64(len(b.stmts)) {
		t.Errorf("log size %d, want %d", p.LogSize, len(b.stmts))
	}
	if len(p.Notes) > 0 {
		t.Errorf("notes on a chain wholly on the ledger: %q", p.Notes)
	}

	producer := map[string]stmt{}
	parties := map[string]stmt{}
	var wantHops, wantAtts []string
	wantParties := map[string]bool{}
	for _, s := range b.stmts {
		switch e := s.ev.(type) {
		case *schemas.PartyRegistered:
			parties[e.ID] = s
		case *schemas.HopRecorded:
			wantHops = append(wantHops, e.ID)
			wantParties[e.Seller], wantParties[e.Buyer] = true, true
			if e.HopKind == schemas.HopSale {
				producer[e.Output.Lot] = s
			}
		case *schemas.AttestationRecorded:
			wantAtts = append(wantAtts, s.digest)
			wantParties[e.Attester] = true
		}
	}

	var gotHops []string
	for _, h := range p.Hops {
		gotHops = append(gotHops, h.ID)
		s := b.hop(t, h.ID)
		if h.Entry.Seq != s.seq || h.Entry.EntryHash != s.leaf || h.Entry.Digest != s.digest {
			t.Errorf("hop %s: entry %+v, want seq %d, entry hash %s, digest %s", h.ID, h.Entry, s.seq, s.leaf, s.digest)
		}
		wantRole := provenance.RoleUpstream
		switch h.ID {
		case p.Final:
			wantRole = provenance.RoleFinal
		case p.Delivery:
			wantRole = provenance.RoleDelivery
		}
		if h.Role != wantRole {
			t.Errorf("hop %s: role %q, want %q", h.ID, h.Role, wantRole)
		}
		rec := s.ev.(*schemas.HopRecorded)
		if diff := cmp.Diff(rec, h.Record); diff != "" {
			t.Errorf("hop %s: record differs from the signed one:\n%s", h.ID, diff)
		}
		if len(h.Inputs) != len(rec.Inputs) {
			t.Fatalf("hop %s: %d sources for %d inputs", h.ID, len(h.Inputs), len(rec.Inputs))
		}
		for i, src := range h.Inputs {
			up := producer[rec.Inputs[i].Lot]
			if src.Lot != rec.Inputs[i].Lot || src.Hop != up.ev.(*schemas.HopRecorded).ID || src.Seq == nil || *src.Seq != up.seq || src.Problem != "" {
				t.Errorf("hop %s input %d: %+v, want lot %s from hop %s (entry %d)", h.ID, i, src, rec.Inputs[i].Lot, up.ev.(*schemas.HopRecorded).ID, up.seq)
			}
		}
	}
	if diff := cmp.Diff(wantHops, gotHops); diff != "" {
		t.Errorf("hops (ledger order) differ:\n%s", diff)
	}

	var gotAtts []string
	for _, a := range p.Attestations {
		gotAtts = append(gotAtts, a.Entry.Digest)
		if want := parties[a.Record.Attester].ev.(*schemas.PartyRegistered).Role; a.Role != want {
			t.Errorf("attestation %d: role %q, want the attester's registered role %q", a.Entry.Seq, a.Role, want)
		}
		if a.Hop != a.Record.Subject.Hop {
			t.Errorf("attestation %d: hop %q, subject %q", a.Entry.Seq, a.Hop, a.Record.Subject.Hop)
		}
	}
	if diff := cmp.Diff(wantAtts, gotAtts); diff != "" {
		t.Errorf("attestations differ:\n%s", diff)
	}

	var gotParties []string
	for _, pt := range p.Parties {
		gotParties = append(gotParties, pt.ID)
		reg, registered := parties[pt.ID]
		switch {
		case pt.ID == schemas.EndConsumer:
			if pt.Registered || pt.Entry != nil || pt.Record != nil {
				t.Errorf("the end consumer reads as registered: %+v", pt)
			}
		case !registered:
			t.Errorf("party %s is not registered in the demo", pt.ID)
		case !pt.Registered || pt.Entry == nil || pt.Entry.Seq != reg.seq:
			t.Errorf("party %s: %+v, want its registration at entry %d", pt.ID, pt, reg.seq)
		}
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(wantParties)), gotParties); diff != "" {
		t.Errorf("parties differ:\n%s", diff)
	}
}

// TestDemoLotScore scores the demo's final lot from the ledger and checks
// it against the method applied to the same chain built from the signed
// statements directly.
func TestDemoLotScore(t *testing.T) {
	b := demoBook(t)
	got, err := b.reader(t).LotScore(t.Context(), demo.FinalLot())
	if err != nil {
		t.Fatal(err)
	}
	want, err := computeChain(t, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "lot score", want, got)

	if got.Method != "fex-1" || len(got.Hops) != len(b.hops()) {
		t.Errorf("method %q, %d hops; want fex-1 and all %d demo hops", got.Method, len(got.Hops), len(b.hops()))
	}
	// The regions matched their published names: Kolwezi's living wage for
	// the miners, the Real Living Wage outside London for the Bristol shop.
	for hop, region := range map[string]string{"ore-sale-kolwezi-2023-03-15": "Kolwezi (Lualaba), DR Congo", demo.FinalHop(): "United Kingdom outside London"} {
		hs, ok := got.Hop(hop)
		if !ok {
			t.Fatalf("no hop %s in the score", hop)
		}
		lw := usedFor(hs.Reference, "living_wage")
		if lw == nil || lw.Region != region || lw.Match != reference.MatchRegion || lw.Origin.IsLedger() {
			t.Errorf("hop %s: living wage %+v, want the bundled figure for %q matched by region", hop, lw, region)
		}
	}
	if hs, _ := got.Hop("ore-sale-kolwezi-2023-03-15"); hs.EqualityBasis != score.BasisBuyerHop {
		t.Errorf("the miners' sale compares with %s, want its buyer's hop", hs.EqualityBasis)
	}
}

// ledgerFigures is the bundled set with the demo's benchmarks layered on,
// built from the statements.
func ledgerFigures(t testing.TB, b *book) *reference.Set {
	t.Helper()
	set := bundled(t)
	for _, s := range b.stmts {
		bp, ok := s.ev.(*schemas.BenchmarkPublished)
		if !ok {
			continue
		}
		f, err := provenance.Figure(s.seq, bp)
		if err != nil {
			t.Fatal(err)
		}
		if set, err = set.With(f); err != nil {
			t.Fatal(err)
		}
	}
	return set
}

func usedFor(refs []score.RefUse, what string) *score.RefUse {
	for i := range refs {
		if refs[i].UsedFor == what {
			return &refs[i]
		}
	}
	return nil
}

// TestDemoHopScores scores single hops: a sale whose buyer consumed its
// lot is compared with the buyer's own hop; the final sale and the
// delivery are what the lot's score says of them.
func TestDemoHopScores(t *testing.T) {
	b := demoBook(t)
	r := b.reader(t)
	lot, err := r.LotScore(t.Context(), demo.FinalLot())
	if err != nil {
		t.Fatal(err)
	}
	ref := ledgerFigures(t, b)

	t.Run("upstream sale", func(t *testing.T) {
		const ore, trader = "ore-sale-kolwezi-2023-03-15", "ore-sale-musompo-2023-03-22"
		got, err := r.HopScore(t.Context(), ore)
		if err != nil {
			t.Fatal(err)
		}
		want, err := score.ComputeHop(b.chainOf(t, trader, "", nil), ore, ref, score.FEX1)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "hop score", want, got)
		if got.EqualityBasis != score.BasisBuyerHop || got.Method != "fex-1" {
			t.Errorf("basis %s, method %s; want buyer_hop, fex-1", got.EqualityBasis, got.Method)
		}
	})
	for _, id := range []string{demo.FinalHop(), b.deliveryOf(t, demo.FinalLot())} {
		t.Run(id, func(t *testing.T) {
			got, err := r.HopScore(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := lot.Hop(id)
			sameJSON(t, "hop score", want, got)
		})
	}
	t.Run("unknown", func(t *testing.T) {
		if _, err := r.HopScore(t.Context(), "no-such-hop"); !errors.Is(err, provenance.ErrNotFound) {
			t.Errorf("unknown hop: %v, want ErrNotFound", err)
		}
		for _, lot := range []string{"no-such-lot", ""} {
			if _, err := r.LotScore(t.Context(), lot); !errors.Is(err, provenance.ErrNotFound) {
				t.Errorf("unknown lot %q: %v, want ErrNotFound", lot, err)
			}
			if _, err := r.Lot(t.Context(), lot); !errors.Is(err, provenance.ErrNotFound) {
				t.Errorf("provenance of unknown lot %q: %v, want ErrNotFound", lot, err)
			}
		}
	})
}

// TestInputNotOnLedger: a sale that consumed a lot no sale on the ledger
// output is scored with the input left out (the share table's remainder)
// and the gap listed, never an error.
func TestInputNotOnLedger(t *testing.T) {
	b := demoBook(t)
	shop := &schemas.HopRecorded{
		ID: "refurb-sale-2023-11-02", Seller: "harbourside-electronics", Buyer: schemas.EndConsumer, HopKind: schemas.HopSale,
		Output: schemas.Output{Lot: "refurb-phone-0001", Quantity: schemas.Quantity{Amount: "1", Unit: "H87"}, Product: "refurbished smartphone"},
		Inputs: []schemas.Input{{Lot: "trade-in-lot-unrecorded", Quantity: schemas.Quantity{Amount: "1", Unit: "H87"}}},
		Price:  schemas.Money{Amount: "200.00", Currency: "GBP"}, OccurredAt: "2023-11-02T12:00:00Z",
		Location: schemas.Location{Country: "GB", Region: "GB-BST"},
		Labour: []schemas.Labour{{Category: "technician", Workers: 1, Hours: "2",
			Pay: schemas.Pay{Currency: "GBP", Basic: "30.00", Bonus: "0", InKind: "0"}}},
	}
	b.add(t, sign(t, shop.Seller, shop))
	r := b.reader(t)
	p, err := r.Lot(t.Context(), shop.Output.Lot)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hops) != 1 || len(p.Hops[0].Inputs) != 1 || p.Hops[0].Inputs[0].Hop != "" || p.Hops[0].Inputs[0].Problem == "" || len(p.Notes) == 0 {
		t.Fatalf("provenance %+v: want the one hop with its input unresolved and noted", p)
	}
	cs, err := r.LotScore(t.Context(), shop.Output.Lot)
	if err != nil {
		t.Fatal(err)
	}
	want, err := score.Compute(b.chainOf(t, shop.ID, "", nil), ledgerFigures(t, b), score.FEX1)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "lot score", want, cs)
	var missing []string
	for _, m := range cs.Missing {
		missing = append(missing, m.Figure)
	}
	if !slices.Contains(missing, "input_cost") || !slices.Contains(missing, "origin_share") {
		t.Errorf("missing %v, want input_cost and origin_share", missing)
	}
}

// computeChain scores the demo's final lot on the chain built from the
// statements, with the ledger's benchmarks layered on the bundle.
func computeChain(t testing.TB, b *book, regions map[string]string) (score.ChainScore, error) {
	t.Helper()
	return score.Compute(b.chainOf(t, demo.FinalHop(), b.deliveryOf(t, demo.FinalLot()), regions), ledgerFigures(t, b), score.FEX1)
}

// TestHopScoreInItsOwnChain: a sale whose buyer consumed its lot in a unit
// the lot cannot be measured in is not attributed to the buyer's hop; it is
// scored in the chain that ends at itself, against the chain's mean.
func TestHopScoreInItsOwnChain(t *testing.T) {
	b := demoBook(t)
	labour := []schemas.Labour{{Category: "sorter", Workers: 1, Hours: "8", Pay: schemas.Pay{Currency: "USD", Basic: "40", Bonus: "0", InKind: "0"}}}
	sale := &schemas.HopRecorded{
		ID: "scrap-sale-2023-12-01", Seller: "musompo-negociant", Buyer: "zhejiang-cobalt-refining", HopKind: schemas.HopSale,
		Output: schemas.Output{Lot: "scrap-musompo-2023-12", Quantity: schemas.Quantity{Amount: "10", Unit: "KGM"}},
		Price:  schemas.Money{Amount: "90.00", Currency: "USD"}, OccurredAt: "2023-12-01T10:00:00+02:00",
		Location: schemas.Location{Country: "CD", Region: "CD-LU"}, Labour: labour,
	}
	use := &schemas.HopRecorded{
		ID: "scrap-use-2023-12-20", Seller: "zhejiang-cobalt-refining", Buyer: "chungnam-battery-cells", HopKind: schemas.HopSale,
		Output: schemas.Output{Lot: "scrap-sulfate-2023-12", Quantity: schemas.Quantity{Amount: "1", Unit: "KGM"}},
		Inputs: []schemas.Input{{Lot: sale.Output.Lot, Quantity: schemas.Quantity{Amount: "5", Unit: "H87"}}},
		Price:  schemas.Money{Amount: "120.00", Currency: "USD"}, OccurredAt: "2023-12-20T10:00:00+08:00",
		Location: schemas.Location{Country: "CN", Region: "CN-ZJ"}, Labour: labour,
	}
	b.add(t, sign(t, sale.Seller, sale), sign(t, use.Seller, use))
	got, err := b.reader(t).HopScore(t.Context(), sale.ID)
	if err != nil {
		t.Fatal(err)
	}
	want, err := score.ComputeHop(b.chainOf(t, sale.ID, "", nil), sale.ID, ledgerFigures(t, b), score.FEX1)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "hop score", want, got)
	if got.EqualityBasis != score.BasisChainMean {
		t.Errorf("basis %s, want chain_mean", got.EqualityBasis)
	}
}
