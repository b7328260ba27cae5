package verifier_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/verifier"
)

var t0 = time.Date(2025, 6, 15, 9, 0, 0, 0, time.UTC)

func registration(t testing.TB, id, role string, at time.Time) verifier.Candidate {
	t.Helper()
	ev := &schemas.PartyRegistered{ID: id, Name: "Party " + id, Role: role, Country: "CD", OrgForm: "corporation",
		Keys: []string{schemas.EncodePublicKey(testPub(id))}}
	return verifier.Candidate{Envelope: signEvent(t, ev, id), ReceivedAt: at}
}

func sale(t testing.TB, id, seller, buyer, lot, kgm string, at time.Time, inputs ...schemas.Input) verifier.Candidate {
	t.Helper()
	ev := &schemas.HopRecorded{ID: id, Seller: seller, Buyer: buyer, HopKind: schemas.HopSale,
		Output:     schemas.Output{Lot: lot, Quantity: schemas.Quantity{Amount: schemas.Decimal(kgm), Unit: "KGM"}},
		Inputs:     inputs,
		Price:      schemas.Money{Amount: "100.00", Currency: "USD"},
		OccurredAt: "2025-06-14T10:00:00Z", Location: schemas.Location{Country: "CD"}}
	return verifier.Candidate{Envelope: signEvent(t, ev, seller), ReceivedAt: at}
}

func kg(lot, amount string) schemas.Input {
	return schemas.Input{Lot: lot, Quantity: schemas.Quantity{Amount: schemas.Decimal(amount), Unit: "KGM"}}
}

type brief struct {
	Status string
	Seq    uint64
	DupOf  int
	Rules  []string
}

func briefs(vs []verifier.Verdict) []brief {
	out := make([]brief, len(vs))
	for i, v := range vs {
		out[i] = brief{Status: v.Status.String(), Seq: v.Seq, DupOf: v.DuplicateOf}
		for _, p := range append(append([]schemas.Problem(nil), v.Problems...), v.EnvelopeProblems...) {
			out[i].Rules = append(out[i].Rules, p.Path+" "+p.Rule)
		}
	}
	return out
}

// TestAdmitBatchSeesEarlierEntries: within one batch, each candidate is
// judged after the ones before it, as if they were already logged.
func TestAdmitBatchSeesEarlierEntries(t *testing.T) {
	al := newAdmitLog(t)
	hop1 := sale(t, "hop-1", "coop", "trader", "lot-1", "100", t0.Add(3*time.Second))
	vs := al.submit(t,
		sale(t, "hop-0", "coop", "trader", "lot-0", "5", t0), // before its parties exist
		registration(t, "coop", "miner", t0.Add(time.Second)),
		registration(t, "trader", "trader", t0.Add(2*time.Second)),
		hop1,
		sale(t, "hop-2", "trader", "coop", "lot-2", "60", t0.Add(4*time.Second), kg("lot-1", "60")),
		sale(t, "hop-3", "trader", "coop", "lot-3", "50", t0.Add(5*time.Second), kg("lot-1", "50")),
		verifier.Candidate{Envelope: hop1.Envelope, ReceivedAt: t0.Add(6 * time.Second)},
		sale(t, "hop-4", "trader", "coop", "lot-4", "40", t0.Add(7*time.Second), kg("lot-1", "40")),
	)
	want := []brief{
		{Status: "rejected", DupOf: -1, Rules: []string{"/buyer unknown_party", "/seller unknown_party", "/signatures/0/keyid unknown_key"}},
		{Status: "admitted", Seq: 0, DupOf: -1},
		{Status: "admitted", Seq: 1, DupOf: -1},
		{Status: "admitted", Seq: 2, DupOf: -1},
		{Status: "admitted", Seq: 3, DupOf: -1},
		{Status: "rejected", DupOf: -1, Rules: []string{"/inputs/0/quantity double_spend"}},
		{Status: "duplicate", Seq: 2, DupOf: 3},
		{Status: "admitted", Seq: 4, DupOf: -1},
	}
	if diff := cmp.Diff(want, briefs(vs)); diff != "" {
		t.Fatalf("verdicts (-want +got):\n%s", diff)
	}
	if got := al.log.Head().Size; got != 5 {
		t.Errorf("log size %d, want 5", got)
	}
	lot, _ := al.adm.State().Lot("lot-1")
	if lot.Consumed.String() != "100" {
		t.Errorf("lot-1 consumed %s, want 100", lot.Consumed)
	}

	// A later batch: the logged hop is answered with its seq; the hop
	// rejected earlier because its parties did not exist is judged again.
	vs = al.submit(t,
		verifier.Candidate{Envelope: hop1.Envelope, ReceivedAt: t0.Add(time.Minute)},
		sale(t, "hop-0", "coop", "trader", "lot-0", "5", t0.Add(time.Minute)),
	)
	want = []brief{{Status: "duplicate", Seq: 2, DupOf: -1}, {Status: "admitted", Seq: 5, DupOf: -1}}
	if diff := cmp.Diff(want, briefs(vs)); diff != "" {
		t.Fatalf("second batch (-want +got):\n%s", diff)
	}
}

