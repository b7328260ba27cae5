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
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// Table tags.
const (
	TagRecord     = 'e' // e|seq → record bytes
	TagChain      = 'c' // c|seq → chain hash || the stored tree hashes record seq completes
	TagCheckpoint = 'k' // k|size → signed checkpoint note
	TagDedupe     = 'd' // d|digest → seq
	TagIndex      = 'x' // x|len(name)|name|len(key)|key|seq → posting: the further seqs (see [Index])
	TagPending    = 'p' // p|first seq → one Append's digests and index keys, not yet folded into d| and x| (see [Pending])
	TagMeta       = 'm' // m|name → metadata (head)
)

// Head is the key of the head state.
var Head = []byte{TagMeta, 'h', 'e', 'a', 'd'}

// ErrMalformed reports a key that does not parse as its table's layout.
var ErrMalformed = errors.New("keys: malformed key")

// ErrBadPosting reports an index posting value that does not decode.
var ErrBadPosting = errors.New("keys: malformed index posting")

func u64(tag byte, n uint64) []byte {
	b := make([]byte, 9)
	b[0] = tag
	binary.BigEndian.PutUint64(b[1:], n)
	return b
}

// Record is the key of the record with sequence number seq.
func Record(seq uint64) []byte { return u64(TagRecord, seq) }

// Chain is the key of the hash entry of record seq: its chain hash, then
// the tlog stored tree hashes that appending it completed, which tlog
// numbers StoredHashIndex(0, seq), +1, … (level 0, the leaf hash, first);
// [HashesLen] bytes in all. Pebble's work in appending grows with the
// number of keys more than with their bytes, so one key per record holds
// what would otherwise be a chain key and one or more tree keys.
func Chain(seq uint64) []byte { return u64(TagChain, seq) }

// Layout of a c| value: the chain hash, then the tree hashes by level, so
// the record's leaf hash is at TreeOff.
const (
	HashSize = tlog.HashSize
	ChainOff = 0        // offset of the chain hash
	TreeOff  = HashSize // offset of the level-0 tree hash (the leaf hash)
)

// TreeLevels is the number of stored tree hashes record seq completes:
// its leaf and, at each level above, the subtree it closes (1 + the
// number of trailing one bits of seq).
func TreeLevels(seq uint64) int { return 1 + bits.TrailingZeros64(seq+1) }

// HashesLen is the length of the c| value of record seq.
func HashesLen(seq uint64) int { return HashSize * (1 + TreeLevels(seq)) }

// TreeSlot says where the stored tree hash at tlog storage index i lives:
// in the c| value of record seq, at byte offset off. The hash of level L,
// node n is completed by record (n+1)·2^L − 1 and stored at
// tlog.StoredHashIndex(0, that record) + L.
func TreeSlot(i int64) (seq uint64, off int) {
	level, n := tlog.SplitStoredHashIndex(i)
	return uint64(n+1)<<uint(level) - 1, TreeOff + level*HashSize
}

// Checkpoint is the key of the signed checkpoint for tree size n.
func Checkpoint(size uint64) []byte { return u64(TagCheckpoint, size) }

// Pending is the key of the pending block of the Append whose first record
// is seq: the digests and index keys of its records, written in the
// Append's own batch. The dedupe (d|) and index (x|) tables are sorted by
// digest and by key, so an Append's entries would land all over them;
// writing them there one by one would cost the synced batch a memtable
// search per entry. The block is one key at the end of the p| table
// instead, and the log later moves blocks into d| and x|, several Appends
// at a time, and deletes them (a fold, in a few batches, the deletion
// last). Until a block is deleted it is what counts for its records:
// readers ignore the tables' entries for them (a fold under way, or one a
// crash cut short). Pending blocks always form a contiguous run of records
// ending at the head. The value is laid out as described in pending.go of
// this package ([ParsePending]).
func Pending(first uint64) []byte { return u64(TagPending, first) }

// Dedupe is the key mapping a submission digest to its sequence number.
func Dedupe(digest []byte) []byte {
	return append([]byte{TagDedupe}, digest...)
}

// IndexPrefix is the prefix shared by every entry of one secondary index key.
func IndexPrefix(name string, key []byte) []byte {
	return AppendIndexPrefix(make([]byte, 0, 1+1+len(name)+2+len(key)+8), []byte(name), key)
}

// Index is the key of an index posting: the records indexed under (name,
// key) that one fold of pending blocks wrote, seq being the first of them.
// Its value holds the others, each as the uvarint difference from the one
// before (see [AppendPosting]); a posting of one record has an empty
// value. A fold writes one posting per distinct (name, key) among its
// records, so a key that many records share (their kind, a lot, a party)
// costs the store one entry instead of one per record; postings of one
// (name, key) never overlap, as folds take ascending runs of seqs.
func Index(name string, key []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(IndexPrefix(name, key), seq)
}

// AppendPosting appends the value of the posting of seqs (ascending and
// distinct; seqs[0] is in the key) to dst.
func AppendPosting(dst []byte, seqs []uint64) []byte {
	for i := 1; i < len(seqs); i++ {
		dst = binary.AppendUvarint(dst, seqs[i]-seqs[i-1])
	}
	return dst
}

// Posting calls fn with each seq of the posting whose key ends in first
// and whose value is v, in ascending order, until fn returns false. It
// reports ErrBadPosting for a value that does not decode to ascending seqs.
func Posting(first uint64, v []byte, fn func(seq uint64) bool) error {
	seq := first
	if !fn(seq) {
		return nil
	}
	for len(v) > 0 {
		d, n := binary.Uvarint(v)
		if n <= 0 || d == 0 || seq+d < seq {
			return ErrBadPosting
		}
		v, seq = v[n:], seq+d
		if !fn(seq) {
			return nil
		}
	}
	return nil
}

// Seq returns the sequence number that ends a one-tag u64 key (record,
// chain, checkpoint).
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
