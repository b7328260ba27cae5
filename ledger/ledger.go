// Package ledger is Tally's append-only log: one Pebble store holding the
// records, an RFC 6962 Merkle tree over them (stored hashes managed by
// golang.org/x/mod/sumdb/tlog), a hash chain, signed C2SP checkpoints,
// permanent deduplication by submission digest and caller-defined secondary
// indexes.
//
// A record is the RFC 8785 canonical JSON
//
//	{"envelope":<DSSE envelope>,"received_at":"<RFC 3339, UTC>","seq":<n>}
//
// and its leaf hash is tlog.RecordHash of those bytes. The chain links every
// record to the one before it: chain[n] = SHA-256(0x01 || chain[n-1] ||
// leaf[n]) with chain[-1] all zero.
//
// Durability and order: each Append is one Pebble batch holding the records,
// chain hashes, stored tree hashes, their digests and index keys (as one
// pending block, which a background fold later moves into the sorted dedupe
// and index tables; see pending.go), the checkpoint for the new size and the
// head, committed with fsync (pebble.Sync) before Append returns. A crash therefore leaves the store at the end of some whole
// Append, never between, and a caller that acknowledges a submission only
// after Append returns never acknowledges something a crash can take back.
//
// Concurrency: one writer at a time (Append calls are serialized inside the
// Log), any number of concurrent readers. Readers see the log as of the last
// published head: a record becomes visible only after its batch is durable.
// Only the fsync wait runs outside the writer's mutex, so Appends from
// several goroutines, or AppendAsync with a few batches in flight, share
// fsyncs (group commit) while keeping one order.
//
// On disk a Log is a directory holding pebble/ (the store), log.key (the
// note signing key, mode 0600) and log.pub (the verifier key). The key
// layout inside Pebble is defined by internal/keys.
package ledger

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// DefaultOrigin is the checkpoint origin of a new log whose Options name
// none.
const DefaultOrigin = "tally.example/log"

// DefaultCacheSize is the Pebble block cache size when Options.CacheSize is 0.
const DefaultCacheSize = 64 << 20

// Options configure Open. The zero value opens (or creates) a writable log
// on disk with a generated key.
type Options struct {
	// Origin is the checkpoint origin line and the name of the log's key.
	// Empty: the name of the existing key (log.key, log.pub, Signer), or
	// DefaultOrigin when a new key is generated. A non-empty Origin that
	// differs from the key's name is an error.
	Origin string

	// ReadOnly opens Pebble read-only (it still takes Pebble's directory
	// lock). The store must exist. Without log.key (or Signer) the log can
	// verify checkpoints but not sign them.
	ReadOnly bool

	// FS is the file system; nil means vfs.Default (the disk). Tests use
	// vfs.NewMem().
	FS vfs.FS

	// Logger receives the log's and Pebble's messages; nil means
	// slog.Default().
	Logger *slog.Logger

	// CacheSize is the Pebble block cache in bytes; 0 means DefaultCacheSize.
	CacheSize int64

	// Signer signs checkpoints instead of dir/log.key. Its verifier key text
	// comes from VerifierKey or, failing that, dir/log.pub.
	Signer note.Signer

	// VerifierKey is the note verifier key text ("name+hash+base64") that
	// matches Signer. When set it must also match log.key if both exist.
	VerifierKey string

	// FoldAfter is how many durable records may wait in pending blocks
	// before the background fold moves them into the dedupe and index
	// tables (see Fold); 0 means DefaultFoldAfter. Negative: never fold,
	// neither in the background nor at Close (tests that need pending
	// blocks on disk).
	FoldAfter int

	// NoSync commits without fsync. Only for benchmarks that compare against
	// a raw store: a log opened with NoSync can lose acknowledged appends on
	// a crash.
	NoSync bool
}

// Log is an open ledger. Its methods are safe for concurrent use.
type Log struct {
	dir      string
	db       *pebble.DB
	logger   *slog.Logger
	origin   string
	signer   note.Signer // nil when opened read-only without a private key
	verifier note.Verifier
	vkey     string
	readOnly bool
	wopts    *pebble.WriteOptions

	// refs counts calls in flight; Close sets closedBit and waits for the
	// count to drain before closing Pebble, which panics on use after close.
	refs atomic.Int64

	// cache holds upper-level tree hashes for proofs (see upperCache).
	cache upperCache

	// state is the published head and latest checkpoint. It is replaced, never
	// mutated, and only after the batch it describes is durable.
	state atomic.Pointer[logState]

	// The writer's state, guarded by mu.
	mu     sync.Mutex
	failed error // a commit failed: memory may no longer match the store
	w      writer

	// pend is the pending blocks not yet folded (see pending.go); the
	// writer adds to its end and the fold removes from its start, each
	// under mu.
	pend atomic.Pointer[pendingSet]

	// The fold: foldMu runs one at a time; the background loop is kicked
	// by commits and stopped by Close.
	foldMu    sync.Mutex
	foldAfter int
	foldKick  chan struct{}
	foldStop  chan struct{}
	foldDone  chan struct{}
}

