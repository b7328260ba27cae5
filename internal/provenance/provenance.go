// Package provenance reads a lot's history from the ledger and turns it into
// what the FEX scoring method takes: the upstream DAG of hops that ends at a
// lot, the attestations about those hops, the parties involved, and the
// reference figures in force (the bundled ones, plus benchmark.published
// entries on the ledger).
//
// Everything is read through the ledger's secondary indexes (lot, hop,
// party, kind, subject; see schemas.Terms), never by scanning the log, so
// the memory and time a lot takes depend on the size of its chain, not on
// the size of the ledger. Every answer is read at one ledger position (the
// head when the call began): entries appended while it reads are not seen.
//
// How ledger entries become score inputs:
//
//   - The final hop of a lot is the latest sale that output it; a service
//     on the lot recorded after that sale (a last-mile delivery, preferred
//     over other services) is its delivery.
//   - An input lot of a hop links to the first sale that output that lot,
//     if it was recorded before the hop. Admission lets one sale only
//     output a lot, and only before the lot is consumed, so on an admitted
//     ledger this is the sale that output it, and the final sale's rule
//     above finds the same one. A lot that no earlier sale output is an
//     input that is not on the ledger.
//   - Parties are read from their party.registered entries. The reserved
//     buyer id schemas.EndConsumer (the end consumer of a final sale) is no
//     registered party: it has no country, region or organisation form.
//   - An attestation's role is its attester's registered role. An audit's
//     scope maps onto the method's figure groups (price, costs, labour);
//     an audit that covers only quantities or inputs attests no figure the
//     method grades, and is left out of the score (the provenance lists it).
//   - Regions: parties and hops name regions by ISO 3166-2 code (CD-LU),
//     while published benchmarks name them in words ("Kolwezi (Lualaba), DR
//     Congo"). See regions.go for how codes are matched to those names.
//   - The hop vocabulary has no way to declare that no labour went into an
//     output: a hop without labour figures has missing labour.
package provenance

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/schemas"
)

// Errors of the package; returned errors wrap them (errors.Is).
var (
	// ErrNotFound: no sale on the ledger output the lot, or no hop has the
	// id asked for.
	ErrNotFound = errors.New("not found")

	// ErrCorrupt: an entry the chain needs does not read as what its index
	// says it is (an admitted ledger never has one).
	ErrCorrupt = errors.New("provenance: unreadable entry")
)

// Reader reads provenance and scores from a ledger. It is safe for
// concurrent use.
type Reader struct {
	l       *ledger.Log
	bundled *reference.Set

	// Caches of what the ledger, being append-only, never changes: entries
	// by sequence number; the first entry that names a party (its
	// registration, on an admitted ledger); the first sale that output a
	// lot; the first hop recorded with an id. And of lists that grow, each
	// with the position it was read to: the hops that output a lot (its
	// sale, then services on it) and the attestations about a hop (keyed by
	// the hop's digest and id). All are bounded (see cache.go).
	entries  *lru[uint64, item]
	parties  *lru[string, item]
	sales    *lru[string, uint64]
	hops     *lru[string, uint64]
	outputs  *lru[string, seqList]
	subjects *lru[string, seqList]

	// ref caches the reference set with the ledger's benchmarks layered
	// on the bundled figures, up to the position it was last read at.
	refMu sync.Mutex
	ref   refCache
}

// New returns a Reader of l whose reference figures are bundled (usually
// reference.Bundled()) with the benchmark.published entries of l layered on
// top. A nil bundled set starts from no figures at all.
func New(l *ledger.Log, bundled *reference.Set) *Reader {
	if bundled == nil {
		bundled, _ = reference.New(nil)
	}
	return &Reader{
		l: l, bundled: bundled,
		entries:  newLRU[uint64, item](entryCacheSize),
		parties:  newLRU[string, item](partyCacheSize),
		sales:    newLRU[string, uint64](lotCacheSize),
		hops:     newLRU[string, uint64](hopCacheSize),
		outputs:  newLRU[string, seqList](lotCacheSize),
		subjects: newLRU[string, seqList](subjectCacheSize),
		ref:      refCache{set: bundled},
	}
}

// Ref locates a ledger entry.
type Ref struct {
	Seq uint64 `json:"seq"`
	// Digest is the envelope's digest (hex): the identity attestations
	// name a hop by.
	Digest string `json:"digest"`
	// EntryHash is the RFC 6962 leaf hash of the record (hex), as in the
	// entry's receipt and inclusion proofs.
	EntryHash  string `json:"entry_hash"`
	ReceivedAt string `json:"received_at"`
}

