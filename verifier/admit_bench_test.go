package verifier

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

func benchKeyOf(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("tally admission bench key/" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func benchSign(b *testing.B, ev schemas.Event, signer string) schemas.Envelope {
	env, err := schemas.Sign(ev.Kind(), ev, benchKeyOf(signer))
	if err != nil {
		b.Fatal(err)
	}
	return env
}

// benchHop is a hop of about 1 KB of canonical JSON: a trader's sale
// consuming part of a lot it bought, with labour and costs.
func benchHop(i int) *schemas.HopRecorded {
	return &schemas.HopRecorded{
		ID: fmt.Sprintf("hop-bench-%06d", i), Seller: "bench-trader", Buyer: "bench-refinery", HopKind: schemas.HopSale,
		Output: schemas.Output{Lot: fmt.Sprintf("lot-bench-%06d", i), Quantity: schemas.Quantity{Amount: "1000", Unit: "KGM"},
			Product: "cobalt hydroxide, sorted and bagged at the depot"},
		Inputs: []schemas.Input{{Lot: "lot-source", Quantity: schemas.Quantity{Amount: "1000", Unit: "KGM"}}},
		Costs: []schemas.Cost{
			{Category: "transport", Amount: schemas.Money{Amount: "140.00", Currency: "USD"}, Note: "truck from Kolwezi to the depot"},
			{Category: "rent", Amount: schemas.Money{Amount: "35.50", Currency: "USD"}, Note: "depot storage"},
		},
		Price:      schemas.Money{Amount: "3150.00", Currency: "USD"},
		OccurredAt: "2025-06-14T15:20:00+02:00",
		Location:   schemas.Location{Country: "CD", Region: "CD-LU", Place: "Musompo trading depot"},
		Labour: []schemas.Labour{
			{Category: "loader", Workers: 6, Hours: "48", Pay: schemas.Pay{Currency: "CDF", Basic: "268800", Bonus: "0", InKind: "24000"}},
			{Category: "sorter", Workers: 4, Hours: "40", Pay: schemas.Pay{Currency: "CDF", Basic: "224000", Bonus: "11200", InKind: "0"}},
			{Category: "clerk", Workers: 1, Hours: "8", Pay: schemas.Pay{Currency: "CDF", Basic: "56000", Bonus: "0", InKind: "0"}},
		},
		EPCISEventID: "urn:uuid:6f1e2a4c-8b3d-4e5f-9a10-2b3c4d5e6f70",
	}
}

// benchAdmitter returns an Admitter on a fresh on-disk log holding the
// parties and the lot the bench hops consume, and n hops to admit.
func benchAdmitter(b *testing.B, n int) (*Admitter, []Candidate) {
	b.Helper()
	l, err := ledger.Open(b.TempDir(), ledger.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	a := NewAdmitter(l, NewMemState())
	at := time.Date(2025, 6, 15, 9, 0, 0, 0, time.UTC)
	var setup []Candidate
	for _, p := range []struct{ id, role string }{{"bench-miner", "miner"}, {"bench-trader", "trader"}, {"bench-refinery", "refiner"}} {
		pub := benchKeyOf(p.id).Public().(ed25519.PublicKey)
		ev := &schemas.PartyRegistered{ID: p.id, Name: p.id, Role: p.role, Country: "CD", OrgForm: "corporation", Keys: []string{schemas.EncodePublicKey(pub)}}
		setup = append(setup, Candidate{Envelope: benchSign(b, ev, p.id), ReceivedAt: at})
	}
	src := benchHop(0)
	src.ID, src.Seller, src.Buyer, src.Inputs = "hop-source", "bench-miner", "bench-trader", nil
	src.Output.Lot, src.Output.Quantity.Amount = "lot-source", "1000000000"
	setup = append(setup, Candidate{Envelope: benchSign(b, src, "bench-miner"), ReceivedAt: at})
	ctx := context.Background()
	vs, err := a.AdmitBatch(ctx, setup)
	if err != nil {
		b.Fatal(err)
	}
	appended, _, err := l.Append(ctx, Entries(vs))
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range vs {
		if v.Status != Admitted {
			b.Fatalf("setup: %v %v", v.Problems, v.EnvelopeProblems)
		}
	}
	if err := a.Commit(appended); err != nil {
		b.Fatal(err)
	}
	cands := make([]Candidate, n)
	for i := range cands {
		cands[i] = Candidate{Envelope: benchSign(b, benchHop(i+1), "bench-trader"), ReceivedAt: at.Add(time.Minute)}
	}
	return a, cands
}

// BenchmarkAdmitHop measures admission of a batch of 1 KB hops (decode,
// validate, dedupe lookup, index keys, then the ordered pass), with and
// without signature verification, per envelope. Each iteration stages the
// batch and discards it, so the state stays the same.
func BenchmarkAdmitHop(b *testing.B) {
	const batch = 256
	for _, verify := range []bool{true, false} {
		b.Run(fmt.Sprintf("verify=%v", verify), func(b *testing.B) {
			a, cands := benchAdmitter(b, batch)
			if !verify {
				a.verify = func(items []schemas.VerifyItem) []bool {
					ok := make([]bool, len(items))
					for i := range ok {
						ok[i] = true
					}
					return ok
				}
			}
			body, _ := cands[0].Envelope.Body()
			ctx := context.Background()
			for b.Loop() {
				vs, err := a.AdmitBatch(ctx, cands)
				if err != nil {
					b.Fatal(err)
				}
				if vs[batch-1].Status != Admitted {
					b.Fatalf("not admitted: %v %v", vs[batch-1].Problems, vs[batch-1].EnvelopeProblems)
				}
				a.Discard()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/envelope")
			b.ReportMetric(float64(len(body)), "payload-bytes")
		})
	}
}

// BenchmarkAdmitScaling measures the parallel stages (preparation and
// batch signature verification) against the core count: procs=1 is the
// sequential cost, procs=N what the machine's cores buy.
func BenchmarkAdmitScaling(b *testing.B) {
	const batch = 256
	procs := []int{1}
	for n := 2; n <= runtime.NumCPU(); n *= 2 {
		procs = append(procs, n)
	}
	if last := procs[len(procs)-1]; last != runtime.NumCPU() {
		procs = append(procs, runtime.NumCPU())
	}
	for _, procs := range procs {
		b.Run(fmt.Sprintf("procs=%d", procs), func(b *testing.B) {
			_, cands := benchAdmitter(b, batch)
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			for b.Loop() {
				ps := make([]*prepared, len(cands))
				parallel(len(cands), func(i int) { ps[i] = prepare(cands[i]) })
				keys := map[string]ed25519.PublicKey{}
				for _, n := range []string{"bench-trader"} {
					pub := benchKeyOf(n).Public().(ed25519.PublicKey)
					keys[schemas.KeyID(pub)] = pub
				}
				verifySignatures(ps, func(id string) (ed25519.PublicKey, bool) { k, ok := keys[id]; return k, ok }, schemas.VerifyBatch)
				if !ps[0].sigOK[0] {
					b.Fatal("signature not verified")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/envelope")
		})
	}
}
