package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Bulk submissions.
//
// A producer with many statements to send (a season of weigh-ins, a day of
// deliveries) may put up to MaxBulkEnvelopes of them in one message on
// SubjectSubmitBulk: JSON Lines, one DSSE envelope per line. Each envelope
// is still signed on its own and judged on its own, exactly as if it had
// been published alone at that place in the stream: the lines of a bulk
// message enter the ledger in their order, directly after whatever came
// before the message, and one line's rejection does not affect the others.
// What is shared is the transport: one message to store, deliver and
// acknowledge instead of one per envelope.
//
// The answer comes on tally.receipt.<bulk digest>.<first line>, in parts
// (usually one) so that no part exceeds the connection's largest message:
// part messages carry BulkOutcome bodies, headers Tally-Submission-Seq and
// Tally-Bulk-Lines (the number of lines answered), and are kept in
// TALLY_RECEIPTS like every outcome. The bulk digest (BulkDigest) is
// SHA-256 over a domain prefix and the message body, so a submitter knows
// it before publishing. A message that is not a bulk submission at all
// (empty, too many lines) is answered with one part whose Rejection names
// the rule, and kept in TALLY_REJECTED.
const (
	// SubjectSubmitBulk is where bulk submissions are published (inside
	// the TALLY stream's subjects; no event kind is named "bulk").
	SubjectSubmitBulk = SubjectSubmitPrefix + "bulk"
	// MaxBulkEnvelopes is the most lines a bulk submission may hold.
	MaxBulkEnvelopes = 256
	// HeaderBulkLines on a bulk outcome part is the number of lines of the
	// bulk submission (0 when the message was refused as a whole).
	HeaderBulkLines = "Tally-Bulk-Lines"

	bulkDomain = "tally-bulk-v1\n"
)

// BulkOutcome is the body of one part of the answer to a bulk submission:
// the outcomes of lines First, First+1, …, in order. Rejection is set
// instead when the message was refused as a whole.
type BulkOutcome struct {
	First     int        `json:"first"`
	Outcomes  []Outcome  `json:"outcomes,omitempty"`
	Rejection *Rejection `json:"rejection,omitempty"`
}

// BulkDigest is the identity of a bulk submission's body, hex: the subject
// its answer comes under is SubjectReceiptPrefix + BulkDigest(body) + "." +
// the first line of each part.
func BulkDigest(body []byte) string {
	h := sha256.New()
	h.Write([]byte(bulkDomain))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// BulkPartSubject is the subject of the answer part starting at line first.
func BulkPartSubject(digest string, first int) string {
	return fmt.Sprintf("%s%s.%d", SubjectReceiptPrefix, digest, first)
}

// SplitBulk splits a bulk submission into its lines (a final newline is
// allowed; a line's own "\r\n" ending is not part of it). A body with no
// line, more than MaxBulkEnvelopes lines or an empty line (nothing but
// spaces and tabs) is refused as a whole with its reasons; the path of an
// empty line is its index from 0, as in a JSON Pointer into an array.
func SplitBulk(body []byte) ([][]byte, []Reason) {
	body = bytes.TrimSuffix(body, []byte("\n"))
	if len(body) == 0 {
		return nil, []Reason{{Path: "", Rule: "bulk_empty", Message: "a bulk submission needs at least one envelope, one per line"}}
	}
	if n := bytes.Count(body, []byte("\n")) + 1; n > MaxBulkEnvelopes {
		return nil, []Reason{{Path: "", Rule: "bulk_max_lines", Message: fmt.Sprintf("a bulk submission holds at most %d envelopes, one per line; this one has %d lines", MaxBulkEnvelopes, n)}}
	}
	lines := bytes.Split(body, []byte("\n"))
	for i, l := range lines {
		l = bytes.TrimSuffix(l, []byte("\r"))
		if len(bytes.Trim(l, " \t")) == 0 {
			return nil, []Reason{{Path: fmt.Sprintf("/%d", i), Rule: "bulk_empty_line", Message: fmt.Sprintf("line %d is empty; a bulk submission holds one envelope on every line", i+1)}}
		}
		lines[i] = l
	}
	return lines, nil
}
