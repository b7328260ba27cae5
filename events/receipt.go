package events

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/tally-ledger/tally/ledger"
)

// Receipt is the ledger's answer to an admitted submission: where the entry
// is, and the proof that it is in a signed checkpoint.
//
// Hashes that name things (digest, entry and chain hash) are lower-case hex;
// the proof hashes are standard base64, as in checkpoints and the proofs
// API. A producer checks a receipt offline with client.VerifyReceipt: the
// record (and so the leaf) is rebuilt from the envelope it submitted, Seq and
// ReceivedAt, and the leaf is proven to be in the checkpoint's tree.
type Receipt struct {
	// Digest is the envelope's identity (schemas.Envelope.Digest), hex.
	Digest string `json:"digest"`
	// Kind is the event kind named by the envelope's payload type.
	Kind string `json:"kind"`
	// Seq is the entry's sequence number in the log (0-based).
	Seq uint64 `json:"seq"`
	// ReceivedAt is the record's received_at exactly as stored (RFC 3339,
	// UTC): part of the record bytes, so needed to recompute the leaf.
	ReceivedAt string `json:"received_at"`
	// EntryHash is the RFC 6962 leaf hash of the record, hex.
	EntryHash string `json:"entry_hash"`
	// ChainHash is the log's hash chain value at Seq, hex.
	ChainHash string `json:"chain_hash"`
	// Checkpoint is the signed checkpoint note (C2SP tlog-checkpoint) the
	// proof leads to.
	Checkpoint string `json:"checkpoint"`
	// InclusionProof proves record Seq in the tree of the checkpoint's size.
	InclusionProof []string `json:"inclusion_proof"`
	// Duplicate: this envelope was already in the log; Seq and the hashes
	// are the original entry's and nothing new was appended.
	Duplicate bool `json:"duplicate"`
	// Envelope is the logged envelope, given only when it differs from the
	// submitted one (a duplicate that was signed differently: the digest
	// covers the statement, not its signatures).
	Envelope json.RawMessage `json:"envelope,omitempty"`

	// logged is the envelope as the record holds it (canonical JSON), when
	// BuildReceipt read it; the committed feed carries it.
	logged json.RawMessage
}

// Reason is one broken rule: where (a JSON Pointer into the envelope, or
// into its payload prefixed with /payload), which rule, and a sentence for
// people.
type Reason struct {
	Path    string `json:"path"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Rejection is the answer to a submission that was not admitted.
type Rejection struct {
	// Digest of the envelope, hex; empty when the message was not an
	// envelope at all.
	Digest  string   `json:"digest,omitempty"`
	Reasons []Reason `json:"reasons"`
}

// Rejected is the body of a message on TALLY_REJECTED: the rejected
// submission as it arrived, and why it was rejected.
type Rejected struct {
	Rejection
	StreamSeq uint64 `json:"stream_seq"`
	// BulkLine is the envelope's line (from 1) in a bulk submission.
	BulkLine   int       `json:"bulk_line,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	// Data is the message body as published (base64 in JSON, since it need
	// not be JSON at all).
	Data []byte `json:"data,omitempty"`
	// DataOmitted: the body was too large to repeat here; it is in the
	// TALLY stream at StreamSeq (while the stream keeps it).
	DataOmitted bool `json:"data_omitted,omitempty"`
}

// Committed is the body of a message on tally.committed.<kind>: a newly
// committed entry for downstream systems. The feed is core NATS (at most
// once); the ledger itself is the durable copy, readable in order through
// the API.
type Committed struct {
	Seq        uint64          `json:"seq"`
	Digest     string          `json:"digest"`
	Kind       string          `json:"kind"`
	ReceivedAt string          `json:"received_at"`
	EntryHash  string          `json:"entry_hash"`
	ChainHash  string          `json:"chain_hash"`
	Envelope   json.RawMessage `json:"envelope"`
}

