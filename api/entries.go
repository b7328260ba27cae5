package api

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// Entry is one record of the log as the API shows it.
type Entry struct {
	Seq        uint64 `json:"seq"`
	ReceivedAt string `json:"received_at"`
	// Digest is the envelope's dedupe identity, hex.
	Digest string `json:"digest"`
	// Kind is the event kind of the payload type.
	Kind string `json:"kind"`
	// EntryHash is the RFC 6962 leaf hash of the record, hex; ChainHash the
	// hash chain at Seq, hex.
	EntryHash string `json:"entry_hash"`
	ChainHash string `json:"chain_hash"`
	// Envelope is the logged DSSE envelope, as stored (canonical JSON).
	Envelope json.RawMessage `json:"envelope"`
	// Payload is the envelope's decoded payload (canonical JSON).
	Payload json.RawMessage `json:"payload,omitempty"`
}

// EntryPage is one page of GET /v1/entries.
type EntryPage struct {
	Entries []Entry `json:"entries"`
	// Next is the URL of the following page; absent on the last page.
	Next string `json:"next,omitempty"`
	// Size is the log's size when the page was read.
	Size uint64 `json:"size"`
}

// Paging limits of GET /v1/entries.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// getEntry answers GET /v1/entries/{seq}.
func (s *Server) getEntry(c *echo.Context) error {
	raw := c.Param("seq")
	seq, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return NewProblem(http.StatusBadRequest, TypeBadRequest, "path parameter seq: not a non-negative decimal integer",
			FieldError{Path: "seq", In: "path", Rule: "uint", Message: fmt.Sprintf("%q is not a non-negative decimal integer", clip(raw))})
	}
	rec, err := s.deps.Log.Get(seq)
	if errors.Is(err, ledger.ErrNotFound) {
		return NewProblem(http.StatusNotFound, TypeNotFound, fmt.Sprintf("no entry %d (the log has %d)", seq, s.deps.Log.Head().Size))
	}
	if err != nil {
		return Internal(err)
	}
	e, err := s.entry(rec)
	if err != nil {
		return Internal(err)
	}
	return c.JSON(http.StatusOK, e)
}

// listEntries answers GET /v1/entries?from=&limit=.
func (s *Server) listEntries(c *echo.Context) error {
	from, err := queryUint(c, "from", 0, 0, ledger.MaxSeq)
	if err != nil {
		return err
	}
	limit, err := queryUint(c, "limit", DefaultPageSize, 1, MaxPageSize)
	if err != nil {
		return err
	}
	size := s.deps.Log.Head().Size
	page := EntryPage{Entries: []Entry{}, Size: size}
	err = s.deps.Log.Scan(from, int(limit), func(r ledger.Record) error {
		if r.Seq >= size {
			return errStopScan
		}
		e, err := s.entry(r)
		if err != nil {
			return err
		}
		page.Entries = append(page.Entries, e)
		return nil
	})
	if err != nil && !errors.Is(err, errStopScan) {
		return Internal(err)
	}
	if next := from + uint64(len(page.Entries)); len(page.Entries) > 0 && next < size {
		page.Next = fmt.Sprintf("/v1/entries?from=%d&limit=%d", next, limit)
	}
	return c.JSON(http.StatusOK, page)
}

var errStopScan = errors.New("stop scan")

// entry builds the API view of a record.
func (s *Server) entry(r ledger.Record) (Entry, error) {
	leaf, err := s.deps.Log.LeafHash(r.Seq)
	if err != nil {
		return Entry{}, err
	}
	chain, err := s.deps.Log.ChainHash(r.Seq)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{
		Seq:        r.Seq,
		ReceivedAt: r.ReceivedAt.UTC().Format(time.RFC3339Nano),
		EntryHash:  hex.EncodeToString(leaf[:]),
		ChainHash:  hex.EncodeToString(chain[:]),
		Envelope:   r.Envelope,
	}
	var env schemas.Envelope
	if err := json.Unmarshal(r.Envelope, &env); err != nil {
		return Entry{}, fmt.Errorf("entry %d: envelope: %w", r.Seq, err)
	}
	e.Kind, _ = schemas.KindOf(env.PayloadType)
	if d, err := env.Digest(); err == nil {
		e.Digest = hex.EncodeToString(d[:])
	}
	if body, err := env.Body(); err == nil && json.Valid(body) {
		e.Payload = body
	}
	return e, nil
}
