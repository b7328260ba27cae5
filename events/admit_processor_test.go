package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// admitParty is a registration of id signed by its own key.
func admitParty(t testing.TB, id, role string, key *client.Key) schemas.Envelope {
	t.Helper()
	return admitSign(t, &schemas.PartyRegistered{ID: id, Name: "Party " + id, Role: role, Country: "CD", OrgForm: "worker_cooperative",
		Keys: []string{key.PublicKeyString()}}, key)
}

// admitHop is a sale of kgm kilograms of lot from seller to buyer,
// consuming inputs, signed by key.
func admitHop(t testing.TB, id, seller, buyer, lot, kgm string, key *client.Key, inputs ...schemas.Input) schemas.Envelope {
	t.Helper()
	return admitSign(t, &schemas.HopRecorded{ID: id, Seller: seller, Buyer: buyer, HopKind: schemas.HopSale,
		Output:     schemas.Output{Lot: lot, Quantity: schemas.Quantity{Amount: schemas.Decimal(kgm), Unit: "KGM"}},
		Inputs:     inputs,
		Price:      schemas.Money{Amount: "1000.00", Currency: "USD"},
		OccurredAt: "2025-06-14T15:20:00+02:00",
		Location:   schemas.Location{Country: "CD", Region: "CD-LU"},
	}, key)
}

