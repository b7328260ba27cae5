package verifier_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/verifier"
)

// gen makes a random but reproducible stream of submissions: mostly
// plausible statements, with the mistakes real submitters make (bad
// signatures, unknown parties, double spends, keys used after rotation or
// revocation, times in the future, resubmissions). It looks at the state
// of the log it feeds (st), as a submitter looks at the ledger, so that
// most statements refer to things that exist; the candidates it made are
// then replayed as a fixed stream.
type gen struct {
	t       testing.TB
	r       *rand.Rand
	st      verifier.State
	now     time.Time
	parties []string
	keys    map[string][]string // party → names of every key it was given
	keyN    int
	hops    []genHop
	lots    []string
	sent    []schemas.Envelope
	n       int
}

type genHop struct{ id, digest string }

func newGen(t testing.TB, seed uint64, st verifier.State) *gen {
	return &gen{
		t:    t,
		r:    rand.New(rand.NewPCG(seed, 0x7a11)),
		st:   st,
		now:  time.Date(2025, 6, 15, 8, 0, 0, 0, time.UTC),
		keys: map[string][]string{},
	}
}

var genRoles = []string{"miner", "miner", "trader", "trader", "refiner", "union", "workers_collective", "auditor", "researcher", "registrar", "operator", "courier"}

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) chance(n int) bool { return g.r.IntN(n) == 0 }

// party returns a party id: usually a registered one, sometimes one that
// never was.
func (g *gen) party() string {
	var known []string
	for _, p := range g.parties {
		if _, ok := g.st.Party(p); ok {
			known = append(known, p)
		}
	}
	if len(known) == 0 || g.chance(25) {
		return fmt.Sprintf("ghost-%d", g.r.IntN(3))
	}
	return g.pick(known)
}

// partyWith returns a registered party with one of the roles, if any.
func (g *gen) partyWith(roles ...string) string {
	var fit []string
	for _, p := range g.parties {
		if q, ok := g.st.Party(p); ok && slices.Contains(roles, q.Role) {
			fit = append(fit, p)
		}
	}
	if len(fit) == 0 {
		return g.party()
	}
	return g.pick(fit)
}

// signer returns the name of a key of party that is current now, or its
// latest key.
func (g *gen) signer(party string) string {
	names := g.keys[party]
	for _, k := range names {
		if key, ok := g.st.Key(schemas.KeyID(testPub(k))); ok && key.CurrentAt(g.now) {
			return k
		}
	}
	if len(names) == 0 {
		return party + "/k0"
	}
	return names[len(names)-1]
}

func (g *gen) newKey(party string) string {
	g.keyN++
	return fmt.Sprintf("%s/k%d", party, g.keyN)
}

func (g *gen) quantity() schemas.Quantity {
	u := g.pick([]string{"KGM", "KGM", "KGM", "GRM", "TNE", "LTR"})
	amount := decimal.NewFromInt(int64(1 + g.r.IntN(900)))
	switch u {
	case "GRM":
		amount = amount.Mul(decimal.NewFromInt(1000))
	case "TNE":
		amount = amount.Shift(-3)
	}
	return schemas.Quantity{Amount: schemas.Decimal(amount.String()), Unit: u}
}

// lotOf returns a lot that party holds (most of the time), or any lot.
func (g *gen) lotOf(party string) (string, bool) {
	var held []string
	for _, id := range g.lots {
		if l, ok := g.st.Lot(id); ok && l.Buyer == party {
			held = append(held, id)
		}
	}
	if len(held) > 0 && !g.chance(6) {
		return g.pick(held), true
	}
	if len(g.lots) == 0 {
		return "", false
	}
	return g.pick(g.lots), true
}

