package schemas_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/schemas"
)

func TestTerms(t *testing.T) {
	coopKey := "sha256:42403a279c83e454b4c2fa175b0bc13da3b33a5289434a992834d6aefa646a64"
	traderKey := "sha256:61fc7837c34f769417565ca96e362312d72935f5fce8f45e6a2248f5a018576a"
	operatorKey := "sha256:c8d46dcf56c66b74d8f0394d4d873c2da0eab809d4fb467bf75841ad97c10d43"
	hop := "hop-kolwezi-2025-06-0001"
	digest := "5b26eea43782b25b4dd9ac8bd31b07790cd9b5824f0f504d829f74dcacb2556f"
	tests := []struct {
		kind, name string
		want       []schemas.Term
	}{
		{"party.registered", "cooperative", []schemas.Term{{"kind", "party.registered"}, {"party", "kolwezi-miners-coop"}, {"key", coopKey}}},
		{"party.registered", "trader-two-keys", []schemas.Term{{"kind", "party.registered"}, {"party", "musompo-trader"}, {"key", traderKey}, {"key", operatorKey}}},
		{"party.key_rotated", "rotation", []schemas.Term{{"kind", "party.key_rotated"}, {"party", "kolwezi-miners-coop"}, {"key", coopKey},
			{"key", "sha256:a1973077a85c502ed2fef32a2182fb41c7025a2a87b8b7f8a30eda05f0a2420b"}}},
		{"party.key_revoked", "retired", []schemas.Term{{"kind", "party.key_revoked"}, {"party", "musompo-trader"}, {"key", traderKey}}},
		{"hop.recorded", "origin-sale", []schemas.Term{{"kind", "hop.recorded"}, {"party", "kolwezi-miners-coop"}, {"party", "musompo-trader"},
			{"lot", "kolwezi-coop-2025-06-0001"}, {"hop", hop}}},
		{"hop.recorded", "trader-sale-with-inputs", []schemas.Term{{"kind", "hop.recorded"}, {"party", "musompo-trader"}, {"party", "lubumbashi-refinery"},
			{"lot", "musompo-2025-06-0042"}, {"lot", "kolwezi-coop-2025-06-0001"}, {"lot", "kolwezi-coop-2025-06-0002"}, {"hop", "hop-musompo-2025-06-0042"}}},
		{"attestation.recorded", "audited", []schemas.Term{{"kind", "attestation.recorded"}, {"party", "fairchain-audit"}, {"hop", hop}, {"subject", digest}}},
		{"benchmark.published", "ppp-factor", []schemas.Term{{"kind", "benchmark.published"}, {"party", "tally-operator"}}},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.name, func(t *testing.T) {
			ev, problems := schemas.ValidatePayload(tt.kind, validPayload(t, tt.kind, tt.name))
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			if diff := cmp.Diff(tt.want, schemas.Terms(ev)); diff != "" {
				t.Errorf("Terms (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTermsDeduplicate(t *testing.T) {
	// Not a valid hop, but Terms must still name each term once: an index
	// entry twice would make a lot appear to be consumed twice.
	h := &schemas.HopRecorded{ID: "h", Seller: "p", Buyer: "p", Output: schemas.Output{Lot: "l"},
		Inputs: []schemas.Input{{Lot: "l"}, {Lot: "m"}, {Lot: "m"}, {Lot: ""}}}
	want := []schemas.Term{{"kind", "hop.recorded"}, {"party", "p"}, {"lot", "l"}, {"lot", "m"}, {"hop", "h"}}
	if diff := cmp.Diff(want, schemas.Terms(h)); diff != "" {
		t.Errorf("Terms (-want +got):\n%s", diff)
	}
	if got := schemas.Terms(nil); len(got) != 0 {
		t.Errorf("Terms(nil) = %v", got)
	}
}
