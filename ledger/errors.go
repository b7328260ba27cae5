package ledger

import "errors"

// Sentinel errors. Every error the package returns wraps one of these with
// what was wrong and where, so callers branch with errors.Is and show the
// message to people.
var (
	// ErrNotFound: the record, hash, checkpoint or key asked for is not in
	// the log (for records: at or beyond the head).
	ErrNotFound = errors.New("ledger: not found")

	// ErrClosed: the Log was closed.
	ErrClosed = errors.New("ledger: closed")

	// ErrReadOnly: a write on a Log opened read-only, or one without a
	// signing key.
	ErrReadOnly = errors.New("ledger: read-only")

	// ErrCorrupt: stored state disagrees with itself (a record that does not
	// decode, a head that does not match the last record, a bad stored
	// checkpoint). The wrapping error says what and where.
	ErrCorrupt = errors.New("ledger: corrupt")

	// ErrInvalid: bad arguments (an entry that breaks a rule, proof sizes
	// beyond the head, a checkpoint note that does not parse or verify).
	ErrInvalid = errors.New("ledger: invalid")
)
