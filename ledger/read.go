package ledger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tally-ledger/tally/internal/keys"
	"golang.org/x/mod/sumdb/tlog"
)

// Reads. Every read is bounded by the published head, so a reader never sees
// a record whose batch is not yet durable, even though Pebble may already
// hold it. Callbacks must not call Close.

// Get returns record seq, or ErrNotFound at or beyond the head.
func (l *Log) Get(seq uint64) (Record, error) {
	b, err := l.RecordBytes(seq)
	if err != nil {
		return Record{}, err
	}
	return l.decodeStored(seq, b)
}

func (l *Log) decodeStored(seq uint64, b []byte) (Record, error) {
	r, err := DecodeRecord(b)
	if err != nil {
		return Record{}, fmt.Errorf("%w: record %d: %v", ErrCorrupt, seq, err)
	}
	if r.Seq != seq {
		return Record{}, fmt.Errorf("%w: record stored at %d says seq %d", ErrCorrupt, seq, r.Seq)
	}
	return r, nil
}

// RecordBytes returns the stored bytes of record seq (a copy), or
// ErrNotFound at or beyond the head.
func (l *Log) RecordBytes(seq uint64) ([]byte, error) {
	if err := l.acquire(); err != nil {
		return nil, err
	}
	defer l.release()
	if size := l.state.Load().head.Size; seq >= size {
		return nil, fmt.Errorf("%w: record %d (log size %d)", ErrNotFound, seq, size)
	}
	b, ok, err := l.get(keys.Record(seq))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: record %d missing below head", ErrCorrupt, seq)
	}
	return b, nil
}

// Scan calls fn for records from, from+1, … in order, at most limit of them
// (limit ≤ 0: up to the head as it was when Scan began). An error from fn
// stops the scan and is returned as is. fn may keep the records.
func (l *Log) Scan(from uint64, limit int, fn func(Record) error) error {
	if err := l.acquire(); err != nil {
		return err
	}
	defer l.release()
	end := l.state.Load().head.Size
	if from >= end {
		return nil
	}
	if limit > 0 && uint64(limit) < end-from {
		end = from + uint64(limit)
	}
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: keys.Record(from), UpperBound: keys.Record(end)})
	if err != nil {
		return err
	}
	want := from
	for ok := it.First(); ok; ok = it.Next() {
		seq, err := keys.Seq(it.Key())
		if err != nil || seq != want {
			return closeIter(it, fmt.Errorf("%w: record table: key %x where record %d belongs", ErrCorrupt, it.Key(), want))
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return closeIter(it, err)
		}
		r, err := l.decodeStored(seq, bytes.Clone(v))
		if err == nil {
			err = fn(r)
		}
		if err != nil {
			return closeIter(it, err)
		}
		want++
	}
	if err := closeIter(it, it.Error()); err != nil {
		return err
	}
	if want != end {
		return fmt.Errorf("%w: record %d missing below head", ErrCorrupt, want)
	}
	return nil
}

// Lookup returns the sequence number of the record appended with digest.
func (l *Log) Lookup(digest [32]byte) (seq uint64, ok bool, err error) {
	if err := l.acquire(); err != nil {
		return 0, false, err
	}
	defer l.release()
	size := l.state.Load().head.Size
	// The pending blocks first, then the table: a block leaves the pending
	// set only once its fold is in the table.
	pend := l.pend.Load()
	seq, ok, err = pend.lookup(&digest)
	if err != nil {
		return 0, false, err
	}
	if !ok {
		seq, ok, err = l.lookupKey(keys.Dedupe(digest[:]))
		ok = ok && seq < pend.first() // else a fold under way, or a stray entry
	}
	if err != nil || !ok || seq >= size {
		return 0, false, err
	}
	return seq, true, nil
}

// lookupKey reads a dedupe entry.
func (l *Log) lookupKey(key []byte) (uint64, bool, error) {
	v, closer, err := l.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("ledger: read %x: %w", key, err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, false, fmt.Errorf("%w: dedupe entry %x is %d bytes, want 8", ErrCorrupt, key[1:], len(v))
	}
	return binary.BigEndian.Uint64(v), true, nil
}

// LeafHash returns the RFC 6962 leaf hash of record seq.
func (l *Log) LeafHash(seq uint64) (tlog.Hash, error) {
	if err := l.acquire(); err != nil {
		return tlog.Hash{}, err
	}
	defer l.release()
	if size := l.state.Load().head.Size; seq >= size {
		return tlog.Hash{}, fmt.Errorf("%w: record %d (log size %d)", ErrNotFound, seq, size)
	}
	var h tlog.Hash
	err := l.recordHashes(seq, func(v []byte) { copy(h[:], v[keys.TreeOff:]) })
	if errors.Is(err, ErrNotFound) {
		return h, fmt.Errorf("%w: leaf hash of record %d missing below head", ErrCorrupt, seq)
	}
	return h, err
}

