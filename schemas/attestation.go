package schemas

// Claims an attestation may make about a hop, and what an audit may cover.
const (
	ClaimPriceConfirmed = "price_confirmed" // by the counterparty
	ClaimWageConfirmed  = "wage_confirmed"  // by a union or workers' collective
	ClaimAudited        = "audited"         // by a third party, with a scope
	ClaimDisputed       = "disputed"        // with the party's own figures
)

var (
	Claims      = []string{ClaimPriceConfirmed, ClaimWageConfirmed, ClaimAudited, ClaimDisputed}
	AuditScopes = []string{"price", "quantities", "inputs", "costs", "labour"}
)

// AttestationRecorded (attestation.recorded) is a signed claim by a party
// about a hop.
type AttestationRecorded struct {
	Attester string `json:"attester" validate:"required,slug"`
	Claim    string `json:"claim" validate:"required,oneof=price_confirmed wage_confirmed audited disputed"`
	// Subject is the hop the claim is about.
	Subject Subject `json:"subject" validate:"required"`
	// Scope lists what an audit covered; present exactly when Claim is
	// "audited".
	Scope []string `json:"scope,omitempty" validate:"omitempty,max=5,dive,oneof=price quantities inputs costs labour"`
	// Standard names the audit standard or protocol; only with "audited".
	Standard string `json:"standard,omitempty" validate:"omitempty,text,max=200"`
	// Figures are the disputing party's own figures; present exactly when
	// Claim is "disputed".
	Figures *Figures `json:"figures,omitempty"`
	Note    string   `json:"note,omitempty" validate:"omitempty,text,max=1000"`
}

// Subject names a hop by its id and by the digest of the envelope that
// recorded it (Envelope.Digest, lowercase hex), so a claim cannot drift to
// another statement that reuses the id.
type Subject struct {
	Hop    string `json:"hop" validate:"required,slug"`
	Digest string `json:"digest" validate:"required,digest"`
}

// Figures are a disputing party's figures for a hop: the price, the labour
// of some job categories, or both.
type Figures struct {
	Price  *Money          `json:"price,omitempty"`
	Labour []LabourFigures `json:"labour,omitempty" validate:"omitempty,max=64,dive"`
}

// LabourFigures are a disputing party's figures for one job category:
// hours, pay, or both.
type LabourFigures struct {
	Category string  `json:"category" validate:"required,slug"`
	Hours    Decimal `json:"hours,omitempty" validate:"omitempty,decimal,positive"`
	Pay      *Pay    `json:"pay,omitempty"`
}
