package verifier

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tally-ledger/tally/schemas"
)

// Rules of admission: the names a rejection's problems carry (Problem.Rule)
// beyond the vocabulary's own (schemas.Validate, schemas.DecodeEvent,
// schemas.DecodeEnvelope). Each is checked against the state of the log
// before the envelope, the envelope, and its received_at only, so that
// replaying a log reaches the same verdicts.
//
// Problems about signatures point into the envelope (Verdict.EnvelopeProblems,
// paths such as "/signatures/0/sig"); all others point into the payload
// (Verdict.Problems, paths such as "/inputs/0/quantity").
const (
	// RuleKind: the payload type names no event kind of the vocabulary
	// (BenchKind included). Envelope path "/payloadType".
	RuleKind = "kind"
	// RuleSignature: a signature does not verify over the envelope's PAE
	// with the key its keyid names. Envelope path "/signatures/<i>/sig".
	RuleSignature = "signature"
	// RuleUnknownKey: a signature's keyid is no registered key (nor a key
	// the statement itself introduces). Envelope path "/signatures/<i>/keyid".
	RuleUnknownKey = "unknown_key"
	// RuleKeyNotCurrent: a signature is made by a key that was not current
	// for its party at the message's received_at: rotated or revoked before
	// then. Envelope path "/signatures/<i>/keyid"; for the key a rotation
	// replaces, payload path "/old_key".
	RuleKeyNotCurrent = "key_not_current"
	// RuleSigner: no signature by the party that must sign: the seller of
	// a hop, the attester, the publisher, the old key of a rotation, one of
	// the keys a registration registers, the party (or a registrar or the
	// operator) for a revocation. Envelope path "/signatures".
	RuleSigner = "signer"

	// RuleDuplicateParty: a party with this id is already registered
	// (party ids are unique). Path "/id".
	RuleDuplicateParty = "duplicate_party"
	// RuleReservedParty: the party id is reserved (schemas.EndConsumer
	// names the end consumer, who is never a party). Path "/id".
	RuleReservedParty = "reserved_party"
	// RuleKeyInUse: the key is already registered, to this or another
	// party, current or not: a key id names one key of one party forever.
	// Paths "/keys/<i>", "/new_key".
	RuleKeyInUse = "key_in_use"
	// RuleAuthority: registering a registrar or an operator needs, besides
	// the self-signature, a signature by a current key of a registered
	// registrar or operator, unless none is registered yet (the first
	// authority of a log registers itself). Path "/role".
	RuleAuthority = "authority"
	// RuleUnknownParty: the party named is not registered. Paths "/party",
	// "/seller", "/buyer", "/attester", "/publisher".
	RuleUnknownParty = "unknown_party"
	// RuleNotPartyKey: the key id is not a key of the party named. Paths
	// "/old_key", "/key".
	RuleNotPartyKey = "not_party_key"
	// RuleAlreadyRevoked: the key was revoked already. Path "/key".
	RuleAlreadyRevoked = "already_revoked"

	// RuleDuplicateHop: a hop with this id is already recorded. Path "/id".
	RuleDuplicateHop = "duplicate_hop"
	// RuleDuplicateLot: a sale outputs a lot that an earlier sale output
	// already (a lot is output once). Path "/output/lot".
	RuleDuplicateLot = "duplicate_lot"
	// RuleUnknownLot: an input lot, or the lot a service serves, was never
	// output by a sale. Paths "/inputs/<i>/lot", "/output/lot".
	RuleUnknownLot = "unknown_lot"
	// RuleNotAcquired: an input lot was not acquired by the seller (the
	// seller was not the buyer of the hop that output it). Path
	// "/inputs/<i>/lot".
	RuleNotAcquired = "not_acquired"
	// RuleNotHeld: a service hop serves a lot its buyer did not acquire (a
	// service is done for the lot's owner). Path "/output/lot".
	RuleNotHeld = "not_held"
	// RuleUnitMismatch: an input's unit cannot be converted to the unit of
	// the lot it consumes. Path "/inputs/<i>/quantity/unit".
	RuleUnitMismatch = "unit_mismatch"
	// RuleDoubleSpend: an input would bring what has been consumed of a lot
	// beyond the quantity acquired. Path "/inputs/<i>/quantity".
	RuleDoubleSpend = "double_spend"

	// RuleUnknownHop: an attestation's subject names no recorded hop. Path
	// "/subject/hop".
	RuleUnknownHop = "unknown_hop"
	// RuleSubjectDigest: an attestation's subject digest is not the digest
	// of the envelope that recorded the hop it names. Path
	// "/subject/digest".
	RuleSubjectDigest = "subject_digest"
	// RuleAttesterRole: the attester may not make this claim about this hop
	// (see attesterMay). Path "/attester".
	RuleAttesterRole = "attester_role"
	// RulePublisherRole: benchmarks come from a researcher, a registrar or
	// the operator. Path "/publisher".
	RulePublisherRole = "publisher_role"

	// RuleFuture: a time lies more than MaxAhead after the message's
	// received_at. Paths "/occurred_at", "/revoked_at". Times in the past,
	// however far, are allowed: records are often entered late.
	RuleFuture = "future"
)