// next returns the next submission.
func (g *gen) next() verifier.Candidate {
	g.n++
	g.now = g.now.Add(time.Duration(g.r.IntN(180)) * time.Second)
	if len(g.sent) > 0 && g.chance(12) {
		return verifier.Candidate{Envelope: g.sent[g.r.IntN(len(g.sent))], ReceivedAt: g.now}
	}
	var ev schemas.Event
	var signers []string
	switch roll := g.r.IntN(100); {
	case g.n <= 4 || roll < 14:
		id := fmt.Sprintf("p%d", len(g.parties))
		if g.n > 4 && g.chance(10) && len(g.parties) > 0 {
			id = g.pick(g.parties) // a duplicate id
		}
		role := g.pick(genRoles)
		if g.n == 1 {
			role = "operator"
		}
		k := g.newKey(id)
		ev = &schemas.PartyRegistered{ID: id, Name: "Party " + id, Role: role, Country: "CD",
			OrgForm: g.pick([]string{"worker_cooperative", "corporation", "ngo"}),
			Keys:    []string{schemas.EncodePublicKey(testPub(k))}}
		signers = []string{k}
		if (role == "registrar" || role == "operator") && !g.chance(3) {
			if a := g.partyWith("operator", "registrar"); !strings.HasPrefix(a, "ghost") {
				signers = append(signers, g.signer(a))
			}
		}
		if g.chance(15) {
			signers = []string{g.signer(g.party())}
		}
		if _, dup := g.keys[id]; !dup {
			g.parties = append(g.parties, id)
			g.keys[id] = []string{k}
		}
	case roll < 50:
		seller, buyer := g.party(), g.party()
		for range 5 {
			if buyer != seller {
				break
			}
			buyer = g.party()
		}
		if buyer == seller {
			buyer = "ghost-9"
		}
		h := &schemas.HopRecorded{
			ID: fmt.Sprintf("hop-%d", g.n), Seller: seller, Buyer: buyer, HopKind: schemas.HopSale,
			Output:     schemas.Output{Lot: fmt.Sprintf("lot-%d", g.n), Quantity: g.quantity()},
			Price:      schemas.Money{Amount: schemas.Decimal(fmt.Sprintf("%d.%02d", 1+g.r.IntN(9000), g.r.IntN(100))), Currency: "USD"},
			OccurredAt: schemas.Timestamp(g.now.Add(-time.Hour).Format(time.RFC3339)),
			Location:   schemas.Location{Country: "CD"},
		}
		if len(g.lots) > 0 && g.chance(25) {
			h.Output.Lot = g.pick(g.lots) // output twice
		}
		if g.chance(20) {
			h.OccurredAt = schemas.Timestamp(g.now.Add(30 * time.Hour).Format(time.RFC3339))
		}
		if g.chance(10) && len(g.lots) > 0 {
			// A service on some lot, for whoever holds it (or not).
			lot := g.pick(g.lots)
			h.HopKind, h.Service, h.Output.Lot = schemas.HopService, "transport", lot
			if l, ok := g.st.Lot(lot); ok && !g.chance(3) && l.Buyer != seller {
				h.Buyer = l.Buyer
			}
		}
		used := map[string]bool{h.Output.Lot: true}
		for range g.r.IntN(3) {
			lot, ok := g.lotOf(seller)
			if !ok || used[lot] {
				continue
			}
			used[lot] = true
			h.Inputs = append(h.Inputs, schemas.Input{Lot: lot, Quantity: g.quantity()})
		}
		if g.chance(30) {
			h.Inputs = append(h.Inputs, schemas.Input{Lot: fmt.Sprintf("lot-nowhere-%d", g.n), Quantity: g.quantity()})
		}
		ev = h
		signers = []string{g.signer(seller)}
		if g.chance(15) {
			signers = []string{g.signer(buyer)}
		}
		if h.HopKind == schemas.HopSale {
			g.lots = append(g.lots, h.Output.Lot)
		}
	case roll < 68:
		var hops []genHop
		for _, h := range g.hops {
			if _, ok := g.st.Hop(h.id); ok {
				hops = append(hops, h)
			}
		}
		if len(hops) == 0 || g.chance(15) {
			hops = g.hops
		}
		if len(hops) == 0 {
			return g.next()
		}
		h := hops[g.r.IntN(len(hops))]
		a := &schemas.AttestationRecorded{Claim: g.pick(schemas.Claims), Subject: schemas.Subject{Hop: h.id, Digest: h.digest}}
		rec, _ := g.st.Hop(h.id)
		switch a.Claim {
		case schemas.ClaimPriceConfirmed:
			a.Attester = rec.Buyer
		case schemas.ClaimWageConfirmed:
			a.Attester = g.partyWith("union", "workers_collective")
		case schemas.ClaimAudited:
			a.Attester = g.partyWith("auditor")
			a.Scope = []string{"labour"}
		case schemas.ClaimDisputed:
			a.Attester = rec.Buyer
			a.Figures = &schemas.Figures{Price: &schemas.Money{Amount: "100", Currency: "USD"}}
		}
		if a.Attester == "" || g.chance(6) {
			a.Attester = g.party()
		}
		if g.chance(15) && len(g.hops) > 1 {
			a.Subject.Digest = g.hops[g.r.IntN(len(g.hops))].digest
		}
		ev = a
		signers = []string{g.signer(a.Attester)}
	case roll < 76:
		p := g.party()
		nk := g.newKey(p)
		old := g.signer(p)
		if g.chance(8) && len(g.keys[p]) > 1 {
			old = g.keys[p][0] // rotated away already, probably
		}
		ev = &schemas.PartyKeyRotated{Party: p, OldKey: schemas.KeyID(testPub(old)), NewKey: schemas.EncodePublicKey(testPub(nk))}
		signers = []string{old}
		if g.chance(8) {
			signers = []string{nk}
		}
		if _, ok := g.keys[p]; ok {
			g.keys[p] = append(g.keys[p], nk)
		}
	case roll < 80:
		p := g.party()
		key := g.signer(p)
		if ks := g.keys[p]; len(ks) > 1 && !g.chance(3) {
			key = ks[g.r.IntN(len(ks)-1)] // an older key, most likely rotated away
		}
		rv := &schemas.PartyKeyRevoked{Party: p, Key: schemas.KeyID(testPub(key)), Reason: g.pick(schemas.RevocationReasons)}
		switch g.r.IntN(4) {
		case 0:
			rv.RevokedAt = schemas.Timestamp(g.now.Add(-48 * time.Hour).Format(time.RFC3339))
		case 1:
			rv.RevokedAt = schemas.Timestamp(g.now.Add(time.Duration(g.r.IntN(40)) * time.Hour).Format(time.RFC3339))
		}
		ev = rv
		signers = []string{g.signer(p)}
		if g.chance(3) {
			signers = []string{g.signer(g.partyWith("registrar", "operator", "miner"))}
		}
	default:
		pub := g.partyWith("researcher", "registrar", "operator")
		if g.chance(4) {
			pub = g.party()
		}
		ev = &schemas.BenchmarkPublished{Publisher: pub, Measure: schemas.MeasureExchangeRate, Country: "CD", Year: 2024,
			Value: "2800", Currency: "CDF", Source: schemas.Source{Citation: "test", URL: "https://example.org/fx"}}
		signers = []string{g.signer(pub)}
	}
	env := signEvent(g.t, ev, signers...)
	if g.chance(20) {
		corruptSig(g.t, &env, 0)
	}
	if h, ok := ev.(*schemas.HopRecorded); ok {
		g.hops = append(g.hops, genHop{id: h.ID, digest: digestHex(g.t, env)})
	}
	g.sent = append(g.sent, env)
	return verifier.Candidate{Envelope: env, ReceivedAt: g.now}
}

