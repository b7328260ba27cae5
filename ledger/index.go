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
	prefix := keys.IndexPrefix(name, key)
	it, err := l.db.NewIter(&pebble.IterOptions{
		LowerBound: keys.Index(name, key, from),
		UpperBound: keys.UpperBound(prefix),
	})
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for ok := it.First(); ok && (limit <= 0 || len(seqs) < limit); ok = it.Next() {
		k := it.Key()
		if len(k) != len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
			return nil, closeIter(it, fmt.Errorf("%w: index key %x under prefix %x", ErrCorrupt, k, prefix))
		}
		seq := binary.BigEndian.Uint64(k[len(prefix):])
		if seq >= size {
			break // appended after the head this read is bounded by
		}
		seqs = append(seqs, seq)
	}
	return seqs, closeIter(it, it.Error())
}

// IndexEntries visits every secondary index entry (the x| table) in key
// order, whatever the head says. The key slice is fn's to keep.
func (l *Log) IndexEntries(fn func(name string, key []byte, seq uint64) error) error {
	return l.walk(keys.TagIndex, func(k, _ []byte) error {
		name, key, seq, err := keys.ParseIndex(k)
		if err != nil {
			return fmt.Errorf("%w: index key %x: %v", ErrCorrupt, k, err)
		}
		return fn(name, bytes.Clone(key), seq)
	})
}
