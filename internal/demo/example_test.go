package demo_test

import (
	"context"
	"fmt"

	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/schemas"
)

// Load submits through whatever path the caller passes; tally serve --demo
// passes the real one and reports a statement the ledger already held as
// demo.Duplicate.
func ExampleLoad() {
	held := map[[32]byte]bool{} // stands in for the ledger's dedupe table
	submit := func(_ context.Context, env schemas.Envelope) (bool, string, error) {
		d, err := env.Digest()
		if err != nil {
			return false, "", err
		}
		if held[d] {
			return true, demo.Duplicate, nil
		}
		held[d] = true
		return true, "", nil
	}
	for range 2 {
		sum, err := demo.Load(context.Background(), submit)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%d submitted, %d new, %d duplicates; look at /p/%s\n", sum.Submitted, sum.New, sum.Duplicates, sum.FinalLot)
	}
	// Output:
	// 34 submitted, 34 new, 0 duplicates; look at /p/phone-harbourside-2023-10-0001
	// 34 submitted, 0 new, 34 duplicates; look at /p/phone-harbourside-2023-10-0001
}
