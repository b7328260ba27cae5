package schemas

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// The parties of the examples. The figures are plausible for artisanal
// cobalt mining around Kolwezi but invented: examples, never reference data.
const (
	exampleCoop     = "kolwezi-miners-coop"
	exampleTrader   = "musompo-trader"
	exampleOperator = "tally-operator"
	exampleHopID    = "hop-kolwezi-2025-06-0001"
)

// ExampleKey is the deterministic key pair of an example party, derived
// from its name. Anyone can derive it: it signs examples and tests, never a
// real statement.
func ExampleKey(party string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("tally example key/" + party))
	return ed25519.NewKeyFromSeed(seed[:])
}

func examplePub(party string) ed25519.PublicKey {
	return ExampleKey(party).Public().(ed25519.PublicKey)
}

// ExampleEvent returns a valid example event of the kind: a cobalt miners'
// cooperative in Kolwezi (CD) registering, selling ore to a trader, the
// trader confirming the price, and a living-wage figure.
func ExampleEvent(kind string) (Event, error) {
	switch kind {
	case KindPartyRegistered:
		return &PartyRegistered{
			ID:      exampleCoop,
			Name:    "Coopérative des creuseurs artisanaux de Kolwezi (example)",
			Role:    "miner",
			Country: "CD",
			Region:  "CD-LU",
			OrgForm: "worker_cooperative",
			Keys:    []string{EncodePublicKey(examplePub(exampleCoop))},
		}, nil
	case KindPartyKeyRotated:
		return &PartyKeyRotated{
			Party:  exampleCoop,
			OldKey: KeyID(examplePub(exampleCoop)),
			NewKey: EncodePublicKey(examplePub(exampleCoop + "/2")),
		}, nil
	case KindPartyKeyRevoked:
		return &PartyKeyRevoked{
			Party:     exampleCoop,
			Key:       KeyID(examplePub(exampleCoop)),
			Reason:    "superseded",
			RevokedAt: "2025-07-01T00:00:00+02:00",
		}, nil
	case KindHopRecorded:
		return exampleHop(), nil
	case KindAttestationRecorded:
		body, err := Canonicalize(exampleHop())
		if err != nil {
			return nil, err
		}
		digest := sha256.Sum256(PAE(PayloadType(KindHopRecorded), body))
		return &AttestationRecorded{
			Attester: exampleTrader,
			Claim:    ClaimPriceConfirmed,
			Subject:  Subject{Hop: exampleHopID, Digest: hex.EncodeToString(digest[:])},
			Note:     "Paid in cash at the Musompo depot on delivery.",
		}, nil
	case KindBenchmarkPublished:
		return &BenchmarkPublished{
			Publisher: exampleOperator,
			Measure:   MeasureLivingWage,
			Country:   "CD",
			Region:    "CD-LU",
			Year:      2024,
			Value:     "620000",
			Currency:  "CDF",
			Period:    "month",
			Hours:     "208",
			Source: Source{
				Citation: "Illustrative figure for the Tally vocabulary documentation; not reference data",
				URL:      "https://example.org/tally/illustrative-living-wage",
			},
		}, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownKind, kind)
}

func exampleHop() *HopRecorded {
	return &HopRecorded{
		ID:      exampleHopID,
		Seller:  exampleCoop,
		Buyer:   exampleTrader,
		HopKind: HopSale,
		Output: Output{
			Lot:      "kolwezi-coop-2025-06-0001",
			Quantity: Quantity{Amount: "2000", Unit: "KGM"},
			Product:  "cobalt hydroxide ore (heterogenite), hand-sorted",
		},
		Costs: []Cost{
			{Category: "equipment", Amount: Money{Amount: "85.00", Currency: "USD"}, Note: "shovels, sacks and headlamp batteries"},
			{Category: "transport", Amount: Money{Amount: "40.00", Currency: "USD"}, Note: "motorbike haul to the depot"},
		},
		Price:      Money{Amount: "5600.00", Currency: "USD"},
		OccurredAt: "2025-06-14T15:20:00+02:00",
		Location:   Location{Country: "CD", Region: "CD-LU", Place: "Kolwezi"},
		Labour: []Labour{
			{
				Category: "digger", Workers: 24, Hours: "1440", SelfEmployed: true,
				Pay: Pay{Currency: "CDF", Basic: "2688000", Bonus: "268800", InKind: "134400"},
			},
			{
				Category: "washer", Workers: 12, Hours: "576",
				Pay: Pay{Currency: "CDF", Basic: "806400", Bonus: "0", InKind: "100800"},
			},
		},
		EPCISEventID: "urn:uuid:6f1e2a4c-8b3d-4e5f-9a10-2b3c4d5e6f70",
	}
}

// Example returns a valid example payload of the kind as canonical JSON
// (see ExampleEvent).
func Example(kind string) ([]byte, error) {
	ev, err := ExampleEvent(kind)
	if err != nil {
		return nil, err
	}
	return Canonicalize(ev)
}

// exampleSigner is the example party that signs an example of the kind.
func exampleSigner(kind string) string {
	switch kind {
	case KindHopRecorded, KindPartyRegistered, KindPartyKeyRotated, KindPartyKeyRevoked:
		return exampleCoop
	case KindAttestationRecorded:
		return exampleTrader
	}
	return exampleOperator
}

// ExampleEnvelope returns the example of the kind signed with the example
// key of the party that would sign it (ExampleKey): the cooperative for its
// registration, key changes and hop, the trader for the attestation, the
// operator for the benchmark.
func ExampleEnvelope(kind string) (Envelope, error) {
	ev, err := ExampleEvent(kind)
	if err != nil {
		return Envelope{}, err
	}
	return Sign(kind, ev, ExampleKey(exampleSigner(kind)))
}