// TestAdmitRepeatOfRejectedIsJudgedAgain: a repeat of a statement that
// was rejected earlier in the batch is judged where it stands, exactly as
// in a batch of its own, so that verdicts never depend on batching.
func TestAdmitRepeatOfRejectedIsJudgedAgain(t *testing.T) {
	al := newAdmitLog(t)
	hop := sale(t, "hop-1", "coop", "trader", "lot-1", "10", t0)
	vs := al.submit(t,
		hop,
		registration(t, "coop", "miner", t0.Add(time.Second)),
		registration(t, "trader", "trader", t0.Add(2*time.Second)),
		verifier.Candidate{Envelope: hop.Envelope, ReceivedAt: t0.Add(3 * time.Second)},
		verifier.Candidate{Envelope: hop.Envelope, ReceivedAt: t0.Add(4 * time.Second)},
	)
	want := []brief{
		{Status: "rejected", DupOf: -1, Rules: []string{"/buyer unknown_party", "/seller unknown_party", "/signatures/0/keyid unknown_key"}},
		{Status: "admitted", Seq: 0, DupOf: -1},
		{Status: "admitted", Seq: 1, DupOf: -1},
		{Status: "admitted", Seq: 2, DupOf: -1},
		{Status: "duplicate", Seq: 2, DupOf: 3},
	}
	if diff := cmp.Diff(want, briefs(vs)); diff != "" {
		t.Fatalf("verdicts (-want +got):\n%s", diff)
	}
	rec, err := al.log.Get(2)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.ReceivedAt.Equal(t0.Add(3 * time.Second)) {
		t.Errorf("logged received_at %v, want the admitted copy's", rec.ReceivedAt)
	}
}

