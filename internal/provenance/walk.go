package provenance

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// serviceDelivery is the service a last-mile delivery records.
const serviceDelivery = "delivery"

// indexPage is how many sequence numbers one index read returns: the
// entries of a lot or a party are read a page at a time, so a lot consumed
// by many hops costs time, never memory.
const indexPage = 64

// view reads the ledger at one position: records below size.
type view struct {
	r    *Reader
	ctx  context.Context
	size uint64
	// producers memoizes input lookups: lot → the sale found, for the
	// bound it was looked up before.
	producers map[producerKey]*node
	// nodes are the hops read so far, by sequence number.
	nodes map[uint64]*node
}

type producerKey struct {
	lot    string
	before uint64
}

func (r *Reader) view(ctx context.Context) *view {
	return &view{r: r, ctx: ctx, size: r.l.Head().Size, producers: map[producerKey]*node{}, nodes: map[uint64]*node{}}
}

// item is one entry read from the log.
type item struct {
	ref Ref
	ev  schemas.Event // nil when the entry holds no well-formed statement
}

// read reads and decodes entry seq. An entry that is not a statement of
// the vocabulary (a `tally bench` filler, say) reads with a nil event.
func (v *view) read(seq uint64) (item, error) {
	if err := v.ctx.Err(); err != nil {
		return item{}, err
	}
	if it, ok := v.r.entries.get(seq); ok {
		return it, nil
	}
	b, err := v.r.l.RecordBytes(seq)
	if err != nil {
		return item{}, err
	}
	rec, err := ledger.DecodeRecord(b)
	if err != nil || rec.Seq != seq {
		return item{}, fmt.Errorf("%w: entry %d: %v", ErrCorrupt, seq, err)
	}
	var env schemas.Envelope
	if err := json.Unmarshal(rec.Envelope, &env); err != nil {
		return item{}, fmt.Errorf("%w: entry %d: envelope: %v", ErrCorrupt, seq, err)
	}
	leaf := tlog.RecordHash(b)
	it := item{ref: Ref{Seq: seq, EntryHash: hex.EncodeToString(leaf[:]), ReceivedAt: rec.ReceivedAt.UTC().Format(time.RFC3339Nano)}}
	if d, err := env.Digest(); err == nil {
		it.ref.Digest = hex.EncodeToString(d[:])
	}
	if ev, problems := schemas.DecodeEvent(&env); len(problems) == 0 {
		it.ev = ev
	}
	v.r.entries.put(seq, it, nil)
	return it, nil
}

// each calls fn for the sequence numbers below the view's size indexed
// under (name, key), from from on, in order, until fn says stop. It reads
// the index page sequence numbers at a time.
func (v *view) each(name, key string, from uint64, page int, fn func(seq uint64) (stop bool, err error)) error {
	for from < v.size {
		seqs, err := v.r.l.ByIndex(name, []byte(key), from, page)
		if err != nil {
			return err
		}
		for _, seq := range seqs {
			if seq >= v.size {
				return nil
			}
			stop, err := fn(seq)
			if stop || err != nil {
				return err
			}
		}
		if len(seqs) < page {
			return nil
		}
		from = seqs[len(seqs)-1] + 1
	}
	return nil
}

// list returns the sequence numbers below the view's size indexed under
// (name, key) that match, in order, through cache: a list cached at a
// position at or past the view's is cut to the view's size; one cached at
// an earlier position is read on from there, and the longer list cached.
// A list longer than maxCachedSeqs is not cached.
func (v *view) list(cache *lru[string, seqList], ck, name, key string, match func(seq uint64) (bool, error)) ([]uint64, error) {
	got, ok := cache.get(ck)
	if seqs, ok := got.below(v.size); ok {
		return seqs, nil
	}
	if !ok {
		got = seqList{}
	}
	seqs := slices.Clip(got.seqs)
	err := v.each(name, key, got.next, indexPage, func(seq uint64) (bool, error) {
		ok, err := match(seq)
		if ok {
			seqs = append(seqs, seq)
		}
		return false, err
	})
	if err != nil {
		return nil, err
	}
	if len(seqs) <= maxCachedSeqs {
		cache.put(ck, seqList{next: v.size, seqs: seqs}, later)
	}
	return seqs, nil
}

// node is a hop read from the log.
type node struct {
	ref     Ref
	hop     *schemas.HopRecorded
	sources []Source
}

// hopAt reads the hop recorded at seq, or nil if the entry is no hop.
func (v *view) hopAt(seq uint64) (*node, error) {
	if n, ok := v.nodes[seq]; ok {
		return n, nil
	}
	it, err := v.read(seq)
	if err != nil {
		return nil, err
	}
	h, ok := it.ev.(*schemas.HopRecorded)
	if !ok {
		return nil, nil
	}
	n := &node{ref: it.ref, hop: h}
	v.nodes[seq] = n
	return n, nil
}

