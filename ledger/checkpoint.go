package ledger

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/tally-ledger/tally/internal/keys"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a signed C2SP tlog-checkpoint: a note whose text is
//
//	<origin>\n<size>\n<base64 root>\n
//
// signed with the log's Ed25519 note key.
type Checkpoint struct {
	Size uint64
	Root tlog.Hash
	Note []byte // the whole signed note: text, blank line, signature lines
}

// CheckpointText is the note text of a checkpoint without extension lines:
// "<origin>\n<size>\n<base64 root>\n".
func CheckpointText(origin string, size uint64, root tlog.Hash) string {
	var b strings.Builder
	b.Grow(len(origin) + 20 + 46)
	b.WriteString(origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatUint(size, 10))
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(root[:]))
	b.WriteByte('\n')
	return b.String()
}

// sign makes the signed checkpoint for a tree.
func (l *Log) sign(size uint64, root tlog.Hash) (Checkpoint, error) {
	msg, err := note.Sign(&note.Note{Text: CheckpointText(l.origin, size, root)}, l.signer)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("ledger: sign checkpoint at size %d: %w", size, err)
	}
	return Checkpoint{Size: size, Root: root, Note: msg}, nil
}

// ParseCheckpoint verifies a signed note with v and parses its text as a
// C2SP checkpoint. The origin line must equal v.Name(), the size must be a
// decimal without leading zeros, and the root standard base64 of 32 bytes;
// extension lines after the root are allowed (and ignored). Errors wrap
// ErrInvalid. The returned Note is a copy of msg.
func ParseCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	if v == nil {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint: no verifier", ErrInvalid)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint: %v", ErrInvalid, err)
	}
	bad := func(what string) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint: %s", ErrInvalid, what)
	}
	// note.Open guarantees the text ends in a newline.
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return bad("want origin, size and root lines")
	}
	if lines[0] != v.Name() {
		return bad(fmt.Sprintf("origin %q, want %q", lines[0], v.Name()))
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || (len(lines[1]) > 1 && lines[1][0] == '0') {
		return bad("size line: not a canonical decimal")
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize || base64.StdEncoding.EncodeToString(raw) != lines[2] {
		return bad("root line: not standard base64 of 32 bytes")
	}
	for i, ext := range lines[3:] {
		if ext == "" {
			return bad(fmt.Sprintf("extension line %d: empty", i+1))
		}
	}
	c := Checkpoint{Size: size, Note: bytes.Clone(msg)}
	copy(c.Root[:], raw)
	return c, nil
}

// Checkpoint returns the latest checkpoint, the one for the current head.
// An empty log has no stored checkpoint; if the log holds its signing key
// it returns a freshly signed one for size 0, else ErrNotFound.
func (l *Log) Checkpoint() (Checkpoint, error) {
	st := l.state.Load()
	if !st.hasCP {
		return Checkpoint{}, fmt.Errorf("%w: no checkpoint for an empty log without its signing key", ErrNotFound)
	}
	return st.cp, nil
}

// CheckpointAt returns the stored checkpoint for exactly size, or
// ErrNotFound. Every Append that adds records stores one.
func (l *Log) CheckpointAt(size uint64) (Checkpoint, error) {
	if err := l.acquire(); err != nil {
		return Checkpoint{}, err
	}
	defer l.release()
	st := l.state.Load()
	switch {
	case size > st.head.Size:
		return Checkpoint{}, fmt.Errorf("%w: checkpoint at size %d: beyond head %d", ErrNotFound, size, st.head.Size)
	case size == st.head.Size && st.hasCP && size > 0:
		return st.cp, nil
	}
	msg, ok, err := l.get(keys.Checkpoint(size))
	if err != nil {
		return Checkpoint{}, err
	}
	if !ok {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint at size %d", ErrNotFound, size)
	}
	return l.parseStored(size, msg)
}

// parseStored parses a checkpoint read from the store and checks it is for
// the size it is stored under.
func (l *Log) parseStored(size uint64, msg []byte) (Checkpoint, error) {
	c, err := ParseCheckpoint(msg, l.verifier)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: stored checkpoint at size %d: %v", ErrCorrupt, size, err)
	}
	if c.Size != size {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint stored at size %d says size %d", ErrCorrupt, size, c.Size)
	}
	return c, nil
}

// Origin returns the log's origin: the first line of its checkpoints and the
// name of its key.
func (l *Log) Origin() string { return l.origin }

// VerifierKey returns the note verifier key text ("origin+hash+base64") that
// checks the log's checkpoints.
func (l *Log) VerifierKey() string { return l.vkey }

// Verifier returns the note verifier for the log's checkpoints.
func (l *Log) Verifier() note.Verifier { return l.verifier }