func admitSign(t testing.TB, ev schemas.Event, key *client.Key) schemas.Envelope {
	t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	env, err := client.Sign(ev.Kind(), body, key)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestAdmissionOverNATS submits statements over the embedded NATS server to
// an ingest loop running the admission rules: valid ones get receipts that
// verify, a resubmission gets its original receipt, and rule breakers are
// rejected with reasons naming the field.
func TestAdmissionOverNATS(t *testing.T) {
	emb := startNATS(t, "", 0)
	nc := connect(t, emb.ClientURL())
	l, proc := admissionProcessor(t)
	runIngest(t, nc, proc, events.IngestOptions{})

	coop, trader := newKey(t), newKey(t)
	submit := func(env schemas.Envelope) (*client.Receipt, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		r, err := client.SubmitNATS(ctx, nc, env)
		if err == nil {
			canon, _ := env.Canonical()
			if verr := client.VerifyReceipt(r, l.VerifierKey(), canon); verr != nil {
				t.Fatalf("receipt does not verify: %v", verr)
			}
		}
		return r, err
	}
	mustAdmit := func(env schemas.Envelope) *client.Receipt {
		t.Helper()
		r, err := submit(env)
		if err != nil {
			t.Fatalf("submission rejected: %v", err)
		}
		return r
	}
	rejected := func(env schemas.Envelope) []client.Reason {
		t.Helper()
		_, err := submit(env)
		var rej *client.RejectedError
		if !errors.As(err, &rej) {
			t.Fatalf("got %v, want a rejection", err)
		}
		d, _ := env.Digest()
		if rej.Rejection.Digest != hexOf(d) {
			t.Errorf("rejection digest %s, want %s", rej.Rejection.Digest, hexOf(d))
		}
		return rej.Rejection.Reasons
	}
	type ref struct{ Path, Rule string }
	refsOf := func(rs []client.Reason) []ref {
		var out []ref
		for _, r := range rs {
			out = append(out, ref{r.Path, r.Rule})
		}
		return out
	}

	mustAdmit(admitParty(t, "kolwezi-coop", "miner", coop))
	mustAdmit(admitParty(t, "musompo-trader", "trader", trader))
	hop1 := admitHop(t, "hop-1", "kolwezi-coop", "musompo-trader", "lot-1", "2000", coop)
	first := mustAdmit(hop1)
	if first.Seq != 2 || first.Duplicate {
		t.Fatalf("hop-1: seq %d duplicate %v, want seq 2, new", first.Seq, first.Duplicate)
	}
	mustAdmit(admitHop(t, "hop-2", "musompo-trader", "kolwezi-coop", "lot-2", "1500", trader,
		schemas.Input{Lot: "lot-1", Quantity: schemas.Quantity{Amount: "1500", Unit: "KGM"}}))

	t.Run("double spend", func(t *testing.T) {
		got := rejected(admitHop(t, "hop-3", "musompo-trader", "kolwezi-coop", "lot-3", "600", trader,
			schemas.Input{Lot: "lot-1", Quantity: schemas.Quantity{Amount: "600", Unit: "KGM"}}))
		if diff := cmp.Diff([]ref{{"/payload/inputs/0/quantity", "double_spend"}}, refsOf(got)); diff != "" {
			t.Errorf("reasons (-want +got):\n%s", diff)
		}
	})
	t.Run("unknown buyer", func(t *testing.T) {
		got := rejected(admitHop(t, "hop-4", "kolwezi-coop", "nobody", "lot-4", "10", coop))
		if diff := cmp.Diff([]ref{{"/payload/buyer", "unknown_party"}}, refsOf(got)); diff != "" {
			t.Errorf("reasons (-want +got):\n%s", diff)
		}
	})
	t.Run("bad signature", func(t *testing.T) {
		env := admitHop(t, "hop-5", "kolwezi-coop", "musompo-trader", "lot-5", "10", coop)
		env.Signatures[0].Sig = admitHop(t, "hop-6", "kolwezi-coop", "musompo-trader", "lot-6", "10", coop).Signatures[0].Sig
		got := rejected(env)
		if diff := cmp.Diff([]ref{{"/signatures/0/sig", "signature"}}, refsOf(got)); diff != "" {
			t.Errorf("reasons (-want +got):\n%s", diff)
		}
	})
	t.Run("resubmission", func(t *testing.T) {
		again := mustAdmit(hop1)
		if again.Seq != first.Seq || !again.Duplicate || again.EntryHash != first.EntryHash {
			t.Errorf("resubmitted hop-1: seq %d duplicate %v entry %s; want seq %d duplicate entry %s",
				again.Seq, again.Duplicate, again.EntryHash, first.Seq, first.EntryHash)
		}
	})

	if got := l.Head().Size; got != 4 {
		t.Errorf("ledger holds %d entries, want 4", got)
	}
	if lot, _ := proc.State().Lot("lot-1"); lot.Consumed.String() != "1500" {
		t.Errorf("lot-1 consumed %s, want 1500", lot.Consumed)
	}
}

// TestAdmissionProcessorBatch drives Process directly: one batch whose
// later entries depend on earlier ones, repeats answered by the first
// copy, and a failed append that leaves the admission state untouched so
// the retried batch gets the same answers.
func TestAdmissionProcessorBatch(t *testing.T) {
	t.Run("prepared in Process", func(t *testing.T) { testAdmissionProcessorBatch(t, false) })
	// As the ingest loop does: Prepare ahead, its results reused when the
	// batch is retried.
	t.Run("prepared ahead", func(t *testing.T) { testAdmissionProcessorBatch(t, true) })
}

func testAdmissionProcessorBatch(t *testing.T, ahead bool) {
	l, proc := admissionProcessor(t)
	coop, trader := newKey(t), newKey(t)
	at := time.Date(2025, 6, 15, 9, 0, 0, 0, time.UTC)
	var batch []events.Submission
	add := func(env schemas.Envelope) {
		canon, err := env.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, events.Submission{Data: canon, ReceivedAt: at.Add(time.Duration(len(batch)) * time.Second), StreamSeq: uint64(len(batch) + 1)})
	}
	hop := admitHop(t, "hop-1", "kolwezi-coop", "musompo-trader", "lot-1", "100", coop)
	add(admitParty(t, "kolwezi-coop", "miner", coop))
	add(admitParty(t, "musompo-trader", "trader", trader))
	add(hop)
	add(hop)
	add(admitHop(t, "hop-2", "musompo-trader", "kolwezi-coop", "lot-2", "100", trader,
		schemas.Input{Lot: "lot-1", Quantity: schemas.Quantity{Amount: "101", Unit: "KGM"}}))
	batch = append(batch, events.Submission{Data: []byte("not json"), ReceivedAt: at, StreamSeq: 99})
	if ahead {
		for i := range batch {
			batch[i].Prepared = proc.Prepare(batch[i])
		}
	}

	type brief struct {
		Seq       uint64
		Duplicate bool
		Rejected  []string
	}
	summary := func(outs []events.Outcome) []brief {
		var bs []brief
		for _, o := range outs {
			switch {
			case o.Receipt != nil:
				bs = append(bs, brief{Seq: o.Receipt.Seq, Duplicate: o.Receipt.Duplicate})
			default:
				var rs []string
				for _, r := range o.Rejection.Reasons {
					rs = append(rs, r.Path+" "+r.Rule)
				}
				bs = append(bs, brief{Rejected: rs})
			}
		}
		return bs
	}
	want := []brief{
		{Seq: 0}, {Seq: 1}, {Seq: 2}, {Seq: 2, Duplicate: true},
		{Rejected: []string{"/payload/inputs/0/quantity double_spend"}},
	}

	// An append that fails commits nothing: here the ledger refuses a
	// received_at beyond year 9999, after admission staged the batch.
	bad := append([]events.Submission(nil), batch...)
	bad[2].ReceivedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := proc.Process(t.Context(), bad); !errors.Is(err, ledger.ErrInvalid) {
		t.Fatalf("Process of a batch the ledger refuses: %v, want ledger.ErrInvalid", err)
	}
	if l.Head().Size != 0 || proc.State().Size() != 0 {
		t.Fatalf("after a failed batch: log %d, state %d, want 0", l.Head().Size, proc.State().Size())
	}

	outs, err := proc.Process(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, summary(outs[:5])); diff != "" {
		t.Fatalf("outcomes (-want +got):\n%s", diff)
	}
	if r := outs[5].Rejection; r == nil || len(r.Reasons) == 0 || r.Digest != "" {
		t.Errorf("a body that is not an envelope: %+v, want a rejection without digest", outs[5])
	}

	// The same batch again (a redelivery after a crash): every admitted
	// statement is answered with its original receipt.
	outs, err = proc.Process(t.Context(), batch[:4])
	if err != nil {
		t.Fatal(err)
	}
	want = []brief{{Seq: 0, Duplicate: true}, {Seq: 1, Duplicate: true}, {Seq: 2, Duplicate: true}, {Seq: 2, Duplicate: true}}
	if diff := cmp.Diff(want, summary(outs)); diff != "" {
		t.Fatalf("redelivery (-want +got):\n%s", diff)
	}
	if l.Head().Size != 3 {
		t.Errorf("ledger holds %d entries, want 3", l.Head().Size)
	}
}

