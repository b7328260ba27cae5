package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Record is a stored record. Its bytes are the RFC 8785 canonical JSON
//
//	{"envelope":<Envelope>,"received_at":"<RFC 3339 with nanoseconds, UTC>","seq":<Seq>}
//
// The members are written in the order JCS sorts them (envelope,
// received_at, seq), nothing needs escaping in the timestamp, and the
// envelope is itself canonical, so plain concatenation is the canonical
// form: no generic JSON transformation runs on the append path.
type Record struct {
	Seq        uint64
	ReceivedAt time.Time
	Envelope   json.RawMessage
}

// Pieces of the record encoding, in order.
const (
	recOpen     = `{"envelope":`
	recReceived = `,"received_at":"`
	recSeq      = `","seq":`
	recClose    = `}`
)

// MaxSeq is the largest sequence number a record can carry: seq is a JSON
// number, and RFC 8785 numbers are IEEE 754 doubles, exact up to 2^53-1.
const MaxSeq = 1<<53 - 1

// Bytes returns the record's canonical encoding.
func (r Record) Bytes() []byte {
	var tb [64]byte
	ts := appendTimestamp(tb[:0], r.ReceivedAt)
	return appendRecord(make([]byte, 0, recordLen(len(r.Envelope), len(ts), r.Seq)), r.Seq, ts, r.Envelope)
}

// ReceivedAtText is t as a record stores it in received_at.
func ReceivedAtText(t time.Time) string {
	var b [64]byte
	return string(appendTimestamp(b[:0], t))
}

// appendTimestamp appends t as stored in a record: RFC 3339 in UTC with
// nanoseconds, trailing zeros dropped (time.RFC3339Nano).
func appendTimestamp(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, time.RFC3339Nano)
}

// recordLen is the length of a record's encoding, so that Append can reserve
// the exact space in the Pebble batch and write the record in place.
func recordLen(envLen, tsLen int, seq uint64) int {
	return len(recOpen) + envLen + len(recReceived) + tsLen + len(recSeq) + decimalLen(seq) + len(recClose)
}

func decimalLen(n uint64) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// appendRecord appends the encoding of a record with the given parts.
func appendRecord(dst []byte, seq uint64, ts, env []byte) []byte {
	dst = append(dst, recOpen...)
	dst = append(dst, env...)
	dst = append(dst, recReceived...)
	dst = append(dst, ts...)
	dst = append(dst, recSeq...)
	dst = strconv.AppendUint(dst, seq, 10)
	return append(dst, recClose...)
}

// DecodeRecord parses a record's bytes. It is strict: it accepts exactly the
// bytes Record.Bytes produces for some record with a canonical envelope and
// a timestamp in years 0000–9999, so whatever it accepts re-encodes to the
// same bytes. The returned Envelope aliases b.
func DecodeRecord(b []byte) (Record, error) {
	bad := func(what string) (Record, error) {
		return Record{}, fmt.Errorf("%w: record: %s", ErrInvalid, what)
	}
	if len(b) < len(recOpen)+len(recReceived)+len(recSeq)+len(recClose)+1 ||
		!bytes.HasPrefix(b, []byte(recOpen)) || b[len(b)-1] != '}' {
		return bad(`not of the form {"envelope":…,"received_at":"…","seq":…}`)
	}
	// Work back from the end: seq digits, then the timestamp, which holds no
	// quote, so the envelope is everything in between whatever it contains.
	end := len(b) - 1
	i := end
	for i > 0 && '0' <= b[i-1] && b[i-1] <= '9' {
		i--
	}
	digits := b[i:end]
	if len(digits) == 0 || (len(digits) > 1 && digits[0] == '0') {
		return bad("seq: not a canonical non-negative integer")
	}
	seq, err := strconv.ParseUint(string(digits), 10, 64)
	if err != nil || seq > MaxSeq {
		return bad("seq: out of range")
	}
	if !bytes.HasSuffix(b[:i], []byte(recSeq)) {
		return bad(`expected ","seq": before the sequence number`)
	}
	tsEnd := i - len(recSeq)
	q := bytes.LastIndexByte(b[:tsEnd], '"')
	if q < 0 || !bytes.HasSuffix(b[:q+1], []byte(recReceived)) {
		return bad(`expected ,"received_at":"…" before seq`)
	}
	ts := b[q+1 : tsEnd]
	envEnd := q + 1 - len(recReceived)
	if envEnd < len(recOpen) {
		return bad("envelope: missing")
	}
	env := b[len(recOpen):envEnd]
	if err := checkCanonicalObject(env); err != nil {
		return bad("envelope: " + err.Error())
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return bad("received_at: not RFC 3339")
	}
	var tb [64]byte
	if !bytes.Equal(appendTimestamp(tb[:0], t), ts) {
		return bad("received_at: not in canonical form (UTC, 'Z', no trailing zeros in the fraction)")
	}
	return Record{Seq: seq, ReceivedAt: t.UTC(), Envelope: env}, nil
}
