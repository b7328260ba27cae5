package client

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tally-ledger/tally/schemas"
)

// Receipt is the ledger's answer to an admitted envelope (the JSON a ledger
// publishes and the HTTP API returns). See VerifyReceipt.
type Receipt struct {
	Digest         string          `json:"digest"`      // envelope digest, hex
	Kind           string          `json:"kind"`        // event kind
	Seq            uint64          `json:"seq"`         // entry's sequence number (0-based)
	ReceivedAt     string          `json:"received_at"` // as stored in the record (RFC 3339, UTC)
	EntryHash      string          `json:"entry_hash"`  // RFC 6962 leaf hash of the record, hex
	ChainHash      string          `json:"chain_hash"`  // hash chain value at Seq, hex
	Checkpoint     string          `json:"checkpoint"`  // signed checkpoint note
	InclusionProof []string        `json:"inclusion_proof"`
	Duplicate      bool            `json:"duplicate"`          // the envelope was already logged
	Envelope       json.RawMessage `json:"envelope,omitempty"` // the logged envelope, when it differs from the submitted one
}

// Reason is one broken rule: the field (JSON Pointer), the rule, and a
// sentence for people.
type Reason struct {
	Path    string `json:"path"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Rejection is the ledger's answer to an envelope it did not admit.
type Rejection struct {
	Digest  string   `json:"digest,omitempty"`
	Reasons []Reason `json:"reasons"`
}

// outcome is the message on tally.receipt.<digest>.
type outcome struct {
	Receipt   *Receipt   `json:"receipt,omitempty"`
	Rejection *Rejection `json:"rejection,omitempty"`
}

// RejectedError is the error of a rejected submission. It wraps
// ErrRejected.
type RejectedError struct {
	Rejection Rejection
}

func (e *RejectedError) Error() string {
	var b strings.Builder
	b.WriteString("rejected")
	for i, r := range e.Rejection.Reasons {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		if r.Path != "" {
			b.WriteString(r.Path)
			b.WriteString(": ")
		}
		b.WriteString(r.Message)
		if r.Rule != "" {
			b.WriteString(" (" + r.Rule + ")")
		}
	}
	return b.String()
}

func (e *RejectedError) Unwrap() error { return ErrRejected }

// Checkpoint is a parsed, verified checkpoint note.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   tlog.Hash
}

// OpenCheckpoint verifies a signed checkpoint note with the log's verifier
// key ("origin+hash+base64", as printed by tally serve and served by the
// log) and parses it (C2SP tlog-checkpoint: origin, size, base64 root).
func OpenCheckpoint(signed []byte, verifierKey string) (Checkpoint, error) {
	v, err := note.NewVerifier(strings.TrimSpace(verifierKey))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: verifier key: %w", ErrInvalid, err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint signature: %w", ErrVerify, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint: want origin, size and root lines", ErrVerify)
	}
	cp := Checkpoint{Origin: lines[0]}
	if cp.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint origin %q is not the key's name %q", ErrVerify, cp.Origin, v.Name())
	}
	if cp.Size, err = strconv.ParseUint(lines[1], 10, 64); err != nil || strconv.FormatUint(cp.Size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint size %q is not a decimal number", ErrVerify, lines[1])
	}
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint root %q is not a base64 SHA-256 hash", ErrVerify, lines[2])
	}
	copy(cp.Root[:], root)
	return cp, nil
}

// VerifyReceipt checks a receipt offline against the envelope that was
// submitted (its JSON bytes) and the log's verifier key:
//
//   - the receipt names the envelope's digest;
//   - the record is rebuilt from the logged envelope (the submitted one, or
//     for a duplicate signed differently the receipt's Envelope, which must
//     have the same digest), ReceivedAt and Seq, and its RFC 6962 leaf hash
//     equals EntryHash;
//   - the checkpoint is signed by the key and names its origin;
//   - the inclusion proof leads from that leaf at Seq to the checkpoint's
//     root (tlog.CheckRecord).
//
// The chain hash is not checked: it depends on every earlier record
// (tally verify audits it against the whole log).
func VerifyReceipt(r *Receipt, verifierKey string, envelope []byte) error {
	if r == nil {
		return fmt.Errorf("%w: no receipt", ErrInvalid)
	}
	_, canon, digest, err := parseEnvelope(envelope)
	if err != nil {
		return err
	}
	if hex.EncodeToString(digest[:]) != r.Digest {
		return fmt.Errorf("%w: receipt is for digest %s, the envelope's is %x", ErrVerify, r.Digest, digest)
	}
	logged := canon
	if len(r.Envelope) > 0 {
		_, c, d, err := parseEnvelope(r.Envelope)
		if err != nil {
			return fmt.Errorf("%w: receipt's logged envelope: %w", ErrVerify, err)
		}
		if d != digest {
			return fmt.Errorf("%w: receipt's logged envelope has digest %x, not %x", ErrVerify, d, digest)
		}
		if !bytes.Equal(c, r.Envelope) {
			return fmt.Errorf("%w: receipt's logged envelope is not canonical", ErrVerify)
		}
		logged = c
	}
	ts, err := time.Parse(time.RFC3339Nano, r.ReceivedAt)
	if err != nil || ts.UTC().Format(time.RFC3339Nano) != r.ReceivedAt {
		return fmt.Errorf("%w: received_at %q is not an RFC 3339 UTC timestamp as the log writes them", ErrVerify, r.ReceivedAt)
	}
	leaf := tlog.RecordHash(RecordBytes(r.Seq, r.ReceivedAt, logged))
	if hex.EncodeToString(leaf[:]) != r.EntryHash {
		return fmt.Errorf("%w: entry_hash %s is not the hash of the record (%x)", ErrVerify, r.EntryHash, leaf)
	}
	cp, err := OpenCheckpoint([]byte(r.Checkpoint), verifierKey)
	if err != nil {
		return err
	}
	if r.Seq >= cp.Size {
		return fmt.Errorf("%w: seq %d is not in a checkpoint of size %d", ErrVerify, r.Seq, cp.Size)
	}
	proof := make(tlog.RecordProof, len(r.InclusionProof))
	for i, s := range r.InclusionProof {
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return fmt.Errorf("%w: inclusion_proof/%d is not a base64 SHA-256 hash", ErrVerify, i)
		}
		copy(proof[i][:], b)
	}
	if err := tlog.CheckRecord(proof, int64(cp.Size), cp.Root, int64(r.Seq), leaf); err != nil {
		return fmt.Errorf("%w: inclusion proof of seq %d in size %d: %w", ErrVerify, r.Seq, cp.Size, err)
	}
	return nil
}

// RecordBytes is the ledger's record encoding, the bytes whose RFC 6962
// leaf hash is the entry hash: the RFC 8785 canonical JSON
// {"envelope":<canonical envelope>,"received_at":"<ts>","seq":<seq>}.
func RecordBytes(seq uint64, receivedAt string, canonicalEnvelope []byte) []byte {
	b := make([]byte, 0, len(canonicalEnvelope)+len(receivedAt)+64)
	b = append(b, `{"envelope":`...)
	b = append(b, canonicalEnvelope...)
	b = append(b, `,"received_at":"`...)
	b = append(b, receivedAt...)
	b = append(b, `","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	return append(b, '}')
}

// parseEnvelope decodes envelope JSON and returns its canonical bytes and
// digest.
func parseEnvelope(b []byte) (schemas.Envelope, []byte, [32]byte, error) {
	var env schemas.Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return env, nil, [32]byte{}, fmt.Errorf("%w: envelope: %w", ErrInvalid, err)
	}
	canon, err := env.Canonical()
	if err != nil {
		return env, nil, [32]byte{}, fmt.Errorf("%w: envelope: %w", ErrInvalid, err)
	}
	d, err := env.Digest()
	if err != nil {
		return env, nil, [32]byte{}, fmt.Errorf("%w: envelope: %w", ErrInvalid, err)
	}
	return env, canon, d, nil
}
