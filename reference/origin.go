package reference

import (
	"encoding/json"
	"fmt"
)

// Origin says where a figure came from: a row of a bundled data file, or a
// benchmark.published entry on the ledger. Build one with BundledRow or
// LedgerEntry.
type Origin struct {
	ledger bool
	file   string
	row    int
	seq    uint64
}

// BundledRow is the origin of a figure read from a bundled file; row is the
// file's line number, the header being line 1.
func BundledRow(file string, row int) Origin { return Origin{file: file, row: row} }

// LedgerEntry is the origin of a figure published on the ledger at seq.
func LedgerEntry(seq uint64) Origin { return Origin{ledger: true, seq: seq} }

// IsLedger reports whether the figure came from a ledger entry.
func (o Origin) IsLedger() bool { return o.ledger }

// File and Row locate a bundled figure ("" and 0 for a ledger figure).
func (o Origin) File() string { return o.file }

// Row is the line of File the figure was read from.
func (o Origin) Row() int { return o.row }

// Seq is the ledger sequence number of a ledger figure (0 for a bundled one;
// use IsLedger to tell a ledger entry 0 apart).
func (o Origin) Seq() uint64 { return o.seq }

// String is "wages.csv:12" or "ledger:42".
func (o Origin) String() string {
	if o.ledger {
		return fmt.Sprintf("ledger:%d", o.seq)
	}
	return fmt.Sprintf("%s:%d", o.file, o.row)
}

// before orders origins: bundled rows first (by file, then row), then ledger
// entries by sequence number.
func (o Origin) before(p Origin) bool {
	if o.ledger != p.ledger {
		return !o.ledger
	}
	if o.ledger {
		return o.seq < p.seq
	}
	if o.file != p.file {
		return o.file < p.file
	}
	return o.row < p.row
}

func (o Origin) validate() error {
	if !o.ledger && (o.file == "" || o.row < 1) {
		return fmt.Errorf("%w: origin: needs a bundled file and row, or a ledger sequence number", ErrInvalidFigure)
	}
	return nil
}

type originJSON struct {
	From string  `json:"from"`
	File string  `json:"file,omitempty"`
	Row  int     `json:"row,omitempty"`
	Seq  *uint64 `json:"seq,omitempty"`
}

// MarshalJSON writes {"from":"bundled","file":…,"row":…} or
// {"from":"ledger","seq":…}.
func (o Origin) MarshalJSON() ([]byte, error) {
	if o.ledger {
		s := o.seq
		return json.Marshal(originJSON{From: "ledger", Seq: &s})
	}
	return json.Marshal(originJSON{From: "bundled", File: o.file, Row: o.row})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (o *Origin) UnmarshalJSON(b []byte) error {
	var j originJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	switch j.From {
	case "ledger":
		if j.Seq == nil {
			return fmt.Errorf("%w: origin/seq: required for a ledger origin", ErrInvalidFigure)
		}
		*o = LedgerEntry(*j.Seq)
	case "bundled":
		*o = BundledRow(j.File, j.Row)
	default:
		return fmt.Errorf("%w: origin/from: %q is not \"bundled\" or \"ledger\"", ErrInvalidFigure, j.From)
	}
	return nil
}

// Equal reports whether two origins name the same row or entry.
func (o Origin) Equal(p Origin) bool { return o == p }
