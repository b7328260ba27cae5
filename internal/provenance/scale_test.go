package provenance_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/schemas"
)

// TestReadsDoNotGrowWithTheLedger: scoring the demo's phone reads its
// chain through the indexes only. Thousands of entries about other lots,
// more sales by the same parties and more consumers of the same upstream
// lots leave the work (allocations and bytes allocated) where it was.
// Each score is by a new Reader, so that nothing is cached between them.
func TestReadsDoNotGrowWithTheLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("appends thousands of signed entries")
	}
	b := demoBook(t)
	measure := func() (allocs float64, bytes uint64) {
		const runs = 20
		// One score first, outside the count: the ledger builds the lookup
		// maps of its pending blocks (entries not yet folded into its index
		// tables) on their first read, once, as Pebble fills its cache.
		if _, err := b.reader(t).LotScore(t.Context(), demo.FinalLot()); err != nil {
			t.Fatal(err)
		}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		allocs = testing.AllocsPerRun(runs, func() {
			if _, err := b.reader(t).LotScore(t.Context(), demo.FinalLot()); err != nil {
				t.Fatal(err)
			}
		})
		runtime.ReadMemStats(&m1)
		return allocs, (m1.TotalAlloc - m0.TotalAlloc) / (runs + 1)
	}
	allocs0, bytes0 := measure()

	// Sales of other lots by other parties, and by the retailer out of the
	// same wholesale lot the demo phone came from.
	const others, sameLot = 3000, 500
	var envs []schemas.Envelope
	for i := range others + sameLot {
		h := &schemas.HopRecorded{
			ID: fmt.Sprintf("other-sale-%d", i), Seller: fmt.Sprintf("other-seller-%d", i%50), Buyer: "other-buyer", HopKind: schemas.HopSale,
			Output: schemas.Output{Lot: fmt.Sprintf("other-lot-%d", i), Quantity: schemas.Quantity{Amount: "1", Unit: "H87"}},
			Price:  schemas.Money{Amount: "10.00", Currency: "USD"}, OccurredAt: "2023-12-01T10:00:00Z",
			Location: schemas.Location{Country: "GB"},
		}
		if i >= others {
			h.Seller, h.Buyer = "harbourside-electronics", schemas.EndConsumer
			h.Inputs = []schemas.Input{{Lot: "phones-pocketfair-gb-2023-09", Quantity: schemas.Quantity{Amount: "1", Unit: "H87"}}}
		}
		envs = append(envs, sign(t, h.Seller, h))
	}
	b.add(t, envs...)
	allocs1, bytes1 := measure()

	t.Logf("per score: %.0f allocations, %d bytes with %d entries; %.0f, %d with %d", allocs0, bytes0, len(b.stmts)-len(envs), allocs1, bytes1, len(b.stmts))
	if allocs1 > allocs0*1.05 || float64(bytes1) > float64(bytes0)*1.10 {
		t.Errorf("a score of the same chain allocates %.0f times (%d bytes) on a ledger %d entries larger, against %.0f (%d bytes)",
			allocs1, bytes1, len(envs), allocs0, bytes0)
	}
}

// BenchmarkDemo reads the demo phone's provenance, and scores it.
func BenchmarkDemo(b *testing.B) {
	bk := demoBook(b)
	r := bk.reader(b)
	b.Run("provenance", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.Lot(b.Context(), demo.FinalLot()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("score", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.LotScore(b.Context(), demo.FinalLot()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("score/new-reader", func(b *testing.B) {
		for b.Loop() {
			if _, err := bk.reader(b).LotScore(b.Context(), demo.FinalLot()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