// BuildReceipt makes the receipt for one appended entry: it reads the
// stored record (for its received_at, and, for a duplicate, its envelope)
// and proves record a.Seq in the tree of cp.Size. submitted is the
// canonical envelope that was offered; kind and digest describe it.
func BuildReceipt(l *ledger.Log, kind string, digest [32]byte, submitted []byte, a ledger.Appended, cp ledger.Checkpoint) (*Receipt, error) {
	rec, err := l.RecordBytes(a.Seq)
	if err != nil {
		return nil, fmt.Errorf("receipt for seq %d: %w", a.Seq, err)
	}
	fields, ok := recordFields(rec, a.Seq)
	if !ok {
		if err := json.Unmarshal(rec, &fields); err != nil {
			return nil, fmt.Errorf("receipt for seq %d: record: %w", a.Seq, err)
		}
	}
	return buildReceipt(l, kind, digest, submitted, a, cp, fields)
}

// newEntryReceipt is BuildReceipt for an entry e that this process has
// just appended as a (not a duplicate): the record's received_at and
// envelope are e's, so the record need not be read back.
func newEntryReceipt(l *ledger.Log, kind string, digest [32]byte, e ledger.Entry, a ledger.Appended, cp ledger.Checkpoint) (*Receipt, error) {
	return buildReceipt(l, kind, digest, e.Envelope, a, cp, storedFields{ReceivedAt: ledger.ReceivedAtText(e.ReceivedAt), Envelope: e.Envelope})
}

func buildReceipt(l *ledger.Log, kind string, digest [32]byte, submitted []byte, a ledger.Appended, cp ledger.Checkpoint, fields storedFields) (*Receipt, error) {
	proof, err := l.ProveInclusion(a.Seq, cp.Size)
	if err != nil {
		return nil, fmt.Errorf("receipt for seq %d: inclusion proof in size %d: %w", a.Seq, cp.Size, err)
	}
	r := &Receipt{
		Digest:         hex.EncodeToString(digest[:]),
		Kind:           kind,
		Seq:            a.Seq,
		ReceivedAt:     fields.ReceivedAt,
		EntryHash:      hex.EncodeToString(a.Leaf[:]),
		ChainHash:      hex.EncodeToString(a.Chain[:]),
		Checkpoint:     string(cp.Note),
		InclusionProof: make([]string, len(proof)),
		Duplicate:      a.Duplicate,
		logged:         fields.Envelope,
	}
	for i, h := range proof {
		r.InclusionProof[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	if !bytes.Equal(fields.Envelope, submitted) {
		r.Envelope = fields.Envelope
	}
	return r, nil
}

// storedFields are what a receipt takes from the stored record.
type storedFields struct {
	ReceivedAt string          `json:"received_at"`
	Envelope   json.RawMessage `json:"envelope"`
}

// recordFields reads received_at and the envelope of record seq in the
// form the ledger writes it, {"envelope":…,"received_at":"…","seq":N}
// (ledger.Record.Bytes), without parsing the envelope: it is the last
// quote-free string before the seq that delimits them. ok is false for
// any other form (the caller then parses the record as JSON).
func recordFields(rec []byte, seq uint64) (f storedFields, ok bool) {
	const open, received = `{"envelope":`, `,"received_at":"`
	tail := `","seq":` + strconv.FormatUint(seq, 10) + `}`
	if !bytes.HasPrefix(rec, []byte(open)) || !bytes.HasSuffix(rec, []byte(tail)) {
		return f, false
	}
	rest := rec[len(open) : len(rec)-len(tail)]
	q := bytes.LastIndexByte(rest, '"')
	if q < 0 || !bytes.HasSuffix(rest[:q+1], []byte(received)) {
		return f, false
	}
	f.ReceivedAt = string(rest[q+1:])
	f.Envelope = rest[:q+1-len(received)]
	return f, len(f.Envelope) > 0
}