// ChainHash returns the chain hash of record seq.
func (l *Log) ChainHash(seq uint64) (tlog.Hash, error) {
	if err := l.acquire(); err != nil {
		return tlog.Hash{}, err
	}
	defer l.release()
	if size := l.state.Load().head.Size; seq >= size {
		return tlog.Hash{}, fmt.Errorf("%w: record %d (log size %d)", ErrNotFound, seq, size)
	}
	var h tlog.Hash
	err := l.recordHashes(seq, func(v []byte) { copy(h[:], v[keys.ChainOff:]) })
	if errors.Is(err, ErrNotFound) {
		return h, fmt.Errorf("%w: chain hash of record %d missing below head", ErrCorrupt, seq)
	}
	return h, err
}

// StoredHash returns the tree hash stored at tlog storage index index (kept
// in the c| entry of the record that completed it, see keys.TreeSlot), or
// ErrNotFound. Unlike the reads above it is not bounded by the head: it
// reports what the store holds.
func (l *Log) StoredHash(index int64) (tlog.Hash, error) {
	if err := l.acquire(); err != nil {
		return tlog.Hash{}, err
	}
	defer l.release()
	if index < 0 || index >= tlog.StoredHashCount(MaxSeq+1) {
		return tlog.Hash{}, fmt.Errorf("%w: stored hash index %d", ErrInvalid, index)
	}
	return l.storedHash(index)
}

// Raw table walks for the audit. Each visits every entry of one table in
// key order, whatever the head says, so run them on a log nobody is
// appending to. The slices passed to fn are fn's to keep. An error from fn
// stops the walk and is returned as is.

// Checkpoints visits every stored checkpoint (the k| table).
func (l *Log) Checkpoints(fn func(size uint64, note []byte) error) error {
	return l.walkU64(keys.TagCheckpoint, func(n uint64, v []byte) error { return fn(n, v) })
}

// ChainEntries visits every chain hash (the first hash of each c| value).
// A value too short to hold one is passed as it is.
func (l *Log) ChainEntries(fn func(seq uint64, h []byte) error) error {
	return l.walkU64(keys.TagChain, func(seq uint64, v []byte) error {
		n := min(len(v), keys.TreeOff)
		return fn(seq, v[:n:n])
	})
}

// TreeEntries visits every stored tree hash, in storage index order: the
// hashes after the chain hash in each c| value, at the indexes tlog gives
// the record's levels (keys.TreeSlot). A value of the wrong length still
// yields each of its record's levels, so that the audit can name them:
// those it is too short for come out short (or empty), and bytes beyond the
// last level stay with the last.
func (l *Log) TreeEntries(fn func(index int64, h []byte) error) error {
	return l.walkU64(keys.TagChain, func(seq uint64, v []byte) error {
		if seq > MaxSeq {
			return fmt.Errorf("%w: table %q: record %d beyond the largest sequence number", ErrCorrupt, keys.TagChain, seq)
		}
		base := tlog.StoredHashIndex(0, int64(seq))
		levels := keys.TreeLevels(seq)
		for lv := range levels {
			lo := min(len(v), keys.TreeOff+lv*keys.HashSize)
			hi := min(len(v), lo+keys.HashSize)
			if lv == levels-1 {
				hi = len(v)
			}
			if err := fn(base+int64(lv), v[lo:hi:hi]); err != nil {
				return err
			}
		}
		return nil
	})
}

// DedupeEntries visits every dedupe entry: those of the d| table for
// records before the first pending block (as every read, it ignores the
// table's entries for pending records), then the digests of the pending
// blocks in seq order.
func (l *Log) DedupeEntries(fn func(digest []byte, seq uint64) error) error {
	pend := l.pend.Load() // before the walk's iterator: see pending.go
	err := l.walk(keys.TagDedupe, func(k, v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("%w: dedupe entry %x is %d bytes, want 8", ErrCorrupt, k[1:], len(v))
		}
		if seq := binary.BigEndian.Uint64(v); seq < pend.first() {
			return fn(bytes.Clone(k[1:]), seq)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return l.pendingDigests(pend, fn)
}

// walkU64 walks a table keyed by tag|uint64.
func (l *Log) walkU64(tag byte, fn func(n uint64, v []byte) error) error {
	return l.walk(tag, func(k, v []byte) error {
		n, err := keys.Seq(k)
		if err != nil {
			return fmt.Errorf("%w: table %q: malformed key %x", ErrCorrupt, tag, k)
		}
		return fn(n, bytes.Clone(v))
	})
}

// walk iterates one table; k and v are valid only during fn.
func (l *Log) walk(tag byte, fn func(k, v []byte) error) error {
	if err := l.acquire(); err != nil {
		return err
	}
	defer l.release()
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tag}, UpperBound: []byte{tag + 1}})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err == nil {
			err = fn(it.Key(), v)
		}
		if err != nil {
			return closeIter(it, err)
		}
	}
	return closeIter(it, it.Error())
}

// closeIter closes it and returns err if set, else the error from closing.
func closeIter(it *pebble.Iterator, err error) error {
	cerr := it.Close()
	if err != nil {
		return err
	}
	return cerr
}
