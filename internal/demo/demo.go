// Package demo is Tally's demo chain: cobalt from an artisanal miners'
// cooperative in Kolwezi, through a négociant, a refiner, a cell maker, a
// phone assembler, a brand and a retailer, to one smartphone sold in Bristol
// and delivered by a courier cooperative, in 2023 — with the wage and price
// attestations, an audit, a dispute and a living-wage benchmark around it.
//
// The chain is data (data/chain.json); SOURCES.md beside it lists every
// figure as sourced (with its citation from the project's reference data),
// derived (with the arithmetic) or illustrative (with the reasoning). The
// chain is also the worked example of the FEX-1 method, so its figures are
// round and a reader can follow every score with a calculator.
//
// Envelopes signs every statement with a key derived from a public seed
// (see Key) and fixed payloads, so the envelopes, and their digests, are
// the same on every run. Load submits them in order through whatever
// submission path the caller passes — tally serve --demo passes the real
// one — and a ledger answers a statement it already holds with the original
// receipt, so loading again after a restart adds nothing: loading is
// idempotent.
//
// The demo keys are public. Anyone can sign as a demo party; the demo chain
// proves nothing about the world and its parties are fictitious.
package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/tally-ledger/tally/schemas"
)

// Errors of the package; returned errors wrap them (errors.Is).
var (
	// ErrData: the embedded chain does not build into valid, signed
	// statements. The data ships with the program, so this is a bug.
	ErrData = errors.New("demo: invalid demo data")

	// ErrRejected: the ledger did not admit a demo statement. A demo that
	// does not load is a bug in the demo data or in the admission rules;
	// the error names the statement and gives the ledger's reasons.
	ErrRejected = errors.New("demo: statement rejected")
)

// Duplicate is what a submit function passed to Load returns as reasons,
// with accepted true, for a statement the ledger already held (its receipt
// says duplicate). Load counts those in Summary.Duplicates; any other
// accepted statement counts as new.
const Duplicate = "duplicate"

// The final lot of the demo chain — one smartphone — and its final sale.
// The courier's delivery service on the same lot follows the sale.
const (
	finalLot = "phone-harbourside-2023-10-0001"
	finalHop = "phone-sale-harbourside-2023-10-28"
)

// FinalLot returns the id of the demo chain's final lot: the one smartphone
// the retailer sold to a consumer (its provenance page is /p/{lot}).
func FinalLot() string { return finalLot }

// FinalHop returns the id of the final sale of FinalLot (retailer to
// consumer).
func FinalHop() string { return finalHop }

// Summary is what Load did.
type Summary struct {
	// Submitted counts the statements handed to the submit function,
	// including one that failed or was rejected.
	Submitted int
	// New counts statements the ledger accepted as new entries, Duplicates
	// those it already held (see Duplicate).
	New, Duplicates int
	// FinalLot and FinalHop are FinalLot() and FinalHop().
	FinalLot, FinalHop string
	// Parties are the demo parties' ids, in registration order.
	Parties []string
}

// SubmitFunc submits one envelope and reports whether the ledger admitted
// it. reasons says why when it was not; for an admitted envelope it is
// empty, or Duplicate when the ledger already held it. err is for a
// submission that could not be completed (ledger unreachable, no receipt).
type SubmitFunc = func(ctx context.Context, env schemas.Envelope) (accepted bool, reasons string, err error)

// Load submits every demo statement, in the order of Envelopes, through
// submit, one at a time: each is submitted only after the one before it
// was admitted, since later statements refer to earlier ones (a hop to its
// parties and input lots, an attestation to its hop). It stops at the first
// failure: an error from submit (wrapped with the statement it concerned)
// or a rejection (ErrRejected, with the ledger's reasons). The Summary
// counts what was done up to then.
//
// Loading twice is harmless: the statements are byte-identical every time,
// and the ledger answers each repeat with its original receipt.
func Load(ctx context.Context, submit SubmitFunc) (Summary, error) {
	c, err := loadChain()
	if err != nil {
		return Summary{}, err
	}
	sts, err := c.statements()
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{FinalLot: finalLot, FinalHop: finalHop, Parties: c.partyIDs()}
	for i, st := range sts {
		if err := ctx.Err(); err != nil {
			return sum, fmt.Errorf("demo: loading stopped before statement %d of %d (%s): %w", i+1, len(sts), st.label, err)
		}
		sum.Submitted++
		accepted, reasons, err := submit(ctx, st.env)
		switch {
		case err != nil:
			return sum, fmt.Errorf("demo: submitting statement %d of %d (%s): %w", i+1, len(sts), st.label, err)
		case !accepted:
			if reasons == "" {
				reasons = "no reason given"
			}
			return sum, fmt.Errorf("%w: statement %d of %d (%s): %s", ErrRejected, i+1, len(sts), st.label, reasons)
		case reasons == Duplicate:
			sum.Duplicates++
		default:
			sum.New++
		}
	}
	return sum, nil
}
