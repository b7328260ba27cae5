package verifier

import "errors"

// Sentinel errors of the verifier. Callers match them with errors.Is.
//
// A rejected envelope is not an error: it is a Verdict with its problems.
// An audit that finds the store disagreeing with its records is not an
// error either: it returns a Report listing the problems. These errors
// report admission or an audit that could not run.
var (
	// Admission.

	// ErrCandidate: a candidate cannot be judged at all (no received_at).
	// It is the caller's bug, not the submitter's.
	ErrCandidate = errors.New("verifier: invalid candidate")
	// ErrDiverged: the ledger does not hold what the state expects (the
	// entries appended are not the ones staged, or a record is missing).
	// The Admitter recovers by replaying the log; the error says it had to.
	ErrDiverged = errors.New("verifier: state and ledger diverged")
	// ErrNotStaged: Commit was called without a staged batch.
	ErrNotStaged = errors.New("verifier: nothing staged")

	// Audit and indexing.

	// ErrNotIndexable: a record's envelope has no index keys, because its
	// payload type is not a Tally kind or its event does not decode.
	ErrNotIndexable = errors.New("verifier: not indexable")

	// ErrLogChanged: the log was appended to while it was being audited, so
	// the tables were read at different sizes. Audit a log nobody writes
	// to, or a snapshot of it (tally verify takes one).
	ErrLogChanged = errors.New("verifier: log changed during the audit")
)