// outcome is a verdict as a replica must reproduce it. DuplicateOf is
// left out: whether a repeat is in the same batch as its original depends
// on batching, what it is answered with does not.
type outcome struct {
	Status   string
	Seq      uint64
	Digest   [32]byte
	Envelope string
	Index    string
	Problems []schemas.Problem
	EnvProbs []schemas.Problem
}

func outcomeOf(v verifier.Verdict) outcome {
	return outcome{Status: v.Status.String(), Seq: v.Seq, Digest: v.Digest, Envelope: string(v.Entry.Envelope),
		Index: fmt.Sprint(v.Entry.Index), Problems: v.Problems, EnvProbs: v.EnvelopeProblems}
}

// runSplit admits cands in batches of the given sizes on a fresh log,
// restarting (close, reopen, LoadState) before batch restartAt if it is
// positive.
func runSplit(t *testing.T, cands []verifier.Candidate, sizes []int, restartAt int) ([]outcome, *admitLog) {
	t.Helper()
	al := newAdmitLog(t)
	var out []outcome
	for b, i := 0, 0; i < len(cands); b++ {
		if b == restartAt && restartAt > 0 {
			al.restart(t)
		}
		n := min(sizes[b%len(sizes)], len(cands)-i)
		for _, v := range al.submit(t, cands[i:i+n]...) {
			out = append(out, outcomeOf(v))
		}
		i += n
	}
	return out, al
}

