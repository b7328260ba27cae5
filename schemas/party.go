package schemas

import (
	"crypto/ed25519"
)

// Party roles and organisational forms of vocabulary version 1.
var (
	Roles = []string{
		"miner", "farmer", "trader", "processor", "smelter", "refiner",
		"manufacturer", "assembler", "brand", "wholesaler", "distributor",
		"retailer", "transporter", "courier", "union", "workers_collective",
		"auditor", "researcher", "registrar", "operator",
	}
	OrgForms = []string{
		"worker_cooperative", "consumer_cooperative", "corporation",
		"informal", "public", "ngo", "self_employed",
	}
)

// EndConsumer is the reserved buyer id of a sale to an end consumer: the
// person who buys a product for their own use is not a party of the ledger
// (no registration, no key, nothing about them recorded), so a retailer's
// final sale names this id as its buyer, and a service on that lot (the
// last-mile delivery) names it too. No party may register under it.
const EndConsumer = "consumer"

// PartyRegistered (party.registered) introduces a party and its signing
// keys. It is signed by one of the keys it registers.
type PartyRegistered struct {
	// ID is the party's slug, the name every other statement uses.
	ID   string `json:"id" validate:"required,slug"`
	Name string `json:"name" validate:"required,text,max=200"`
	// Role is what the party does in a chain (one of Roles).
	Role string `json:"role" validate:"required,oneof=miner farmer trader processor smelter refiner manufacturer assembler brand wholesaler distributor retailer transporter courier union workers_collective auditor researcher registrar operator"`
	// Country is where the party is established (ISO 3166-1 alpha-2).
	Country string `json:"country" validate:"required,iso3166_1_alpha2"`
	// Region is an ISO 3166-2 subdivision of Country.
	Region string `json:"region,omitempty" validate:"omitempty,iso3166_2"`
	// OrgForm is the party's organisational form (one of OrgForms); a
	// worker cooperative's surplus counts as labour income in FEX-1.
	OrgForm string `json:"org_form" validate:"required,oneof=worker_cooperative consumer_cooperative corporation informal public ngo self_employed"`
	// Keys are raw 32-byte Ed25519 public keys in standard base64; a key's
	// id is derived with KeyID.
	Keys []string `json:"keys" validate:"required,min=1,max=8,dive,ed25519_key"`
}

// PublicKeys decodes Keys; it fails on the first key that is not an
// Ed25519 public key.
func (p *PartyRegistered) PublicKeys() ([]ed25519.PublicKey, error) {
	out := make([]ed25519.PublicKey, 0, len(p.Keys))
	for _, k := range p.Keys {
		pub, err := ParsePublicKey(k)
		if err != nil {
			return nil, err
		}
		out = append(out, pub)
	}
	return out, nil
}

// PartyKeyRotated (party.key_rotated) replaces one of a party's keys with a
// new one. It is signed by the old key.
type PartyKeyRotated struct {
	Party string `json:"party" validate:"required,slug"`
	// OldKey is the key id (KeyID) of the key being replaced.
	OldKey string `json:"old_key" validate:"required,keyid"`
	// NewKey is the new raw Ed25519 public key in standard base64.
	NewKey string `json:"new_key" validate:"required,ed25519_key"`
}

// Reasons a key may be revoked.
var RevocationReasons = []string{"compromised", "superseded", "retired"}

// PartyKeyRevoked (party.key_revoked) withdraws one of a party's keys.
type PartyKeyRevoked struct {
	Party string `json:"party" validate:"required,slug"`
	// Key is the key id (KeyID) of the key withdrawn.
	Key    string `json:"key" validate:"required,keyid"`
	Reason string `json:"reason" validate:"required,oneof=compromised superseded retired"`
	// RevokedAt, when given, is the moment from which the key is no longer
	// to be trusted; it may precede the statement (a key found compromised
	// later). Absent, the revocation takes effect when it is recorded.
	RevokedAt Timestamp `json:"revoked_at,omitempty" validate:"omitempty,timestamp"`
}