// MaxAhead is how far after its received_at a statement's own times
// (occurred_at, revoked_at) may lie: clocks differ and time zones are
// misconfigured, but a hop cannot be recorded a week before it happens.
const MaxAhead = 24 * time.Hour

// Roles that carry authority in admission.
const (
	RoleRegistrar         = "registrar"
	RoleOperator          = "operator"
	RoleAuditor           = "auditor"
	RoleResearcher        = "researcher"
	RoleUnion             = "union"
	RoleWorkersCollective = "workers_collective"
	orgWorkerCooperative  = "worker_cooperative"
)

// judgement checks one decoded, valid event against a state. It collects
// problems; it never changes the state.
type judgement struct {
	view State
	p    *prepared
	at   time.Time // the message's received_at

	// sigs holds, per signature, the key it names and whether it counts:
	// valid over the PAE and made by a key current at the time (or by a
	// key the statement itself introduces).
	sigs []sigCheck

	problems    []schemas.Problem // into the payload
	envProblems []schemas.Problem // into the envelope
}

type sigCheck struct {
	keyID      string
	party      string // owner in the state; "" for an introduced or unknown key
	valid      bool   // verifies and counts (see judgement.sigs)
	introduced bool   // a key the statement itself introduces
}

func (j *judgement) add(path, rule, format string, args ...any) {
	j.problems = append(j.problems, schemas.Problem{Path: path, Rule: rule, Message: fmt.Sprintf(format, args...)})
}

func (j *judgement) addEnv(path, rule, format string, args ...any) {
	j.envProblems = append(j.envProblems, schemas.Problem{Path: path, Rule: rule, Message: fmt.Sprintf(format, args...)})
}

// checkSignatures judges every signature: its key must be known (to the
// state, or introduced by the statement), the signature must verify, and
// a key known to the state must have been current at received_at. Every
// signature an envelope carries must pass, so nothing unverifiable or
// signed by a withdrawn key enters the log.
func (j *judgement) checkSignatures() {
	env := &j.p.c.Envelope
	j.sigs = make([]sigCheck, len(env.Signatures))
	for i, s := range env.Signatures {
		at := "/signatures/" + strconv.Itoa(i)
		sc := sigCheck{keyID: s.KeyID}
		k, known := j.view.Key(s.KeyID)
		_, intro := j.p.introduced[s.KeyID]
		switch {
		case !known && !intro:
			j.addEnv(at+"/keyid", RuleUnknownKey, "signature %d is by key %s, which is not registered to any party", i, s.KeyID)
		case !j.p.sigOK[i]:
			j.addEnv(at+"/sig", RuleSignature, "signature %d does not verify with key %s over this envelope's payload type and payload", i, s.KeyID)
		case known && !k.CurrentAt(j.at):
			j.addEnv(at+"/keyid", RuleKeyNotCurrent, "signature %d is by key %s of %q, %s", i, s.KeyID, k.Party, notCurrentWhy(k, j.at))
		default:
			sc.valid = true
		}
		if known {
			sc.party = k.Party
		} else {
			sc.introduced = intro
		}
		j.sigs[i] = sc
	}
}

