// Package keys is the one definition of how the ledger lays its state out in
// Pebble. The ledger writes through it; the audit and the tamper tests read
// through it, so a change of layout cannot leave them disagreeing.
//
// Every key starts with a one-byte table tag; integers are big-endian so that
// byte order is numeric order and scans run in sequence order.
package keys

import (
	"encoding/binary"
	"errors"
)

// Table tags.
const (
	TagRecord     = 'e' // e|seq → record bytes
	TagTree       = 't' // t|index → stored tree hash (tlog storage index)
	TagChain      = 'c' // c|seq → chain hash
	TagCheckpoint = 'k' // k|size → signed checkpoint note
	TagDedupe     = 'd' // d|digest → seq
	TagIndex      = 'x' // x|len(name)|name|len(key)|key|seq → empty
	TagMeta       = 'm' // m|name → metadata (head)
)

// Head is the key of the head state.
var Head = []byte{TagMeta, 'h', 'e', 'a', 'd'}

// ErrMalformed reports a key that does not parse as its table's layout.
var ErrMalformed = errors.New("keys: malformed key")

func u64(tag byte, n uint64) []byte {
	b := make([]byte, 9)
	b[0] = tag
	binary.BigEndian.PutUint64(b[1:], n)
	return b
}

// Record is the key of the record with sequence number seq.
func Record(seq uint64) []byte { return u64(TagRecord, seq) }

// Tree is the key of the stored tree hash at tlog storage index i.
func Tree(i int64) []byte { return u64(TagTree, uint64(i)) }

// Chain is the key of the chain hash of record seq.
func Chain(seq uint64) []byte { return u64(TagChain, seq) }

// Checkpoint is the key of the signed checkpoint for tree size n.
func Checkpoint(size uint64) []byte { return u64(TagCheckpoint, size) }

// Dedupe is the key mapping a submission digest to its sequence number.
func Dedupe(digest []byte) []byte {
	return append([]byte{TagDedupe}, digest...)
}

// IndexPrefix is the prefix shared by every entry of one secondary index key.
func IndexPrefix(name string, key []byte) []byte {
	b := make([]byte, 0, 1+1+len(name)+2+len(key)+8)
	b = append(b, TagIndex, byte(len(name)))
	b = append(b, name...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(key)))
	return append(b, key...)
}

// Index is the key of one secondary index entry.
func Index(name string, key []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(IndexPrefix(name, key), seq)
}

// Seq returns the sequence number or index that ends a one-tag u64 key
// (record, tree, chain, checkpoint).
func Seq(k []byte) (uint64, error) {
	if len(k) != 9 {
		return 0, ErrMalformed
	}
	return binary.BigEndian.Uint64(k[1:]), nil
}

// ParseIndex splits an index key into its name, key and sequence number.
func ParseIndex(k []byte) (name string, key []byte, seq uint64, err error) {
	if len(k) < 2 || k[0] != TagIndex {
		return "", nil, 0, ErrMalformed
	}
	n := int(k[1])
	rest := k[2:]
	if len(rest) < n+2 {
		return "", nil, 0, ErrMalformed
	}
	name = string(rest[:n])
	rest = rest[n:]
	kl := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if len(rest) != kl+8 {
		return "", nil, 0, ErrMalformed
	}
	return name, rest[:kl], binary.BigEndian.Uint64(rest[kl:]), nil
}

// UpperBound returns the smallest key greater than every key with prefix p.
func UpperBound(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
