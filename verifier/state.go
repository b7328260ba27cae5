package verifier

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// State is what admission needs to know about the ledger so far: the
// parties with the history of their keys, the hops, and the lots with what
// has been consumed of them. Everything in it is derived from the records
// alone, in log order, so every replica and every auditor that replays the
// same log holds the same State.
//
// Values returned are copies, except that slices (Party.Keys, Key.Public)
// share memory with the state and must not be modified.
type State interface {
	// Size is the number of ledger records the state reflects: the
	// sequence number the next appended record will get.
	Size() uint64
	// Party returns a registered party by id.
	Party(id string) (Party, bool)
	// Key returns a key by key id (schemas.KeyID), whoever it belongs to.
	// A key id, once registered, stays in the state for good: a rotated or
	// revoked key can never be registered again.
	Key(id string) (Key, bool)
	// Hop returns a recorded hop by id.
	Hop(id string) (Hop, bool)
	// Lot returns a lot output by a sale hop, by id.
	Lot(id string) (Lot, bool)
	// Authorities is the number of registered parties with the role
	// registrar or operator.
	Authorities() int
}

// Party is a registered party as admission sees it.
type Party struct {
	ID      string
	Role    string
	OrgForm string
	// Keys lists the ids of every key the party ever had, in the order
	// they were introduced (registration, then rotations).
	Keys []string
	// Seq is the sequence number of the registration.
	Seq uint64
}

// Key is one signing key and when it was current.
type Key struct {
	ID     string // schemas.KeyID(Public)
	Party  string
	Public ed25519.PublicKey
	// From is the received_at of the statement that introduced the key.
	From time.Time
	// Until is the first instant at which the key is no longer current:
	// the received_at of the rotation that replaced it, or the effective
	// time of its revocation. Zero while the key is current.
	Until time.Time
	// Revoked: the key was withdrawn by party.key_revoked (Until is then
	// the revocation's effective time); otherwise a non-zero Until comes
	// from a rotation.
	Revoked bool
}

// CurrentAt reports whether the key was current at t: From <= t < Until.
// A key rotated at T is not current for a message received at T or later.
func (k Key) CurrentAt(t time.Time) bool {
	return !t.Before(k.From) && (k.Until.IsZero() || t.Before(k.Until))
}

// Hop is a recorded hop.
type Hop struct {
	ID     string
	Seq    uint64
	Digest [32]byte // the envelope digest an attestation's subject must name
	Seller string
	Buyer  string
	Kind   string // schemas.HopSale or schemas.HopService
	Lot    string // the output lot (for a service, the lot served)
}

// Lot is a lot output by a sale hop: who acquired it, how much, and how
// much of it later hops of its buyer consumed.
type Lot struct {
	ID     string
	Hop    string // the sale hop that output it
	Seller string
	Buyer  string // the party that acquired it, the only one who may consume it
	Amount decimal.Decimal
	Unit   string
	// Consumed is the total consumed by later hops, converted to Unit.
	Consumed decimal.Decimal
}

// MemState is the in-memory State: maps of parties, keys, hops and lots.
//
// Memory grows with what the log names, not with the number of records: a
// few hundred bytes per party and per key, about 470 bytes for a hop and
// the lot it outputs (measured with ids of about 20 characters: strings,
// map slots, the digest, two decimals), and nothing at all per attestation,
// benchmark or rejected submission. A log of ten million hops, each
// outputting a lot, needs about 5 GB; a log of attestations on a few
// thousand hops needs a few MB.
//
// A MemState is safe for concurrent use: admission writes to it only
// through Admitter.Commit, and readers may query it meanwhile.
type MemState struct {
	mu          sync.RWMutex
	size        uint64
	parties     map[string]*Party
	keys        map[string]*Key
	hops        map[string]*Hop
	lots        map[string]*Lot
	authorities int
}

var _ State = (*MemState)(nil)

// NewMemState returns the state of an empty log.
func NewMemState() *MemState {
	return &MemState{
		parties: map[string]*Party{},
		keys:    map[string]*Key{},
		hops:    map[string]*Hop{},
		lots:    map[string]*Lot{},
	}
}

// LoadState builds the state of a log by replaying its records from seq 0
// (see MemState.CatchUp).
func LoadState(ctx context.Context, l *ledger.Log) (*MemState, error) {
	s := NewMemState()
	if err := s.CatchUp(ctx, l); err != nil {
		return nil, err
	}
	return s, nil
}

// CatchUp applies the records of l from s.Size() to the head, so that the
// state reflects the whole log. Records are trusted as admitted: their
// effects are applied without checking signatures or rules (the audit
// and ReplayAdmission do that). Records whose kind is not in the
// vocabulary (BenchKind) or whose payload does not decode have no effect
// beyond taking their sequence number.
func (s *MemState) CatchUp(ctx context.Context, l *ledger.Log) error {
	head := l.Head().Size
	for s.Size() < head {
		if err := ctx.Err(); err != nil {
			return err
		}
		const chunk = 4096
		from := s.Size()
		var ov *overlay
		err := l.Scan(from, chunk, func(r ledger.Record) error {
			if ov == nil {
				ov = newOverlay(s)
			}
			if r.Seq != ov.Size() {
				return fmt.Errorf("%w: record %d where the state expects %d", ErrDiverged, r.Seq, ov.Size())
			}
			applyRecord(ov, r)
			return nil
		})
		if err != nil {
			return fmt.Errorf("verifier: replay from record %d: %w", from, err)
		}
		if ov == nil {
			break
		}
		ov.commitTo(s)
	}
	return nil
}

// applyRecord applies the effects of a stored record to w.
func applyRecord(w *overlay, r ledger.Record) {
	var env schemas.Envelope
	if err := json.Unmarshal(r.Envelope, &env); err != nil {
		w.advance()
		return
	}
	kind, ok := schemas.KindOf(env.PayloadType)
	if !ok || !schemas.KnownKind(kind) {
		w.advance()
		return
	}
	body, err := env.Body()
	if err != nil {
		w.advance()
		return
	}
	digest, err := env.Digest()
	ev, _ := schemas.DecodePayload(kind, body)
	if ev == nil || err != nil {
		w.advance()
		return
	}
	apply(w, r.ReceivedAt, digest, ev)
}

// Size implements State.
func (s *MemState) Size() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.size
}

// Party implements State.
func (s *MemState) Party(id string) (Party, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if p, ok := s.parties[id]; ok {
		return *p, true
	}
	return Party{}, false
}

// Key implements State.
func (s *MemState) Key(id string) (Key, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if k, ok := s.keys[id]; ok {
		return *k, true
	}
	return Key{}, false
}

// Hop implements State.
func (s *MemState) Hop(id string) (Hop, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if h, ok := s.hops[id]; ok {
		return *h, true
	}
	return Hop{}, false
}

// Lot implements State.
func (s *MemState) Lot(id string) (Lot, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if l, ok := s.lots[id]; ok {
		return *l, true
	}
	return Lot{}, false
}

// Authorities implements State.
func (s *MemState) Authorities() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.authorities
}

// Counts returns how many parties, keys, hops and lots the state holds.
func (s *MemState) Counts() (parties, keys, hops, lots int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.parties), len(s.keys), len(s.hops), len(s.lots)
}