// notCurrentWhy says why k was not current at t.
func notCurrentWhy(k Key, t time.Time) string {
	ts := func(x time.Time) string { return x.UTC().Format(time.RFC3339Nano) }
	switch {
	case t.Before(k.From):
		return fmt.Sprintf("which became valid only at %s, after this message was received (%s)", ts(k.From), ts(t))
	case k.Revoked:
		return fmt.Sprintf("which was revoked with effect from %s; the message was received at %s", ts(k.Until), ts(t))
	default:
		return fmt.Sprintf("which was replaced by a rotation at %s; the message was received at %s", ts(k.Until), ts(t))
	}
}

// claimed reports whether some signature names a key of the state that
// satisfies ok, and whether one such signature counts. A required signer
// whose signature is present but broken is reported at that signature;
// RuleSigner is for a required signature that is missing altogether.
func (j *judgement) claimed(ok func(sc sigCheck) bool) (present, valid bool) {
	for _, sc := range j.sigs {
		if ok(sc) {
			present = true
			valid = valid || sc.valid
		}
	}
	return present, valid
}

// requireParty adds RuleSigner unless a key of party signs the envelope.
func (j *judgement) requireParty(party, what string) {
	if present, _ := j.claimed(func(sc sigCheck) bool { return sc.party == party }); !present {
		j.addEnv("/signatures", RuleSigner, "%s must be signed by a current key of %s %q; no signature is by one of its keys", j.p.kind, what, party)
	}
}

// notAhead adds RuleFuture if ts lies more than MaxAhead after received_at.
func (j *judgement) notAhead(path string, ts schemas.Timestamp) {
	t, err := ts.Time()
	if err != nil {
		return // schemas.Validate reported it
	}
	if t.Sub(j.at) > MaxAhead {
		j.add(path, RuleFuture, "%s %s is %s after the message was received (%s); at most %s ahead is allowed",
			strings.TrimPrefix(path, "/"), ts, t.Sub(j.at).Round(time.Second), j.at.UTC().Format(time.RFC3339Nano), MaxAhead)
	}
}

// party returns the registered party at path, or adds RuleUnknownParty.
func (j *judgement) party(path, id string) (Party, bool) {
	p, ok := j.view.Party(id)
	if !ok {
		j.add(path, RuleUnknownParty, "party %q is not registered", id)
	}
	return p, ok
}

// judge applies the rules of the event's kind.
func (j *judgement) judge() {
	j.checkSignatures()
	switch e := j.p.ev.(type) {
	case *schemas.PartyRegistered:
		j.registered(e)
	case *schemas.PartyKeyRotated:
		j.rotated(e)
	case *schemas.PartyKeyRevoked:
		j.revoked(e)
	case *schemas.HopRecorded:
		j.hop(e)
	case *schemas.AttestationRecorded:
		j.attestation(e)
	case *schemas.BenchmarkPublished:
		j.benchmark(e)
	}
}

func (j *judgement) registered(e *schemas.PartyRegistered) {
	if _, dup := j.view.Party(e.ID); dup {
		j.add("/id", RuleDuplicateParty, "party %q is already registered; party ids are unique", e.ID)
	}
	if e.ID == schemas.EndConsumer {
		j.add("/id", RuleReservedParty, "party id %q is reserved for the end consumer of a final sale, who is not a party; choose another id", e.ID)
	}
	own := map[string]bool{}
	for i, enc := range e.Keys {
		pub, err := schemas.ParsePublicKey(enc)
		if err != nil {
			continue // schemas.Validate reported it
		}
		id := schemas.KeyID(pub)
		own[id] = true
		if k, used := j.view.Key(id); used {
			j.add("/keys/"+strconv.Itoa(i), RuleKeyInUse, "key %s is already registered to party %q; every party needs keys of its own", id, k.Party)
		}
	}
	if present, _ := j.claimed(func(sc sigCheck) bool { return own[sc.keyID] }); !present {
		j.addEnv("/signatures", RuleSigner, "party.registered must be signed by one of the keys it registers (self-signed)")
	}
	if isAuthority(e.Role) && j.view.Authorities() > 0 {
		if present, _ := j.claimed(func(sc sigCheck) bool {
			p, ok := j.view.Party(sc.party)
			return ok && isAuthority(p.Role)
		}); !present {
			j.add("/role", RuleAuthority, "registering a party with role %q needs a signature by a current key of a registered registrar or operator", e.Role)
		}
	}
}

