package ledger

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// Proofs are computed by tlog over the stored hashes in Pebble; every hash
// they need is committed (sizes are bounded by the head).

// TreeHash returns the Merkle tree hash of the first size records.
func (l *Log) TreeHash(size uint64) (tlog.Hash, error) {
	if err := l.acquire(); err != nil {
		return tlog.Hash{}, err
	}
	defer l.release()
	head := l.state.Load().head
	switch {
	case size > head.Size:
		return tlog.Hash{}, fmt.Errorf("%w: tree size %d beyond head %d", ErrInvalid, size, head.Size)
	case size == head.Size:
		return head.Root, nil
	}
	return tlog.TreeHash(int64(size), tlog.HashReaderFunc(l.readStore))
}

// ProveInclusion returns the proof that record seq is in the tree of the
// given size; check it with tlog.CheckRecord(p, size, root, seq, leaf).
func (l *Log) ProveInclusion(seq, size uint64) (tlog.RecordProof, error) {
	if err := l.acquire(); err != nil {
		return nil, err
	}
	defer l.release()
	head := l.state.Load().head
	if size > head.Size || seq >= size {
		return nil, fmt.Errorf("%w: inclusion of record %d in tree size %d (head %d)", ErrInvalid, seq, size, head.Size)
	}
	return tlog.ProveRecord(int64(size), int64(seq), tlog.HashReaderFunc(l.readStore))
}

// ProveConsistency returns the proof that the tree of size from is a prefix
// of the tree of size to, 1 ≤ from ≤ to ≤ head; check it with
// tlog.CheckTree(p, to, rootTo, from, rootFrom). (Every tree extends the
// empty one, so from = 0 has no proof to give and is refused.)
func (l *Log) ProveConsistency(from, to uint64) (tlog.TreeProof, error) {
	if err := l.acquire(); err != nil {
		return nil, err
	}
	defer l.release()
	head := l.state.Load().head
	if from < 1 || from > to || to > head.Size {
		return nil, fmt.Errorf("%w: consistency from size %d to %d (head %d)", ErrInvalid, from, to, head.Size)
	}
	return tlog.ProveTree(int64(to), int64(from), tlog.HashReaderFunc(l.readStore))
}