// hopByID finds the hop recorded with an id (hop ids are unique on an
// admitted ledger: the first one recorded). The entry found is cached: it
// stays the first one whatever is appended.
func (v *view) hopByID(id string) (*node, error) {
	if seq, ok := v.r.hops.get(id); ok {
		if seq >= v.size {
			return nil, notFound("no hop %q on the ledger", id)
		}
		return v.hopAt(seq)
	}
	var found *node
	err := v.each(schemas.TermHop, id, 0, indexPage, func(seq uint64) (bool, error) {
		n, err := v.hopAt(seq)
		if err != nil || n == nil || n.hop.ID != id {
			return false, err
		}
		found = n
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, notFound("no hop %q on the ledger", id)
	}
	v.r.hops.put(id, found.ref.Seq, nil)
	return found, nil
}

// lotEnds finds the final sale of a lot (the latest sale that output it)
// and its delivery: the latest service on the lot recorded after that sale,
// a delivery service preferred to any other. Other services are returned
// too, so that they can be noted.
//
// The hops that output the lot are cached with the position they were
// read to (a service may be recorded later); the first sale among them is
// the lot's producer (see producer).
func (v *view) lotEnds(lot string) (final, delivery *node, others []*node, err error) {
	outputs, err := v.list(v.r.outputs, lot, schemas.TermLot, lot, func(seq uint64) (bool, error) {
		n, err := v.hopAt(seq)
		if err != nil || n == nil || n.hop.Output.Lot != lot {
			// Not a hop, or a hop that consumed the lot: let go of it.
			delete(v.nodes, seq)
			return false, err
		}
		return true, nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	var services []*node
	for _, seq := range outputs {
		n, err := v.hopAt(seq)
		if err != nil {
			return nil, nil, nil, err
		}
		if n == nil {
			return nil, nil, nil, fmt.Errorf("%w: entry %d: the lot index of %q names it, and it is no hop", ErrCorrupt, seq, lot)
		}
		if n.hop.HopKind == schemas.HopSale {
			if final == nil {
				v.r.sales.put(lot, seq, nil)
			}
			final, services = n, nil
		} else {
			services = append(services, n)
		}
	}
	if final == nil {
		return nil, nil, nil, nil
	}
	for _, s := range services {
		if delivery == nil || s.hop.Service == serviceDelivery || delivery.hop.Service != serviceDelivery {
			if delivery != nil {
				others = append(others, delivery)
			}
			delivery = s
		} else {
			others = append(others, s)
		}
	}
	return final, delivery, others, nil
}

// producer finds the sale that output lot before entry before: the first
// one, as admission lets one sale only output a lot, and only before the
// lot is consumed. Reading stops there, so the hops that consumed the lot
// later cost nothing. The first sale of a lot, once found, is cached: it
// stays the first whatever is appended.
func (v *view) producer(lot string, before uint64) (*node, error) {
	k := producerKey{lot, before}
	if n, ok := v.producers[k]; ok {
		return n, nil
	}
	if seq, ok := v.r.sales.get(lot); ok {
		var n *node
		if seq < before {
			var err error
			if n, err = v.hopAt(seq); err != nil {
				return nil, err
			}
		}
		v.producers[k] = n
		return n, nil
	}
	var found *node
	err := v.each(schemas.TermLot, lot, 0, indexPage, func(seq uint64) (bool, error) {
		if seq >= before {
			return true, nil
		}
		n, err := v.hopAt(seq)
		if err != nil || n == nil {
			return err != nil, err
		}
		if n.hop.HopKind == schemas.HopSale && n.hop.Output.Lot == lot {
			found = n
			return true, nil
		}
		delete(v.nodes, seq) // a hop that consumed the lot, or served it
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if found != nil {
		v.r.sales.put(lot, found.ref.Seq, nil)
	}
	v.producers[k] = found
	return found, nil
}

// dag is a chain read from the log.
type dag struct {
	final, delivery *node
	nodes           []*node // every hop of the chain, in ledger order
	byID            map[string]*node
	atts            []attestation // in ledger order
	parties         map[string]party
	notes           []string
}

type attestation struct {
	ref Ref
	att *schemas.AttestationRecorded
}

type party struct {
	ref Ref
	reg *schemas.PartyRegistered // nil: not registered
}

// lotDAG reads the chain that ends at a lot.
func (v *view) lotDAG(lot string) (*dag, error) {
	final, delivery, others, err := v.lotEnds(lot)
	if err != nil {
		return nil, err
	}
	if final == nil {
		return nil, notFound("no sale on the ledger output lot %q", lot)
	}
	g, err := v.walk(final, delivery)
	if err != nil {
		return nil, err
	}
	for _, o := range others {
		g.notes = append(g.notes, fmt.Sprintf("service hop %q (entry %d) on lot %q is not part of the chain: only one service, the delivery %q, is scored with the final sale",
			o.hop.ID, o.ref.Seq, lot, g.delivery.hop.ID))
	}
	return g, nil
}

// walk reads the DAG upstream of final (and delivery): every hop reachable
// through input lots, the attestations about them and the parties they
// name.
func (v *view) walk(final, delivery *node) (*dag, error) {
	g := &dag{final: final, delivery: delivery, byID: map[string]*node{}, parties: map[string]party{}}
	queue := []*node{final}
	if delivery != nil {
		queue = append(queue, delivery)
	}
	for _, n := range queue {
		g.byID[n.hop.ID] = n
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		g.nodes = append(g.nodes, n)
		n.sources = make([]Source, 0, len(n.hop.Inputs))
		for _, in := range n.hop.Inputs {
			src, next, err := v.source(g, n, in.Lot)
			if err != nil {
				return nil, err
			}
			if next != nil {
				queue = append(queue, next)
			}
			if src.Problem != "" {
				g.notes = append(g.notes, src.Problem)
			}
			n.sources = append(n.sources, src)
		}
	}
	slices.SortFunc(g.nodes, func(a, b *node) int { return cmpSeq(a.ref.Seq, b.ref.Seq) })

	for _, n := range g.nodes {
		if err := v.attestations(g, n); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(g.atts, func(a, b attestation) int { return cmpSeq(a.ref.Seq, b.ref.Seq) })

	for _, n := range g.nodes {
		if err := v.party(g, n.hop.Seller); err != nil {
			return nil, err
		}
		if err := v.party(g, n.hop.Buyer); err != nil {
			return nil, err
		}
	}
	for _, a := range g.atts {
		if err := v.party(g, a.att.Attester); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// source resolves an input lot of n to the sale that output it. A sale
// not yet in the chain is added to it and returned, to be walked.
func (v *view) source(g *dag, n *node, lot string) (Source, *node, error) {
	src := Source{Lot: lot}
	p, err := v.producer(lot, n.ref.Seq)
	if err != nil {
		return src, nil, err
	}
	if p == nil {
		src.Problem = fmt.Sprintf("no sale recorded before hop %q output lot %q: the input is not on the ledger", n.hop.ID, lot)
		return src, nil, nil
	}
	prev, seen := g.byID[p.hop.ID]
	if seen && prev.ref.Seq != p.ref.Seq {
		src.Problem = fmt.Sprintf("lot %q was output by hop %q (entry %d), an id entry %d records too: the link cannot be followed", lot, p.hop.ID, p.ref.Seq, prev.ref.Seq)
		return src, nil, nil
	}
	src.Hop = p.hop.ID
	seq := p.ref.Seq
	src.Seq = &seq
	if seen {
		return src, nil, nil
	}
	g.byID[p.hop.ID] = p
	return src, p, nil
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// attestations reads the attestations whose subject is n's envelope. The
// list is cached with the position it was read to, and read on from there.
func (v *view) attestations(g *dag, n *node) error {
	seqs, err := v.list(v.r.subjects, n.ref.Digest+"\x00"+n.hop.ID, schemas.TermSubject, n.ref.Digest, func(seq uint64) (bool, error) {
		it, err := v.read(seq)
		if err != nil {
			return false, err
		}
		a, ok := it.ev.(*schemas.AttestationRecorded)
		return ok && a.Subject.Digest == n.ref.Digest && a.Subject.Hop == n.hop.ID, nil
	})
	if err != nil {
		return err
	}
	for _, seq := range seqs {
		it, err := v.read(seq)
		if err != nil {
			return err
		}
		a, ok := it.ev.(*schemas.AttestationRecorded)
		if !ok {
			return fmt.Errorf("%w: entry %d: the subject index of hop %q names it, and it is no attestation", ErrCorrupt, seq, n.hop.ID)
		}
		g.atts = append(g.atts, attestation{ref: it.ref, att: a})
	}
	return nil
}

// party reads a party's registration: the first entry that names it
// (admission admits nothing that names a party before it registers). That
// entry, once found, is cached: it stays the first whatever is appended.
// A party no entry names yet is read again each time.
func (v *view) party(g *dag, id string) error {
	if _, done := g.parties[id]; done {
		return nil
	}
	if id == schemas.EndConsumer {
		g.parties[id] = party{}
		return nil
	}
	first, ok := v.r.parties.get(id)
	if !ok {
		err := v.each(schemas.TermParty, id, 0, 1, func(seq uint64) (bool, error) {
			it, err := v.read(seq)
			if err != nil {
				return true, err
			}
			first, ok = it, true
			v.r.parties.put(id, it, nil)
			return true, nil
		})
		if err != nil {
			return err
		}
	}
	var p party
	if ok && first.ref.Seq < v.size {
		if reg, isReg := first.ev.(*schemas.PartyRegistered); isReg && reg.ID == id {
			p = party{ref: first.ref, reg: reg}
		}
	}
	if p.reg == nil {
		g.notes = append(g.notes, fmt.Sprintf("party %q is not registered on the ledger: its country, region and organisation form are unknown", id))
	}
	g.parties[id] = p
	return nil
}