// TestAdmitDiscardKeepsStateWithLedger: when the append fails, the staged
// batch is dropped and the same batch is admitted the same way again.
func TestAdmitDiscardKeepsStateWithLedger(t *testing.T) {
	al := newAdmitLog(t)
	ctx := t.Context()
	batch := []verifier.Candidate{
		registration(t, "coop", "miner", t0),
		registration(t, "trader", "trader", t0.Add(time.Second)),
		sale(t, "hop-1", "coop", "trader", "lot-1", "10", t0.Add(2*time.Second)),
	}
	first, err := al.adm.AdmitBatch(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := al.log.Append(cancelled, verifier.Entries(first)); err == nil {
		t.Fatal("append with a cancelled context succeeded")
	}
	al.adm.Discard()
	if _, ok := al.adm.State().Party("coop"); ok || al.adm.State().Size() != 0 {
		t.Fatal("state changed although nothing was appended")
	}
	if err := al.adm.Commit(nil); err != nil {
		t.Errorf("commit of nothing: %v", err)
	}
	again := al.submit(t, batch...)
	if diff := cmp.Diff(briefs(first), briefs(again)); diff != "" {
		t.Fatalf("verdicts after a failed append (-first +again):\n%s", diff)
	}
	if _, ok := al.adm.State().Party("coop"); !ok {
		t.Error("committed party missing")
	}
}

// TestAdmitCatchesUp: records appended by another writer (or by an Append
// whose result was lost) are replayed into the state before the next
// batch, and a commit that does not match the ledger is refused and
// repaired.
func TestAdmitCatchesUp(t *testing.T) {
	al := newAdmitLog(t)
	ctx := t.Context()
	other := verifier.NewAdmitter(al.log, verifier.NewMemState())
	write := func(a *verifier.Admitter, cands ...verifier.Candidate) {
		t.Helper()
		vs, err := a.AdmitBatch(ctx, cands)
		if err != nil {
			t.Fatal(err)
		}
		appended, _, err := al.log.Append(ctx, verifier.Entries(vs))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Commit(appended); err != nil {
			t.Fatal(err)
		}
	}
	write(other, registration(t, "coop", "miner", t0), registration(t, "trader", "trader", t0.Add(time.Second)))

	vs := al.submit(t, sale(t, "hop-1", "coop", "trader", "lot-1", "10", t0.Add(2*time.Second)))
	if diff := cmp.Diff([]brief{{Status: "admitted", Seq: 2, DupOf: -1}}, briefs(vs)); diff != "" {
		t.Fatalf("after another writer (-want +got):\n%s", diff)
	}

	// Stage a batch, let the other writer append first, then append ours:
	// the seqs differ from what was staged.
	staged, err := al.adm.AdmitBatch(ctx, []verifier.Candidate{sale(t, "hop-2", "trader", "coop", "lot-2", "4", t0.Add(4*time.Second), kg("lot-1", "4"))})
	if err != nil {
		t.Fatal(err)
	}
	write(other, sale(t, "hop-3", "trader", "coop", "lot-3", "8", t0.Add(3*time.Second), kg("lot-1", "8")))
	appended, _, err := al.log.Append(ctx, verifier.Entries(staged))
	if err != nil {
		t.Fatal(err)
	}
	if err := al.adm.Commit(appended); !errors.Is(err, verifier.ErrDiverged) {
		t.Fatalf("commit after another writer: %v, want ErrDiverged", err)
	}
	st := al.adm.State()
	if st.Size() != al.log.Head().Size {
		t.Fatalf("state size %d, log size %d", st.Size(), al.log.Head().Size)
	}
	if lot, _ := st.Lot("lot-1"); lot.Consumed.String() != "12" {
		t.Errorf("lot-1 consumed %s after catching up, want 12", lot.Consumed)
	}
}

// TestAdmitMatchesAdmitBatch: the one-envelope form reaches the batch's
// verdict.
func TestAdmitMatchesAdmitBatch(t *testing.T) {
	al := newAdmitLog(t)
	al.submit(t, registration(t, "coop", "miner", t0), registration(t, "trader", "trader", t0.Add(time.Second)),
		sale(t, "hop-1", "coop", "trader", "lot-1", "10", t0.Add(2*time.Second)))
	for i, c := range []verifier.Candidate{
		sale(t, "hop-2", "trader", "coop", "lot-2", "4", t0.Add(time.Minute), kg("lot-1", "4")),
		sale(t, "hop-3", "trader", "coop", "lot-3", "4", t0.Add(time.Minute), kg("lot-1", "11")),
		sale(t, "hop-4", "trader", "ghost", "lot-4", "4", t0.Add(time.Minute)),
		registration(t, "coop", "trader", t0.Add(time.Minute)),
	} {
		one := verifier.Admit(al.adm.State(), c)
		batch, err := al.adm.AdmitBatch(t.Context(), []verifier.Candidate{c})
		if err != nil {
			t.Fatal(err)
		}
		al.adm.Discard()
		batch[0].Event, one.Event = nil, nil
		if diff := cmp.Diff(batch[0], one); diff != "" {
			t.Errorf("candidate %d: Admit differs from AdmitBatch (-batch +one):\n%s", i, diff)
		}
	}
}

func TestAdmitNeedsReceivedAt(t *testing.T) {
	al := newAdmitLog(t)
	c := registration(t, "coop", "miner", t0)
	c.ReceivedAt = time.Time{}
	if _, err := al.adm.AdmitBatch(t.Context(), []verifier.Candidate{c}); !errors.Is(err, verifier.ErrCandidate) {
		t.Fatalf("err %v, want ErrCandidate", err)
	}
}

// TestLoadStateSkipsForeignRecords: records outside the vocabulary (the
// bench kind) take a sequence number and nothing else.
func TestLoadStateSkipsForeignRecords(t *testing.T) {
	al := newAdmitLog(t)
	env, err := verifier.NewBenchEnvelope(benchKey, schemas.KeyID(benchKey.Public().(ed25519.PublicKey)), verifier.BenchPayload{Lot: "lot-1", N: 1, Party: "coop"})
	if err != nil {
		t.Fatal(err)
	}
	canon, err := env.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	d, _ := env.Digest()
	if _, _, err := al.log.Append(t.Context(), []ledger.Entry{{Digest: d, ReceivedAt: t0, Envelope: canon}}); err != nil {
		t.Fatal(err)
	}
	vs := al.submit(t, registration(t, "coop", "miner", t0.Add(time.Second)))
	if diff := cmp.Diff([]brief{{Status: "admitted", Seq: 1, DupOf: -1}}, briefs(vs)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	al.restart(t)
	st := al.adm.State()
	if p, h, _, l := st.Counts(); st.Size() != 2 || p != 1 || h != 1 || l != 0 {
		t.Errorf("loaded size %d counts %d %d %d", st.Size(), p, h, l)
	}
	bad, err := verifier.ReplayAdmission(t.Context(), al.log)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || bad[0].Seq != 0 || bad[0].EnvelopeProblems[0].Rule != verifier.RuleKind {
		t.Errorf("replay: %v", bad)
	}
}