// TestAdmitDeterministic checks that admission depends only on the log,
// the envelopes and their received_at: the same stream of submissions gives
// the same verdicts twice, whatever the batch boundaries, and across a
// restart that rebuilds the state from the ledger alone.
func TestAdmitDeterministic(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			sizes := make([]int, 64)
			for i := range sizes {
				sizes[i] = 1 + r.IntN(32)
			}
			// The first run generates the stream as it goes, looking at
			// the state the way a submitter looks at the ledger.
			al := newAdmitLog(t)
			g := newGen(t, seed, al.adm.State())
			var cands []verifier.Candidate
			var first []outcome
			for b := 0; len(cands) < 400; b++ {
				batch := make([]verifier.Candidate, sizes[b%len(sizes)])
				for i := range batch {
					batch[i] = g.next()
				}
				cands = append(cands, batch...)
				for _, v := range al.submit(t, batch...) {
					first = append(first, outcomeOf(v))
				}
			}
			ref, _ := runSplit(t, cands, sizes, 0)
			if diff := cmp.Diff(first, ref); diff != "" {
				t.Fatalf("replaying the generated stream differs (-generated +replayed):\n%s", diff)
			}
			again, _ := runSplit(t, cands, sizes, 0)
			if diff := cmp.Diff(first, again); diff != "" {
				t.Fatalf("second run differs (-first +second):\n%s", diff)
			}
			singles, _ := runSplit(t, cands, []int{1}, 0)
			if diff := cmp.Diff(first, singles); diff != "" {
				t.Fatalf("one envelope per batch differs (-batched +singles):\n%s", diff)
			}
			restarted, rl := runSplit(t, cands, sizes, 5)
			if diff := cmp.Diff(first, restarted); diff != "" {
				t.Fatalf("run with a restart differs (-first +restarted):\n%s", diff)
			}
			if al.log.Head() != rl.log.Head() {
				t.Errorf("heads differ: %+v vs %+v", al.log.Head(), rl.log.Head())
			}

			// The stream must exercise admission, not just pass through it.
			counts := map[string]int{}
			rules := map[string]int{}
			for _, o := range first {
				counts[o.Status]++
				for _, p := range append(append([]schemas.Problem(nil), o.Problems...), o.EnvProbs...) {
					rules[p.Rule]++
				}
			}
			t.Logf("verdicts %v; rules seen %d: %v", counts, len(rules), rules)
			if counts["admitted"] < 100 || counts["rejected"] < 60 || counts["duplicate"] < 10 || len(rules) < 15 {
				t.Errorf("the generated stream is too tame: %v, %d rules", counts, len(rules))
			}

			// The audit finds the log sound: in particular every record's
			// index keys are the ones DomainIndex expects.
			report, err := verifier.Audit(context.Background(), al.log, verifier.AuditOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !report.OK() {
				t.Errorf("audit: %v", report.Problems)
			}

			// An auditor replaying the log admits every record in it.
			bad, err := verifier.ReplayAdmission(context.Background(), al.log)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range bad {
				t.Errorf("replay rejects record %d: %s", v.Seq, verdictString(v))
			}

			// The state built incrementally equals the state replayed.
			loaded, err := verifier.LoadState(context.Background(), al.log)
			if err != nil {
				t.Fatal(err)
			}
			live := al.adm.State()
			eqDec := cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })
			if lp, lk, lh, ll := live.Counts(); true {
				p, k, h, l := loaded.Counts()
				if [4]int{lp, lk, lh, ll} != [4]int{p, k, h, l} {
					t.Errorf("counts live %v, loaded %v", [4]int{lp, lk, lh, ll}, [4]int{p, k, h, l})
				}
			}
			for _, id := range g.lots {
				a, aok := live.Lot(id)
				b, bok := loaded.Lot(id)
				if diff := cmp.Diff(a, b, eqDec); aok != bok || diff != "" {
					t.Errorf("lot %s: live %v (%v) loaded %v (%v) %s", id, a, aok, b, bok, diff)
				}
			}
			for _, p := range g.parties {
				a, _ := live.Party(p)
				b, _ := loaded.Party(p)
				if diff := cmp.Diff(a, b); diff != "" {
					t.Errorf("party %s: %s", p, diff)
				}
				for _, k := range a.Keys {
					ka, _ := live.Key(k)
					kb, _ := loaded.Key(k)
					if diff := cmp.Diff(ka, kb); diff != "" {
						t.Errorf("key %s: %s", k, diff)
					}
				}
			}
		})
	}
}
