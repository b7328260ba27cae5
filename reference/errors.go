package reference

import "errors"

// Errors returned by this package, always wrapped with the place and the rule
// broken; test for them with errors.Is.
var (
	// ErrInvalidFigure: a figure lacks something every figure must carry
	// (kind, country, year, currency, amount, period, method, source,
	// origin) or carries it in the wrong form.
	ErrInvalidFigure = errors.New("invalid reference figure")

	// ErrBundledData: a bundled data file could not be read as published
	// (a malformed row, a value without its source, a duplicate row).
	ErrBundledData = errors.New("bundled reference data")

	// ErrNotLedger: With was given a figure whose origin is not a ledger
	// entry; only benchmark.published entries layer on top of the bundle.
	ErrNotLedger = errors.New("figure does not come from the ledger")
)
