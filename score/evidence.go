package score

import (
	"fmt"
	"slices"
)

// evidence is the evidence level of one figure group of a hop.
type evidence struct {
	level   Evidence
	conf    float64
	entries []EntryRef
}

// disputedGroups are the groups a dispute covers: its scope, plus every
// group it gives figures for; a dispute that names nothing covers every
// group.
func disputedGroups(a Attestation) []FigureGroup {
	gs := slices.Clone(a.Scope)
	if d := a.Dispute; d != nil {
		if d.Price != nil {
			gs = append(gs, GroupPrice)
		}
		if len(d.OffLedgerCosts) > 0 {
			gs = append(gs, GroupCosts)
		}
		if len(d.Labour) > 0 {
			gs = append(gs, GroupLabour)
		}
	}
	if len(gs) == 0 {
		return Groups()
	}
	return gs
}

// hopEvidence grades a hop's price, off-ledger costs and labour from the
// attestations about it:
//
//   - price: disputed 0.2; else audited 0.9; else confirmed by the buyer
//     (price_confirmed from the hop's buyer) 0.7; else declared by the
//     seller 0.4.
//   - costs: disputed; else audited; else declared by the seller.
//   - labour: missing 0 when no labour is recorded; disputed; audited and
//     worker-confirmed 1.0; audited; worker-confirmed 0.8 (wage_confirmed by
//     a union or workers' collective, or the seller is the workers' own
//     cooperative); confirmed by the buyer (wage_confirmed from the hop's
//     buyer) 0.7; else declared by the seller.
//
// An audit counts only from a party in the auditor role that is neither
// seller nor buyer, for the groups in its scope (all if none). A seller
// cannot attest or dispute its own hop. Attestations that do not count are
// noted on the hop.
func hopEvidence(h Hop, labourMissing bool, atts []Attestation, p Params) (map[FigureGroup]evidence, []string) {
	type flags struct {
		audited, worker, counterparty, disputed bool
		entries                                 []EntryRef
	}
	fl := map[FigureGroup]*flags{GroupPrice: {}, GroupCosts: {}, GroupLabour: {}}
	mark := func(g FigureGroup, a Attestation, set func(*flags)) {
		set(fl[g])
		fl[g].entries = append(fl[g].entries, a.Entry)
	}
	var notes []string
	ignore := func(a Attestation, why string) {
		notes = append(notes, fmt.Sprintf("%s by %s (entry %d) does not count: %s", a.Kind, a.Attester.ID, a.Entry.Seq, why))
	}
	isBuyer := func(a Attestation) bool { return h.Buyer.ID != "" && a.Attester.ID == h.Buyer.ID }
	for _, a := range atts {
		if a.Attester.ID == h.Seller.ID {
			ignore(a, "the seller cannot attest its own hop")
			continue
		}
		switch a.Kind {
		case PriceConfirmed:
			if !isBuyer(a) {
				ignore(a, "only the buyer confirms a price")
				continue
			}
			mark(GroupPrice, a, func(f *flags) { f.counterparty = true })
		case WageConfirmed:
			switch {
			case a.Role == RoleUnion || a.Role == RoleWorkersCollective:
				mark(GroupLabour, a, func(f *flags) { f.worker = true })
			case isBuyer(a):
				mark(GroupLabour, a, func(f *flags) { f.counterparty = true })
			default:
				ignore(a, "wages are confirmed by a union, a workers' collective or the buyer")
			}
		case Audited:
			if a.Role != RoleAuditor || isBuyer(a) {
				ignore(a, "an audit comes from a third party in the auditor role")
				continue
			}
			scope := a.Scope
			if len(scope) == 0 {
				scope = Groups()
			}
			for _, g := range scope {
				mark(g, a, func(f *flags) { f.audited = true })
			}
		case Disputed:
			for _, g := range disputedGroups(a) {
				mark(g, a, func(f *flags) { f.disputed = true })
			}
		}
	}
	if h.Seller.OrgForm == WorkerCooperative {
		fl[GroupLabour].worker = true
	}

	out := map[FigureGroup]evidence{}
	for _, g := range Groups() {
		f := fl[g]
		var lv Evidence
		switch {
		case g == GroupLabour && labourMissing:
			lv = EvidenceMissing
		case f.disputed:
			lv = EvidenceDisputed
		case f.audited && f.worker && g == GroupLabour:
			lv = EvidenceAuditedWorkerConfirmed
		case f.audited:
			lv = EvidenceAudited
		case f.worker && g == GroupLabour:
			lv = EvidenceWorkerConfirmed
		case f.counterparty && g != GroupCosts:
			lv = EvidenceCounterparty
		default:
			lv = EvidenceSeller
		}
		entries := f.entries
		if entries == nil {
			entries = []EntryRef{}
		}
		out[g] = evidence{level: lv, conf: p.Confidence[lv], entries: entries}
	}
	return out, notes
}
