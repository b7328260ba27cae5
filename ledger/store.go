package ledger

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// storeDir is the Pebble directory inside a log's directory.
const storeDir = "pebble"

// Memtables: their size and how many may exist before writes stop.
const (
	memTableSize = 32 << 20
	memTables    = 2
)

// pebbleOptions are the store's Pebble options, shared with BenchRawPebble
// so the baseline runs on the same engine configuration.
func pebbleOptions(fs vfs.FS, cacheSize int64, logger *slog.Logger, readOnly bool) *pebble.Options {
	// Pebble charges its memtables to the block cache (Cache.Reserve): with
	// only cacheSize, two full memtables would take all of a 64 MiB cache
	// and every read, the dedupe lookups of Append included, would miss.
	// They get their own room on top, read-only stores too: those hold the
	// WAL they replay at Open in memtables (up to the same two), which would
	// otherwise leave proofs and audits half the cache.
	cacheSize += memTables * memTableSize
	o := &pebble.Options{
		FS:                 fs,
		CacheSize:          cacheSize,
		FormatMajorVersion: pebble.FormatNewest,
		ReadOnly:           readOnly,
		ErrorIfNotExists:   readOnly,
		Logger:             pebbleLogger{logger},
		// Larger memtables than Pebble's 4 MiB default: fewer, larger
		// flushes keep L0 small. Two of them bound memory.
		MemTableSize:                memTableSize,
		MemTableStopWritesThreshold: memTables,
		// Compact L0 once it holds eight sublevels (flushes), not Pebble's
		// four. The dedupe table (keyed by digest) and index keys shared by
		// many records are spread over the whole key range, so every
		// compaction out of L0 rewrites them where they overlap the level
		// below: merging twice as many flushes at a time halves that
		// rewriting, the largest part of the store's work while appending.
		// Reads cost a little more (more sublevels to look in); Append's
		// dedupe lookups mostly do not reach the store (digestFilter).
		L0CompactionThreshold: 8,
		L0StopWritesThreshold: 24,
	}
	// Bloom filters on every level, L0 included (Pebble's default has none
	// there): most dedupe lookups are for digests the log has never seen,
	// and a filter answers those without reading a data block. (L6's are
	// read only by iterators that ask, as the dedupe lookup does.)
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	return o
}

// pebbleLogger routes Pebble's messages to slog.
type pebbleLogger struct{ l *slog.Logger }

// Infof: Pebble's informational messages (WAL replay, compactions) are
// routine for a store this size, so they go out at debug level.
func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf is Pebble reporting a state it cannot continue from. Pebble
// expects it not to return; panicking (rather than exiting the process)
// leaves the decision to the program.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "component", "pebble", "fatal", true)
	panic("pebble: " + msg)
}

// get returns a copy of the value at key, or ok=false if there is none.
func (l *Log) get(key []byte) (v []byte, ok bool, err error) {
	val, closer, err := l.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("ledger: read %x: %w", key, err)
	}
	v = append([]byte(nil), val...)
	return v, true, closer.Close()
}

// lastKey returns the greatest key with the given one-byte table tag.
func (l *Log) lastKey(tag byte) (key []byte, ok bool, err error) {
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tag}, UpperBound: []byte{tag + 1}})
	if err != nil {
		return nil, false, err
	}
	if it.Last() {
		key = append([]byte(nil), it.Key()...)
		ok = true
	}
	return key, ok, errors.Join(it.Error(), it.Close())
}