// TestAdmissionProcessorCommittedBatchAgain: a committed batch that comes
// again (answering it failed, the session restarted) gets the answers it
// got the first time. Judged again, its rejected hop would now find the
// parties registered by the lines after it and be admitted, out of stream
// order.
func TestAdmissionProcessorCommittedBatchAgain(t *testing.T) {
	l, proc := admissionProcessor(t)
	coop, trader := newKey(t), newKey(t)
	at := time.Date(2025, 6, 15, 9, 0, 0, 0, time.UTC)
	canon := func(env schemas.Envelope) []byte {
		c, err := env.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	hop := canon(admitHop(t, "hop-1", "kolwezi-coop", "musompo-trader", "lot-1", "100", coop))
	batch := []events.Submission{
		{Data: hop, ReceivedAt: at, StreamSeq: 7, BulkLine: 1},
		{Data: canon(admitParty(t, "kolwezi-coop", "miner", coop)), ReceivedAt: at, StreamSeq: 7, BulkLine: 2},
		{Data: canon(admitParty(t, "musompo-trader", "trader", trader)), ReceivedAt: at, StreamSeq: 7, BulkLine: 3},
	}
	first, err := proc.Process(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if first[0].Rejection == nil || first[1].Receipt == nil || first[2].Receipt == nil {
		t.Fatalf("first time: %+v", first)
	}
	again, err := proc.Process(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Rejection == nil || !cmp.Equal(again[0].Rejection, first[0].Rejection) {
		t.Errorf("the rejected hop, again: %+v, want the first answer %+v", again[0], first[0].Rejection)
	}
	if again[1].Receipt == nil || !again[1].Receipt.Duplicate || again[2].Receipt == nil || !again[2].Receipt.Duplicate {
		t.Errorf("the registrations, again: %+v, %+v; want duplicates", again[1], again[2])
	}
	if l.Head().Size != 2 {
		t.Fatalf("ledger holds %d entries, want 2", l.Head().Size)
	}

	// Another message at the same place (a recreated stream) is judged on
	// its own; the same hop at a later place is judged afresh.
	other := canon(admitHop(t, "hop-2", "kolwezi-coop", "musompo-trader", "lot-2", "100", coop))
	later := []events.Submission{
		{Data: other, ReceivedAt: at, StreamSeq: 7, BulkLine: 1},
		{Data: hop, ReceivedAt: at, StreamSeq: 8},
	}
	outs, err := proc.Process(t.Context(), later)
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].Receipt == nil || outs[0].Receipt.Seq != 2 || outs[1].Receipt == nil || outs[1].Receipt.Seq != 3 {
		t.Errorf("later: %+v, %+v; want receipts at seq 2 and 3", outs[0], outs[1])
	}
}