func (j *judgement) rotated(e *schemas.PartyKeyRotated) {
	p, ok := j.party("/party", e.Party)
	if !ok {
		return
	}
	old, known := j.view.Key(e.OldKey)
	switch {
	case !known || old.Party != p.ID:
		j.add("/old_key", RuleNotPartyKey, "key %s is not a key of party %q", e.OldKey, p.ID)
	case !old.CurrentAt(j.at):
		j.add("/old_key", RuleKeyNotCurrent, "key %s of %q is no longer current: it %s", e.OldKey, p.ID, strings.TrimPrefix(notCurrentWhy(old, j.at), "which "))
	}
	if pub, err := schemas.ParsePublicKey(e.NewKey); err == nil {
		if k, used := j.view.Key(schemas.KeyID(pub)); used {
			j.add("/new_key", RuleKeyInUse, "key %s is already registered to party %q; a new key must be new", schemas.KeyID(pub), k.Party)
		}
	}
	if known && old.Party == p.ID {
		if present, _ := j.claimed(func(sc sigCheck) bool { return sc.keyID == e.OldKey }); !present {
			j.addEnv("/signatures", RuleSigner, "party.key_rotated must be signed by the key it replaces (%s)", e.OldKey)
		}
	}
}

func (j *judgement) revoked(e *schemas.PartyKeyRevoked) {
	p, ok := j.party("/party", e.Party)
	if !ok {
		return
	}
	k, known := j.view.Key(e.Key)
	switch {
	case !known || k.Party != p.ID:
		j.add("/key", RuleNotPartyKey, "key %s is not a key of party %q", e.Key, p.ID)
	case k.Revoked:
		j.add("/key", RuleAlreadyRevoked, "key %s of %q was already revoked with effect from %s", e.Key, p.ID, k.Until.UTC().Format(time.RFC3339Nano))
	}
	if e.RevokedAt != "" {
		j.notAhead("/revoked_at", e.RevokedAt)
	}
	present, _ := j.claimed(func(sc sigCheck) bool {
		if sc.party == p.ID {
			return true
		}
		q, ok := j.view.Party(sc.party)
		return ok && isAuthority(q.Role)
	})
	if !present {
		j.addEnv("/signatures", RuleSigner, "party.key_revoked must be signed by a current key of party %q or of a registrar or operator", p.ID)
	}
}

func (j *judgement) hop(e *schemas.HopRecorded) {
	if _, dup := j.view.Hop(e.ID); dup {
		j.add("/id", RuleDuplicateHop, "hop %q is already recorded; hop ids are unique", e.ID)
	}
	_, sellerOK := j.party("/seller", e.Seller)
	if e.Buyer != schemas.EndConsumer {
		j.party("/buyer", e.Buyer)
	}
	if sellerOK {
		j.requireParty(e.Seller, "the seller")
	}
	j.notAhead("/occurred_at", e.OccurredAt)

	switch e.HopKind {
	case schemas.HopSale:
		if lot, dup := j.view.Lot(e.Output.Lot); dup {
			j.add("/output/lot", RuleDuplicateLot, "lot %q was already output by hop %q; a lot is output once (give the new lot an id of its own)", e.Output.Lot, lot.Hop)
		}
	case schemas.HopService:
		// A service is performed on a lot for its owner and outputs no new
		// lot. Its quantity measures the service (tonne-kilometres,
		// hours…), so it is not compared with the lot's.
		lot, ok := j.view.Lot(e.Output.Lot)
		switch {
		case !ok:
			j.add("/output/lot", RuleUnknownLot, "lot %q, which this service is performed on, was never output by a sale", e.Output.Lot)
		case lot.Buyer != e.Buyer:
			j.add("/output/lot", RuleNotHeld, "lot %q was acquired by %q, not by the buyer of this service %q", e.Output.Lot, lot.Buyer, e.Buyer)
		}
	}

	for i, in := range e.Inputs {
		at := "/inputs/" + strconv.Itoa(i)
		lot, ok := j.view.Lot(in.Lot)
		if !ok {
			j.add(at+"/lot", RuleUnknownLot, "lot %q was never output by a sale", in.Lot)
			continue
		}
		if lot.Buyer != e.Seller {
			j.add(at+"/lot", RuleNotAcquired, "lot %q was acquired by %q (hop %q), not by the seller %q; only a lot's buyer may consume it", in.Lot, lot.Buyer, lot.Hop, e.Seller)
			continue
		}
		if !compatibleUnits(in.Quantity.Unit, lot.Unit) {
			j.add(at+"/quantity/unit", RuleUnitMismatch, "unit %s cannot be converted to %s, the unit lot %q was acquired in", in.Quantity.Unit, lot.Unit, in.Lot)
			continue
		}
		q, err := in.Quantity.Value()
		if err != nil {
			continue // schemas.Validate reported it
		}
		want := lot.Consumed.Add(convert(q, in.Quantity.Unit, lot.Unit))
		if want.GreaterThan(lot.Amount) {
			j.add(at+"/quantity", RuleDoubleSpend, "consuming %s %s of lot %q would bring its consumption to %s %s, more than the %s %s acquired (%s %s consumed already)",
				in.Quantity.Amount, in.Quantity.Unit, in.Lot, want.String(), lot.Unit, lot.Amount.String(), lot.Unit, lot.Consumed.String(), lot.Unit)
		}
	}
}

