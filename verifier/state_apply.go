package verifier

import (
	"slices"
	"time"

	"github.com/tally-ledger/tally/schemas"
)

// apply records the effects of one logged event on w and advances it by
// one record. It is the only code that changes a state, used both when a
// batch is admitted and when a log is replayed, so the two cannot drift.
//
// Admission has checked the rules before apply runs; replay trusts the
// log. apply still never assumes what it did not check itself: on a log
// written without admission, an event naming something that does not
// exist simply has less effect (the first registration of an id wins, a
// consumption of an unknown lot is ignored).
func apply(w *overlay, t time.Time, digest [32]byte, ev schemas.Event) {
	seq := w.Size()
	defer w.advance()
	switch e := ev.(type) {
	case *schemas.PartyRegistered:
		if _, dup := w.Party(e.ID); dup {
			return
		}
		p := Party{ID: e.ID, Role: e.Role, OrgForm: e.OrgForm, Seq: seq}
		for _, enc := range e.Keys {
			pub, err := schemas.ParsePublicKey(enc)
			if err != nil {
				continue
			}
			id := schemas.KeyID(pub)
			if _, used := w.Key(id); used {
				continue
			}
			w.putKey(Key{ID: id, Party: p.ID, Public: pub, From: t})
			p.Keys = append(p.Keys, id)
		}
		w.putParty(p)
		if isAuthority(e.Role) {
			w.addAuthority()
		}

	case *schemas.PartyKeyRotated:
		p, ok := w.Party(e.Party)
		old, known := w.Key(e.OldKey)
		if !ok || !known || old.Party != p.ID {
			return
		}
		pub, err := schemas.ParsePublicKey(e.NewKey)
		if err != nil {
			return
		}
		id := schemas.KeyID(pub)
		if _, used := w.Key(id); used {
			return
		}
		if old.Until.IsZero() || t.Before(old.Until) {
			old.Until = t
			w.putKey(old)
		}
		w.putKey(Key{ID: id, Party: p.ID, Public: pub, From: t})
		p.Keys = append(slices.Clip(p.Keys), id)
		w.putParty(p)

	case *schemas.PartyKeyRevoked:
		k, ok := w.Key(e.Key)
		if !ok || k.Party != e.Party {
			return
		}
		at := revocationTime(e, t)
		if k.Until.IsZero() || at.Before(k.Until) {
			k.Until = at
		}
		k.Revoked = true
		w.putKey(k)

	case *schemas.HopRecorded:
		if _, dup := w.Hop(e.ID); dup {
			return
		}
		seller, buyer := e.Seller, e.Buyer
		// Share the party's id string instead of keeping the decoded copy:
		// a hop then costs no memory for its parties' names.
		if p, ok := w.Party(seller); ok {
			seller = p.ID
		}
		if p, ok := w.Party(buyer); ok {
			buyer = p.ID
		}
		w.putHop(Hop{ID: e.ID, Seq: seq, Digest: digest, Seller: seller, Buyer: buyer, Kind: e.HopKind, Lot: e.Output.Lot})
		if e.HopKind == schemas.HopSale {
			if _, dup := w.Lot(e.Output.Lot); !dup {
				if amount, err := e.Output.Quantity.Value(); err == nil {
					w.putLot(Lot{ID: e.Output.Lot, Hop: e.ID, Seller: seller, Buyer: buyer, Amount: amount, Unit: e.Output.Quantity.Unit})
				}
			}
		}
		for _, in := range e.Inputs {
			lot, ok := w.Lot(in.Lot)
			q, err := in.Quantity.Value()
			if !ok || err != nil || !compatibleUnits(in.Quantity.Unit, lot.Unit) {
				continue
			}
			lot.Consumed = lot.Consumed.Add(convert(q, in.Quantity.Unit, lot.Unit))
			w.putLot(lot)
		}

	case *schemas.AttestationRecorded, *schemas.BenchmarkPublished:
		// Claims and reference figures change nothing admission checks:
		// they cost the state no memory at all.
	}
}

// revocationTime is when a revocation takes effect: its revoked_at when
// given (earlier than the statement for a key found compromised later, or
// at most MaxAhead later), otherwise when it was received.
func revocationTime(e *schemas.PartyKeyRevoked, received time.Time) time.Time {
	if e.RevokedAt != "" {
		if at, err := e.RevokedAt.Time(); err == nil {
			return at
		}
	}
	return received
}

// isAuthority reports whether a role may revoke other parties' keys and
// must co-sign the registration of further authorities.
func isAuthority(role string) bool { return role == RoleRegistrar || role == RoleOperator }