// logState is one published snapshot of the log's head.
type logState struct {
	head  Head
	cp    Checkpoint
	hasCP bool
}

// Head is the state of the log after its last committed Append.
type Head struct {
	Size  uint64    // number of records
	Root  tlog.Hash // Merkle tree hash at Size
	Chain tlog.Hash // chain hash of record Size-1 (zero if the log is empty)
}

const closedBit = 1 << 62

// acquire registers a call in flight, or reports that the log is closed.
func (l *Log) acquire() error {
	if l.refs.Add(1)&closedBit != 0 {
		l.refs.Add(-1)
		return ErrClosed
	}
	return nil
}

func (l *Log) release() { l.refs.Add(-1) }

// Open opens the log in dir, creating it (and its key) if it does not exist
// and opts.ReadOnly is false. It checks that the stored head agrees with the
// last record, chain hash, tree and checkpoint on disk.
func Open(dir string, opts Options) (*Log, error) {
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if !opts.ReadOnly {
		if err := opts.FS.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("ledger: create %s: %w", dir, err)
		}
	}
	k, err := loadKeys(dir, &opts)
	if err != nil {
		return nil, err
	}
	origin := k.verifier.Name()
	if opts.Origin != "" && opts.Origin != origin {
		return nil, fmt.Errorf("%w: origin %q does not match the log key's name %q", ErrInvalid, opts.Origin, origin)
	}

	db, err := pebble.Open(opts.FS.PathJoin(dir, storeDir), pebbleOptions(opts.FS, opts.CacheSize, opts.Logger, opts.ReadOnly))
	if err != nil {
		return nil, fmt.Errorf("ledger: open store in %s: %w", dir, err)
	}
	l := &Log{
		dir:      dir,
		db:       db,
		logger:   opts.Logger,
		origin:   origin,
		signer:   k.signer,
		verifier: k.verifier,
		vkey:     k.vkey,
		readOnly: opts.ReadOnly,
		wopts:    pebble.Sync,
	}
	if opts.NoSync {
		l.wopts = pebble.NoSync
	}
	l.foldAfter = opts.FoldAfter
	if l.foldAfter == 0 {
		l.foldAfter = DefaultFoldAfter
	}
	l.w.init(l)
	if err := l.load(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if err := l.loadPending(l.w.head.Size); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if !l.readOnly && l.signer != nil {
		l.startFilter(l.w.head.Size)
		if l.foldAfter > 0 {
			l.foldKick = make(chan struct{}, 1)
			l.foldStop = make(chan struct{})
			l.foldDone = make(chan struct{})
			go l.foldLoop()
			l.kickFold()
		}
	}
	h := l.Head()
	l.logger.Debug("ledger opened", "dir", dir, "origin", origin, "size", h.Size, "read_only", opts.ReadOnly)
	return l, nil
}

// Close waits for calls in flight, folds what is pending (unless
// Options.FoldAfter is negative), then closes the store. Calls after Close
// return ErrClosed. Close must not be called from inside a Scan or other
// callback of the same Log.
func (l *Log) Close() error {
	if l.refs.Or(closedBit)&closedBit != 0 {
		return ErrClosed
	}
	for l.refs.Load() != closedBit {
		time.Sleep(50 * time.Microsecond)
	}
	var ferr error
	if l.foldStop != nil {
		close(l.foldStop)
		<-l.foldDone
		l.mu.Lock()
		failed := l.failed
		l.mu.Unlock()
		if failed == nil {
			ferr = l.fold()
		}
	}
	if err := errors.Join(ferr, l.db.Close()); err != nil {
		return fmt.Errorf("ledger: close store: %w", err)
	}
	return nil
}

// Head returns the head after the last committed Append. It reads memory
// only and is consistent: Size, Root and Chain describe the same tree.
func (l *Log) Head() Head { return l.state.Load().head }

// Metrics returns Pebble's metrics for the store.
func (l *Log) Metrics() *pebble.Metrics {
	if err := l.acquire(); err != nil {
		return nil
	}
	defer l.release()
	return l.db.Metrics()
}
