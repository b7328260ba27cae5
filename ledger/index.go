package ledger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tally-ledger/tally/internal/keys"
)

// IndexKey is a secondary index key supplied by the caller: the domain knows
// what to index (party, lot, hop, subject…), the ledger does not. Name is
// 1–255 bytes, Key at most 65535 bytes.
type IndexKey struct {
	Name string
	Key  []byte
}

// Limits of IndexKey, set by the key layout's length prefixes.
const (
	MaxIndexName = 255
	MaxIndexKey  = 65535
)

func (ix IndexKey) check() error {
	switch {
	case ix.Name == "":
		return errors.New("name: empty")
	case len(ix.Name) > MaxIndexName:
		return fmt.Errorf("name: %d bytes, at most %d", len(ix.Name), MaxIndexName)
	case len(ix.Key) > MaxIndexKey:
		return fmt.Errorf("key: %d bytes, at most %d", len(ix.Key), MaxIndexKey)
	}
	return nil
}

// ByIndex returns, in ascending order, the sequence numbers ≥ from of the
// records indexed under (name, key), at most limit of them (limit ≤ 0: all).
func (l *Log) ByIndex(name string, key []byte, from uint64, limit int) ([]uint64, error) {
	if err := (IndexKey{Name: name, Key: key}).check(); err != nil {
		return nil, fmt.Errorf("%w: index: %v", ErrInvalid, err)
	}
	if err := l.acquire(); err != nil {
		return nil, err
	}
	defer l.release()
	size := l.state.Load().head.Size
	if from >= size {
		return nil, nil
	}
	// The pending set first, then the table: the table holds every record
	// before the first pending block (a block leaves the set only once its
	// fold is in the table), and may hold some after it, which come from
	// the blocks instead.
	pend := l.pend.Load()
	tableEnd := min(size, pend.first())
	prefix := keys.IndexPrefix(name, key)
	it, err := l.db.NewIter(&pebble.IterOptions{
		LowerBound: prefix,
		UpperBound: keys.UpperBound(prefix),
	})
	if err != nil {
		return nil, err
	}
	// Start at the posting that may hold from: the last one that begins
	// at or before it, else the first after it.
	ok := it.SeekLT(keys.Index(name, key, from+1))
	if !ok {
		ok = it.First()
	}
	var (
		seqs []uint64
		last uint64
		bad  error
		done bool
	)
	for ; ok && !done; ok = it.Next() {
		k := it.Key()
		if len(k) != len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
			return nil, closeIter(it, fmt.Errorf("%w: index key %x under prefix %x", ErrCorrupt, k, prefix))
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, closeIter(it, err)
		}
		first := binary.BigEndian.Uint64(k[len(prefix):])
		err = keys.Posting(first, v, func(seq uint64) bool {
			switch {
			case len(seqs) > 0 && seq <= last:
				bad = fmt.Errorf("%w: index posting %x repeats seq %d", ErrCorrupt, k, seq)
			case seq >= tableEnd:
				done = true // pending, or appended after the head this read is bounded by
			case seq >= from:
				seqs, last = append(seqs, seq), seq
				done = limit > 0 && len(seqs) >= limit
			}
			return bad == nil && !done
		})
		if err != nil {
			bad = fmt.Errorf("%w: index posting %x: %v", ErrCorrupt, k, err)
		}
		if bad != nil {
			return nil, closeIter(it, bad)
		}
	}
	if err := closeIter(it, it.Error()); err != nil {
		return nil, err
	}
	if tableEnd == size || (limit > 0 && len(seqs) >= limit) {
		return seqs, nil
	}
	for _, b := range pend.blocks {
		if b.first >= size {
			break
		}
		if b.last() <= from {
			continue
		}
		m, err := b.postingMap()
		if err != nil {
			return nil, err
		}
		for _, seq := range m[string(prefix)] {
			if seq < from || seq >= size {
				continue
			}
			seqs = append(seqs, seq)
			if limit > 0 && len(seqs) >= limit {
				return seqs, nil
			}
		}
	}
	return seqs, nil
}

// IndexEntries visits every secondary index entry, whatever the head
// says: each seq of each posting of the x| table, in key order and within
// a posting in seq order, except seqs of pending records (which every
// read ignores there); then the index keys of the pending blocks,
// record by record in seq order (each record's distinct keys in the order
// it listed them). The key slice is fn's to keep.
func (l *Log) IndexEntries(fn func(name string, key []byte, seq uint64) error) error {
	pend := l.pend.Load() // before the walk's iterator: see pending.go
	err := l.walk(keys.TagIndex, func(k, v []byte) error {
		name, key, first, err := keys.ParseIndex(k)
		if err != nil {
			return fmt.Errorf("%w: index key %x: %v", ErrCorrupt, k, err)
		}
		var ferr error
		err = keys.Posting(first, v, func(seq uint64) bool {
			if seq >= pend.first() {
				return true
			}
			ferr = fn(name, bytes.Clone(key), seq)
			return ferr == nil
		})
		if ferr != nil {
			return ferr
		}
		if err != nil {
			return fmt.Errorf("%w: index posting %x: %v", ErrCorrupt, k, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return l.pendingIndex(pend, fn)
}
