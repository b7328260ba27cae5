package score

import "errors"

// Errors returned by this package, wrapped with the path of the offending
// field and the rule it breaks; test for them with errors.Is.
//
// A figure that is merely missing (no living wage for the country, labour
// not recorded, an input whose hop is not on the ledger, units that cannot
// be compared) is not an error: the score takes its worst case and lists the
// figure under "missing".
var (
	// ErrInvalidChain: the chain's input breaks a rule of the model (a
	// non-positive quantity or hours, a negative price, a malformed
	// currency, an unknown kind, a final hop that is not in the chain).
	ErrInvalidChain = errors.New("invalid chain")

	// ErrCycle: following input links from the final hop comes back to a
	// hop already on the path; a chain must be acyclic.
	ErrCycle = errors.New("chain has a cycle")

	// ErrNotInChain: the hop asked for is not part of the final lot's chain.
	ErrNotInChain = errors.New("hop not in chain")

	// ErrUnknownMethod: no parameter file for that method version.
	ErrUnknownMethod = errors.New("unknown method version")

	// ErrInvalidParams: a parameter set is incomplete or out of range.
	ErrInvalidParams = errors.New("invalid method parameters")

	// ErrNoReference: no reference set was given.
	ErrNoReference = errors.New("no reference figures")
)
