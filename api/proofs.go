package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tally-ledger/tally/ledger"
)

// InclusionProof proves record Seq in the tree of Size records. Hashes are
// standard base64; check with tlog.CheckRecord(Hashes, Size, Root, Seq, Leaf).
type InclusionProof struct {
	Seq    uint64   `json:"seq"`
	Size   uint64   `json:"size"`
	Leaf   string   `json:"leaf"`
	Root   string   `json:"root"`
	Hashes []string `json:"hashes"`
	// Checkpoint is the signed checkpoint of Size, when one is stored.
	Checkpoint string `json:"checkpoint,omitempty"`
}

// ConsistencyProof proves that the tree of From records is a prefix of the
// tree of To records; check with tlog.CheckTree(Hashes, To, Root, From,
// RootFrom).
type ConsistencyProof struct {
	From     uint64   `json:"from"`
	To       uint64   `json:"to"`
	RootFrom string   `json:"root_from"`
	Root     string   `json:"root"`
	Hashes   []string `json:"hashes"`
	// Checkpoint is the signed checkpoint of To, when one is stored.
	Checkpoint string `json:"checkpoint,omitempty"`
}

// getCheckpoint answers GET /v1/checkpoint with the latest signed note.
func (s *Server) getCheckpoint(c *echo.Context) error {
	cp, err := s.deps.Log.Checkpoint()
	if errors.Is(err, ledger.ErrNotFound) {
		return NewProblem(http.StatusNotFound, TypeNotFound, "the log is empty and has no checkpoint yet")
	}
	if err != nil {
		return Internal(err)
	}
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", cp.Note)
}

// inclusionProof answers GET /v1/proofs/inclusion?seq=&size= (size
// defaults to the log's size).
func (s *Server) inclusionProof(c *echo.Context) error {
	seq, err := requireUint(c, "seq", 0, ledger.MaxSeq)
	if err != nil {
		return err
	}
	head := s.deps.Log.Head().Size
	if head == 0 {
		return NewProblem(http.StatusNotFound, TypeNotFound, "the log is empty")
	}
	size, err := queryUint(c, "size", head, 1, head)
	if err != nil {
		return err
	}
	if seq >= size {
		return BadQuery("seq", "range", fmt.Sprintf("record %d is not in a tree of size %d (seq must be below size)", seq, size))
	}
	proof, err := s.deps.Log.ProveInclusion(seq, size)
	if err != nil {
		return Internal(err)
	}
	leaf, err := s.deps.Log.LeafHash(seq)
	if err != nil {
		return Internal(err)
	}
	root, err := s.deps.Log.TreeHash(size)
	if err != nil {
		return Internal(err)
	}
	out := InclusionProof{Seq: seq, Size: size, Leaf: b64(leaf), Root: b64(root), Hashes: b64s(proof)}
	if cp, err := s.deps.Log.CheckpointAt(size); err == nil {
		out.Checkpoint = string(cp.Note)
	}
	return c.JSON(http.StatusOK, out)
}

// consistencyProof answers GET /v1/proofs/consistency?from=&to= (to
// defaults to the log's size).
func (s *Server) consistencyProof(c *echo.Context) error {
	head := s.deps.Log.Head().Size
	if head == 0 {
		return NewProblem(http.StatusNotFound, TypeNotFound, "the log is empty")
	}
	to, err := queryUint(c, "to", head, 1, head)
	if err != nil {
		return err
	}
	from, err := requireUint(c, "from", 1, head)
	if err != nil {
		return err
	}
	if from > to {
		return BadQuery("from", "range", fmt.Sprintf("from (%d) must not exceed to (%d)", from, to))
	}
	proof, err := s.deps.Log.ProveConsistency(from, to)
	if err != nil {
		return Internal(err)
	}
	rootFrom, err := s.deps.Log.TreeHash(from)
	if err != nil {
		return Internal(err)
	}
	root, err := s.deps.Log.TreeHash(to)
	if err != nil {
		return Internal(err)
	}
	out := ConsistencyProof{From: from, To: to, RootFrom: b64(rootFrom), Root: b64(root), Hashes: b64s(proof)}
	if cp, err := s.deps.Log.CheckpointAt(to); err == nil {
		out.Checkpoint = string(cp.Note)
	}
	return c.JSON(http.StatusOK, out)
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

func b64s(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = b64(h)
	}
	return out
}
