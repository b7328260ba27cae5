package keys

import "encoding/binary"

// The Append forms write a key onto the end of dst and return the extended
// slice, like strconv.AppendInt. The ledger's append path builds thousands of
// keys per batch; reusing one scratch buffer keeps that free of allocations.
// Each produces exactly the bytes of the function of the same name without
// the prefix.

func appendU64(dst []byte, tag byte, n uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, tag), n)
}

// AppendRecord appends the key of record seq (see [Record]).
func AppendRecord(dst []byte, seq uint64) []byte { return appendU64(dst, TagRecord, seq) }

// AppendChain appends the key of the hashes of record seq (see [Chain]).
func AppendChain(dst []byte, seq uint64) []byte { return appendU64(dst, TagChain, seq) }

// AppendCheckpoint appends the key of the checkpoint for size n (see [Checkpoint]).
func AppendCheckpoint(dst []byte, size uint64) []byte { return appendU64(dst, TagCheckpoint, size) }

// AppendDedupe appends the dedupe key of digest (see [Dedupe]).
func AppendDedupe(dst []byte, digest []byte) []byte {
	return append(append(dst, TagDedupe), digest...)
}

// AppendIndexPrefix appends the prefix shared by every entry of one
// secondary index key (see [IndexPrefix]). The caller keeps 1 ≤ len(name)
// ≤ 255 and len(key) ≤ 65535.
func AppendIndexPrefix(dst, name, key []byte) []byte {
	dst = append(dst, TagIndex, byte(len(name)))
	dst = append(dst, name...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(key)))
	return append(dst, key...)
}

// AppendIndex appends the key of the index posting whose first record is
// seq under prefix, an [IndexPrefix] (see [Index]).
func AppendIndex(dst []byte, prefix string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, prefix...), seq)
}