// Hop roles in a lot's provenance.
const (
	RoleFinal    = "final"    // the sale that output the lot
	RoleDelivery = "delivery" // a service on the lot after that sale
	RoleUpstream = "upstream" // a sale whose output the chain consumed
)

// Hop is one hop of a lot's provenance.
type Hop struct {
	ID    string `json:"id"`
	Role  string `json:"role"`
	Entry Ref    `json:"entry"`
	// Inputs resolves each input lot of the record to the hop that output
	// it, in the record's order.
	Inputs []Source `json:"inputs"`
	// Record is the hop as its seller signed it.
	Record *schemas.HopRecorded `json:"record"`
}

// Source is where an input lot came from.
type Source struct {
	Lot string `json:"lot"`
	// Hop and Seq name the sale that output the lot; both are absent when
	// the lot is not on the ledger.
	Hop     string  `json:"hop,omitempty"`
	Seq     *uint64 `json:"seq,omitempty"`
	Problem string  `json:"problem,omitempty"`
}

// Attestation is an attestation about one of the provenance's hops.
type Attestation struct {
	Hop   string `json:"hop"`
	Entry Ref    `json:"entry"`
	// Role is the attester's registered role ("" if it is not registered).
	Role   string                       `json:"role"`
	Record *schemas.AttestationRecorded `json:"record"`
}

// Party is a party named by the provenance: a seller, a buyer or an
// attester.
type Party struct {
	ID string `json:"id"`
	// Registered is false for the end consumer (schemas.EndConsumer) and
	// for any id the ledger holds no registration of.
	Registered bool                     `json:"registered"`
	Entry      *Ref                     `json:"entry,omitempty"`
	Record     *schemas.PartyRegistered `json:"record,omitempty"`
}

// Provenance is a lot's upstream DAG as the ledger records it.
type Provenance struct {
	Lot string `json:"lot"`
	// LogSize is the ledger position it was read at: entries 0..LogSize-1.
	LogSize  uint64 `json:"log_size"`
	Final    string `json:"final"`
	Delivery string `json:"delivery,omitempty"`
	// Hops are the final sale, the delivery and every upstream hop, in
	// ledger order.
	Hops []Hop `json:"hops"`
	// Attestations are every attestation whose subject is one of Hops, in
	// ledger order.
	Attestations []Attestation `json:"attestations"`
	// Parties are the sellers, buyers and attesters, by id.
	Parties []Party `json:"parties"`
	// Notes say what was found but left out, or could not be followed.
	Notes []string `json:"notes,omitempty"`
}

// Lot returns the provenance of a lot: the sale that output it, every hop
// upstream of it, its delivery if any, the attestations about them and the
// parties involved. ErrNotFound if no sale output the lot.
func (r *Reader) Lot(ctx context.Context, lot string) (*Provenance, error) {
	v := r.view(ctx)
	g, err := v.lotDAG(lot)
	if err != nil {
		return nil, err
	}
	return g.provenance(lot, v.size), nil
}

func (g *dag) provenance(lot string, size uint64) *Provenance {
	p := &Provenance{
		Lot: lot, LogSize: size, Final: g.final.hop.ID,
		Hops: []Hop{}, Attestations: []Attestation{}, Parties: []Party{},
		Notes: g.notes,
	}
	if g.delivery != nil {
		p.Delivery = g.delivery.hop.ID
	}
	for _, n := range g.nodes {
		role := RoleUpstream
		switch n {
		case g.final:
			role = RoleFinal
		case g.delivery:
			role = RoleDelivery
		}
		p.Hops = append(p.Hops, Hop{ID: n.hop.ID, Role: role, Entry: n.ref, Inputs: n.sources, Record: n.hop})
	}
	for _, a := range g.atts {
		role := ""
		if pt := g.parties[a.att.Attester]; pt.reg != nil {
			role = pt.reg.Role
		}
		p.Attestations = append(p.Attestations, Attestation{Hop: a.att.Subject.Hop, Entry: a.ref, Role: role, Record: a.att})
	}
	ids := make([]string, 0, len(g.parties))
	for id := range g.parties {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		pt := g.parties[id]
		out := Party{ID: id, Registered: pt.reg != nil, Record: pt.reg}
		if pt.reg != nil {
			ref := pt.ref
			out.Entry = &ref
		}
		p.Parties = append(p.Parties, out)
	}
	return p
}

func notFound(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotFound, fmt.Sprintf(format, args...))
}