func (j *judgement) attestation(e *schemas.AttestationRecorded) {
	attester, attesterOK := j.party("/attester", e.Attester)
	if attesterOK {
		j.requireParty(e.Attester, "the attester")
	}
	hop, ok := j.view.Hop(e.Subject.Hop)
	if !ok {
		j.add("/subject/hop", RuleUnknownHop, "hop %q is not recorded", e.Subject.Hop)
		return
	}
	if want := hex.EncodeToString(hop.Digest[:]); e.Subject.Digest != want {
		j.add("/subject/digest", RuleSubjectDigest, "hop %q was recorded by the envelope with digest %s, not %s", hop.ID, want, e.Subject.Digest)
	}
	if attesterOK {
		if why := attesterMay(e.Claim, attester, hop); why != "" {
			j.add("/attester", RuleAttesterRole, "%q (role %s) may not make the claim %s about hop %q: %s", attester.ID, attester.Role, e.Claim, hop.ID, why)
		}
	}
}

// attesterMay says who may make which claim about a hop, and returns why
// not ("" when the attester may):
//
//   - price_confirmed: the counterparty of the hop's seller, its buyer.
//   - wage_confirmed: a union or workers' collective, or the seller itself
//     when it is a worker cooperative (its workers are its members).
//   - audited: an auditor.
//   - disputed: the hop's buyer (its price), a union or workers'
//     collective (the seller's wages), or an auditor. The ledger records
//     no affiliation between a union and an employer, so any registered
//     union or workers' collective may dispute a hop's labour figures.
func attesterMay(claim string, a Party, h Hop) string {
	switch claim {
	case schemas.ClaimPriceConfirmed:
		if a.ID != h.Buyer {
			return fmt.Sprintf("only the hop's buyer %q may confirm its price", h.Buyer)
		}
	case schemas.ClaimWageConfirmed:
		if a.Role != RoleUnion && a.Role != RoleWorkersCollective && (a.ID != h.Seller || a.OrgForm != orgWorkerCooperative) {
			return "wages are confirmed by a union or workers' collective, or by the seller itself when it is a worker cooperative"
		}
	case schemas.ClaimAudited:
		if a.Role != RoleAuditor {
			return "audits are made by an auditor"
		}
	case schemas.ClaimDisputed:
		if a.ID != h.Buyer && !slices.Contains([]string{RoleUnion, RoleWorkersCollective, RoleAuditor}, a.Role) {
			return fmt.Sprintf("a hop is disputed by its buyer %q, a union or workers' collective, or an auditor", h.Buyer)
		}
	}
	return ""
}

func (j *judgement) benchmark(e *schemas.BenchmarkPublished) {
	p, ok := j.party("/publisher", e.Publisher)
	if !ok {
		return
	}
	j.requireParty(e.Publisher, "the publisher")
	if p.Role != RoleResearcher && p.Role != RoleRegistrar && p.Role != RoleOperator {
		j.add("/publisher", RulePublisherRole, "%q has role %s; benchmarks are published by a researcher, a registrar or the operator", p.ID, p.Role)
	}
}
