package schemas

// Index term names: the secondary indexes of the ledger, and what the audit
// rebuilds to check them.
const (
	TermKind    = "kind"    // the event kind, for every event
	TermParty   = "party"   // every party the event names
	TermKey     = "key"     // every key id a party event names
	TermLot     = "lot"     // a hop's output lot and input lots
	TermHop     = "hop"     // a hop's id, and an attestation's subject hop
	TermSubject = "subject" // an attestation's subject digest
)

// Term is one secondary index entry of an event: its index and key.
type Term struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// Terms returns the index terms of an event, in a fixed order (kind, party,
// key, lot, hop, subject; within a name, in the order the event names
// them) without duplicates or empty keys. It reads the event as it is:
// validate it first.
//
//   - party.registered: its id and its key ids.
//   - party.key_rotated: the party, the old and the new key id.
//   - party.key_revoked: the party and the key id.
//   - hop.recorded: seller and buyer, the output lot then the input lots,
//     the hop id.
//   - attestation.recorded: the attester, the subject hop and digest.
//   - benchmark.published: the publisher.
func Terms(ev Event) []Term {
	t := &terms{seen: map[Term]bool{}}
	switch e := ev.(type) {
	case *PartyRegistered:
		t.add(TermKind, e.Kind())
		t.add(TermParty, e.ID)
		for _, k := range e.Keys {
			t.key(k)
		}
	case *PartyKeyRotated:
		t.add(TermKind, e.Kind())
		t.add(TermParty, e.Party)
		t.add(TermKey, e.OldKey)
		t.key(e.NewKey)
	case *PartyKeyRevoked:
		t.add(TermKind, e.Kind())
		t.add(TermParty, e.Party)
		t.add(TermKey, e.Key)
	case *HopRecorded:
		t.add(TermKind, e.Kind())
		t.add(TermParty, e.Seller)
		t.add(TermParty, e.Buyer)
		t.add(TermLot, e.Output.Lot)
		for _, in := range e.Inputs {
			t.add(TermLot, in.Lot)
		}
		t.add(TermHop, e.ID)
	case *AttestationRecorded:
		t.add(TermKind, e.Kind())
		t.add(TermParty, e.Attester)
		t.add(TermHop, e.Subject.Hop)
		t.add(TermSubject, e.Subject.Digest)
	case *BenchmarkPublished:
		t.add(TermKind, e.Kind())
		t.add(TermParty, e.Publisher)
	}
	return t.out
}

type terms struct {
	seen map[Term]bool
	out  []Term
}

func (t *terms) add(name, key string) {
	term := Term{Name: name, Key: key}
	if key == "" || t.seen[term] {
		return
	}
	t.seen[term] = true
	t.out = append(t.out, term)
}

// key adds the key id of a base64 public key; a key that does not decode
// names no id.
func (t *terms) key(encoded string) {
	if pub, err := ParsePublicKey(encoded); err == nil {
		t.add(TermKey, KeyID(pub))
	}
}
