package ledger

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/tally-ledger/tally/internal/keys"
	"golang.org/x/mod/sumdb/tlog"
)

// headLen is the size of the stored head: size (8, big-endian) || root (32)
// || chain (32).
const headLen = 8 + 2*tlog.HashSize

func encodeHead(h Head) [headLen]byte {
	var b [headLen]byte
	binary.BigEndian.PutUint64(b[:8], h.Size)
	copy(b[8:], h.Root[:])
	copy(b[8+tlog.HashSize:], h.Chain[:])
	return b
}

func decodeHead(b []byte) (Head, error) {
	if len(b) != headLen {
		return Head{}, fmt.Errorf("%w: head is %d bytes, want %d", ErrCorrupt, len(b), headLen)
	}
	var h Head
	h.Size = binary.BigEndian.Uint64(b[:8])
	copy(h.Root[:], b[8:])
	copy(h.Chain[:], b[8+tlog.HashSize:])
	return h, nil
}

// load reads the head and checks it against the newest record, its hashes
// (chain and stored tree hashes) and checkpoint, so that Open refuses a
// store whose parts disagree instead of extending it. It then fills the
// writer's right edge and publishes the state.
func (l *Log) load() error {
	hb, ok, err := l.get(keys.Head)
	if err != nil {
		return err
	}
	var head Head
	if ok {
		if head, err = decodeHead(hb); err != nil {
			return err
		}
	} else {
		head.Root, _ = tlog.TreeHash(0, nil)
	}
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: head at size %d: %s", ErrCorrupt, head.Size, fmt.Sprintf(format, args...))
	}

	// Each table must end exactly where the head says.
	lastOf := func(tag byte) (uint64, bool, error) {
		k, ok, err := l.lastKey(tag)
		if err != nil || !ok {
			return 0, ok, err
		}
		n, err := keys.Seq(k)
		if err != nil {
			return 0, false, corrupt("malformed key %x", k)
		}
		return n, true, nil
	}
	wantLast := map[byte]uint64{
		keys.TagRecord:     head.Size - 1,
		keys.TagChain:      head.Size - 1,
		keys.TagCheckpoint: head.Size,
	}
	for _, tag := range []byte{keys.TagRecord, keys.TagChain, keys.TagCheckpoint} {
		last, ok, err := lastOf(tag)
		if err != nil {
			return err
		}
		switch {
		case head.Size == 0 && ok:
			return corrupt("table %q has entries but the head is empty", tag)
		case head.Size > 0 && !ok:
			return corrupt("table %q is empty", tag)
		case head.Size > 0 && last != wantLast[tag]:
			return corrupt("table %q ends at %d, want %d", tag, last, wantLast[tag])
		}
	}

	if head.Size > 0 {
		last := head.Size - 1
		rec, ok, err := l.get(keys.Record(last))
		if err != nil {
			return err
		}
		if !ok {
			return corrupt("record %d missing", last)
		}
		r, err := DecodeRecord(rec)
		if err != nil {
			return corrupt("record %d: %v", last, err)
		}
		if r.Seq != last {
			return corrupt("record %d says seq %d", last, r.Seq)
		}
		leaf := tlog.RecordHash(rec)
		var stored, prev, chain tlog.Hash
		if err := l.recordHashes(last, func(v []byte) {
			copy(chain[:], v[keys.ChainOff:])
			copy(stored[:], v[keys.TreeOff:])
		}); err != nil {
			return corrupt("hashes of record %d missing or unreadable: %v", last, err)
		}
		if stored != leaf {
			return corrupt("leaf hash of record %d does not match the record", last)
		}
		if last > 0 {
			if err := l.recordHashes(last-1, func(v []byte) { copy(prev[:], v[keys.ChainOff:]) }); err != nil {
				return corrupt("hashes of record %d missing or unreadable: %v", last-1, err)
			}
		}
		if chain != head.Chain || chainHash(prev, leaf) != chain {
			return corrupt("chain hash of record %d does not match", last)
		}
		if err := l.loadEdge(head.Size); err != nil {
			return err
		}
		root, err := tlog.TreeHash(int64(head.Size), l.w.edgeRead)
		if err != nil {
			return err
		}
		if root != head.Root {
			return corrupt("tree hash of the stored hashes is %s, head says %s", root, head.Root)
		}
	}

	st := &logState{head: head}
	if head.Size > 0 {
		msg, ok, err := l.get(keys.Checkpoint(head.Size))
		if err != nil {
			return err
		}
		if !ok {
			return corrupt("no checkpoint for the head")
		}
		cp, err := l.parseStored(head.Size, msg)
		if err != nil {
			return err
		}
		if !bytes.Equal(cp.Root[:], head.Root[:]) {
			return corrupt("checkpoint root %s differs from head root %s", cp.Root, head.Root)
		}
		st.cp, st.hasCP = cp, true
	} else if l.signer != nil {
		// The empty tree's checkpoint is signed, not stored: Ed25519 is
		// deterministic, so it is the same note every time.
		cp, err := l.sign(0, head.Root)
		if err != nil {
			return err
		}
		st.cp, st.hasCP = cp, true
	}
	l.state.Store(st)
	l.w.head = head
	return nil
}
