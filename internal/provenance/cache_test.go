package provenance_test

import (
	"slices"
	"testing"

	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/internal/provenance"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/score"
)

// TestCachedReaderSeesAppends: a Reader that has scored a chain, and so
// cached what it read, sees what is appended afterwards: a new attestation
// about one of the chain's hops, a new delivery of the final lot and a new
// benchmark. It answers as a new Reader does, and the new entries are in
// its answers.
func TestCachedReaderSeesAppends(t *testing.T) {
	b := demoBook(t)
	r := b.reader(t)
	const audited = "sulfate-sale-zhejiang-2023-05-10"
	before, err := r.Lot(t.Context(), demo.FinalLot())
	if err != nil {
		t.Fatal(err)
	}
	scoreBefore, err := r.LotScore(t.Context(), demo.FinalLot())
	if err != nil {
		t.Fatal(err)
	}
	hopBefore, err := r.HopScore(t.Context(), audited)
	if err != nil {
		t.Fatal(err)
	}

	audit := &schemas.AttestationRecorded{
		Attester: "lualaba-supply-audits", Claim: schemas.ClaimAudited,
		Subject: schemas.Subject{Hop: audited, Digest: b.hop(t, audited).digest},
		Scope:   []string{"labour", "price"}, Standard: "test audit for the provenance tests",
	}
	oldDelivery := b.deliveryOf(t, demo.FinalLot())
	redelivery := *b.hop(t, oldDelivery).ev.(*schemas.HopRecorded)
	redelivery.ID, redelivery.OccurredAt = "phone-redelivery-bristol-2023-11-02", "2023-11-02T10:00:00Z"
	src := schemas.Source{Citation: "test figure for the provenance tests, not a published benchmark", URL: "https://example.org/test"}
	lualaba := &schemas.BenchmarkPublished{Publisher: "living-wage-research-desk", Measure: schemas.MeasureLivingWage,
		Country: "CD", Region: "CD-LU", Year: 2023, Value: "520", Currency: "USD", Period: "month", Source: src}
	added := b.add(t, sign(t, audit.Attester, audit), sign(t, redelivery.Seller, &redelivery), sign(t, lualaba.Publisher, lualaba))

	after, err := r.Lot(t.Context(), demo.FinalLot())
	if err != nil {
		t.Fatal(err)
	}
	if after.LogSize != uint64(len(b.stmts)) {
		t.Errorf("read at %d, want %d", after.LogSize, len(b.stmts))
	}
	// The audit is read; the attestation about the earlier delivery, no
	// longer in the chain, is not.
	isAudit := func(a provenance.Attestation) bool { return a.Entry.Seq == added[0].seq && a.Hop == audited }
	isOld := func(a provenance.Attestation) bool { return a.Hop == oldDelivery }
	if slices.ContainsFunc(before.Attestations, isAudit) || !slices.ContainsFunc(before.Attestations, isOld) ||
		!slices.ContainsFunc(after.Attestations, isAudit) || slices.ContainsFunc(after.Attestations, isOld) {
		t.Errorf("attestations %+v, then %+v: want the audit at entry %d after only, the earlier delivery's before only", before.Attestations, after.Attestations, added[0].seq)
	}
	if before.Delivery != oldDelivery || after.Delivery != redelivery.ID {
		t.Errorf("delivery %q, then %q: want %q, then %q", before.Delivery, after.Delivery, oldDelivery, redelivery.ID)
	}
	if len(before.Notes) != 0 || len(after.Notes) != 1 {
		t.Errorf("notes %q, then %q: want none, then the earlier delivery's", before.Notes, after.Notes)
	}
	fresh, err := b.reader(t).Lot(t.Context(), demo.FinalLot())
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "provenance of a new reader", fresh, after)

	scoreAfter, err := r.LotScore(t.Context(), demo.FinalLot())
	if err != nil {
		t.Fatal(err)
	}
	if scoreAfter.Delivery != redelivery.ID || scoreBefore.Delivery != oldDelivery {
		t.Errorf("scored with delivery %q, then %q: want %q, then %q", scoreBefore.Delivery, scoreAfter.Delivery, oldDelivery, redelivery.ID)
	}
	hs, _ := scoreAfter.Hop("ore-sale-kolwezi-2023-03-15")
	if lw := usedFor(hs.Reference, "living_wage"); lw == nil || lw.Origin != reference.LedgerEntry(added[2].seq) {
		t.Errorf("ore sale scored with living wage %+v, want the benchmark at entry %d", lw, added[2].seq)
	}
	freshScore, err := b.reader(t).LotScore(t.Context(), demo.FinalLot())
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "lot score of a new reader", freshScore, scoreAfter)

	hopAfter, err := r.HopScore(t.Context(), audited)
	if err != nil {
		t.Fatal(err)
	}
	cited := func(entries []uint64) bool { return slices.Contains(entries, added[0].seq) }
	if cited(hopEntries(hopBefore.Inputs)) || !cited(hopEntries(hopAfter.Inputs)) {
		t.Errorf("hop %s: the audit at entry %d cited before it was appended, or not after", audited, added[0].seq)
	}
	freshHop, err := b.reader(t).HopScore(t.Context(), audited)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "hop score of a new reader", freshHop, hopAfter)
}

// hopEntries are the sequence numbers of the attestations a hop score
// cites.
func hopEntries(in []score.InputRef) []uint64 {
	var out []uint64
	for _, r := range in {
		if r.Role == "attestation" {
			out = append(out, r.Entry.Seq)
		}
	}
	return out
}
