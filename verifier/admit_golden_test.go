package verifier_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tally-ledger/tally/verifier"
)

// TestAdmitRules runs the admission specification in testdata/admit: each
// case starts from the world of world.json, admits its own steps, then
// submits one envelope and expects its status and the path and rule of
// every problem.
func TestAdmitRules(t *testing.T) {
	var world specWorld
	readJSON(t, filepath.Join("testdata", "admit", "world.json"), &world)
	files, err := filepath.Glob(filepath.Join("testdata", "admit", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	rulesSeen := map[string]bool{}
	for _, file := range files {
		if filepath.Base(file) == "world.json" {
			continue
		}
		var spec specFile
		readJSON(t, file, &spec)
		for _, tc := range spec.Cases {
			rulesSeen[tc.Rule] = true
			// Each case twice: as a caller that hands over only the
			// envelope, and as the ingest path, which has decoded it
			// already and hands over what it knows (Candidate.Known).
			// And a third time as the ingest loop hands them over when it
			// prepares a batch ahead (Candidate.Prepared).
			for _, mode := range []string{"", "known", "prepared"} {
				known, prepared := mode != "", mode == "prepared"
				name := filepath.Base(file) + "/" + tc.Name
				if mode != "" {
					name += "/" + mode
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					al := newAdmitLog(t)
					b := newSpecBuilder(t, &world)
					b.known, b.prepared = known, prepared
					var prelude []verifier.Candidate
					for _, s := range world.Steps {
						prelude = append(prelude, b.candidate(s))
					}
					for i, v := range al.submit(t, prelude...) {
						if v.Status != verifier.Admitted {
							t.Fatalf("world step %d (%s): %s", i, world.Steps[i].Name, verdictString(v))
						}
					}
					for i, s := range tc.Steps {
						if v := al.submit(t, b.candidate(s))[0]; v.Status != verifier.Admitted {
							t.Fatalf("step %d: %s", i, verdictString(v))
						}
					}
					v := al.submit(t, b.candidate(tc.Submit))[0]
					t.Logf("%s: %v %v", v.Status, v.Problems, v.EnvelopeProblems)
					if got := v.Status.String(); got != tc.Status {
						t.Errorf("status %s, want %s (%s)", got, tc.Status, verdictString(v))
					}
					if diff := cmp.Diff(tc.Want, refs(v.Problems), cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("payload problems (-want +got):\n%s\n%v", diff, v.Problems)
					}
					if diff := cmp.Diff(tc.WantEnvelope, refs(v.EnvelopeProblems), cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("envelope problems (-want +got):\n%s\n%v", diff, v.EnvelopeProblems)
					}
					for _, p := range append(slices.Clone(v.Problems), v.EnvelopeProblems...) {
						if p.Message == "" {
							t.Errorf("problem %s/%s has no message", p.Path, p.Rule)
						}
					}
				})
			}
		}
	}
	// Every admission rule has at least one case in the specification.
	for _, rule := range []string{
		verifier.RuleKind, verifier.RuleSignature, verifier.RuleUnknownKey, verifier.RuleKeyNotCurrent,
		verifier.RuleSigner, verifier.RuleDuplicateParty, verifier.RuleReservedParty, verifier.RuleKeyInUse, verifier.RuleAuthority,
		verifier.RuleUnknownParty, verifier.RuleNotPartyKey, verifier.RuleAlreadyRevoked,
		verifier.RuleDuplicateHop, verifier.RuleDuplicateLot, verifier.RuleUnknownLot, verifier.RuleNotAcquired,
		verifier.RuleNotHeld, verifier.RuleUnitMismatch, verifier.RuleDoubleSpend, verifier.RuleUnknownHop,
		verifier.RuleSubjectDigest, verifier.RuleAttesterRole, verifier.RulePublisherRole, verifier.RuleFuture,
	} {
		if !rulesSeen[rule] {
			t.Errorf("rule %q has no case in testdata/admit", rule)
		}
	}
}
