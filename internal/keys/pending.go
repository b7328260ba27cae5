package keys

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A pending block (the value of a [Pending] key) is
//
//	uvarint n                          the Append's records: first … first+n-1
//	n × 32 bytes                       their digests, in seq order
//	n × (uvarint k, k × index key)     their index keys, record by record
//
// and an index key is one byte name length (1–255), the name, the key's
// length as a uvarint (at most 65535), the key. A record's list is the
// caller's, as given to Append (a key may appear twice).

// ErrBadPending reports a pending block that does not decode.
var ErrBadPending = errors.New("keys: malformed pending block")

// DigestSize is the length of a digest in a pending block.
const DigestSize = 32

// AppendPendingCount appends a count (the block's record count, or one
// record's number of index keys).
func AppendPendingCount(dst []byte, n int) []byte { return binary.AppendUvarint(dst, uint64(n)) }

// AppendPendingKey appends one index key. The caller keeps 1 ≤ len(name)
// ≤ 255 and len(key) ≤ 65535.
func AppendPendingKey(dst []byte, name string, key []byte) []byte {
	dst = append(dst, byte(len(name)))
	dst = append(dst, name...)
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	return append(dst, key...)
}

// PendingBlock is a decoded pending block. Its slices alias the value it
// was parsed from.
type PendingBlock struct {
	N       int    // records
	Digests []byte // N × DigestSize bytes
	keys    []byte // the key lists, checked by ParsePending
}

// Digest returns the digest of the block's record i.
func (b *PendingBlock) Digest(i int) []byte { return b.Digests[i*DigestSize : (i+1)*DigestSize] }

// ParsePending decodes and checks a pending block.
func ParsePending(v []byte) (PendingBlock, error) {
	b, err := SplitPending(v)
	if err != nil {
		return PendingBlock{}, err
	}
	if err := b.Keys(func(int, []byte, []byte) bool { return true }); err != nil {
		return PendingBlock{}, err
	}
	return b, nil
}

// SplitPending decodes a pending block's record count and digests; its
// key lists are checked as Keys reads them.
func SplitPending(v []byte) (PendingBlock, error) {
	n, k := binary.Uvarint(v)
	if k <= 0 || n == 0 || n > uint64(len(v))/DigestSize {
		return PendingBlock{}, fmt.Errorf("%w: record count", ErrBadPending)
	}
	v = v[k:]
	if uint64(len(v)) < n*DigestSize {
		return PendingBlock{}, fmt.Errorf("%w: %d digests in %d bytes", ErrBadPending, n, len(v))
	}
	return PendingBlock{N: int(n), Digests: v[:n*DigestSize], keys: v[n*DigestSize:]}, nil
}

// Keys calls fn with each index key of each record (i is the record's
// place in the block), in block order, until fn returns false. The slices
// alias the block.
func (b *PendingBlock) Keys(fn func(i int, name, key []byte) bool) error {
	v := b.keys
	for i := range b.N {
		c, k := binary.Uvarint(v)
		if k <= 0 || c > uint64(len(v)) {
			return fmt.Errorf("%w: record %d: key count", ErrBadPending, i)
		}
		v = v[k:]
		for range c {
			if len(v) < 1 || v[0] == 0 || len(v) < 1+int(v[0]) {
				return fmt.Errorf("%w: record %d: index name", ErrBadPending, i)
			}
			name := v[1 : 1+int(v[0])]
			v = v[1+int(v[0]):]
			kl, k := binary.Uvarint(v)
			if k <= 0 || kl > 65535 || kl > uint64(len(v)-k) {
				return fmt.Errorf("%w: record %d: index key", ErrBadPending, i)
			}
			key := v[k : k+int(kl)]
			v = v[k+int(kl):]
			if !fn(i, name, key) {
				return nil
			}
		}
	}
	if len(v) != 0 {
		return fmt.Errorf("%w: %d bytes after the last record", ErrBadPending, len(v))
	}
	return nil
}
