package verifier

// overlay is a staged set of changes on top of a MemState: what a batch's
// admitted entries would do to the state. Admission reads through it, so a
// later entry of a batch sees the earlier ones; it is applied to the base
// (commitTo) only once the ledger has durably appended those entries, and
// dropped otherwise, so the state never runs ahead of the log.
//
// Changed objects are copied into the overlay whole (copy on write); the
// base is never touched until commitTo.
type overlay struct {
	base        *MemState
	size        uint64
	parties     map[string]Party
	keys        map[string]Key
	hops        map[string]Hop
	lots        map[string]Lot
	authorities int // added by the overlay
}

var _ State = (*overlay)(nil)

func newOverlay(base *MemState) *overlay {
	return &overlay{
		base:    base,
		size:    base.Size(),
		parties: map[string]Party{},
		keys:    map[string]Key{},
		hops:    map[string]Hop{},
		lots:    map[string]Lot{},
	}
}

func (o *overlay) Size() uint64 { return o.size }

func (o *overlay) Party(id string) (Party, bool) {
	if p, ok := o.parties[id]; ok {
		return p, true
	}
	return o.base.Party(id)
}

func (o *overlay) Key(id string) (Key, bool) {
	if k, ok := o.keys[id]; ok {
		return k, true
	}
	return o.base.Key(id)
}

func (o *overlay) Hop(id string) (Hop, bool) {
	if h, ok := o.hops[id]; ok {
		return h, true
	}
	return o.base.Hop(id)
}

func (o *overlay) Lot(id string) (Lot, bool) {
	if l, ok := o.lots[id]; ok {
		return l, true
	}
	return o.base.Lot(id)
}

func (o *overlay) Authorities() int { return o.base.Authorities() + o.authorities }

func (o *overlay) putParty(p Party) { o.parties[p.ID] = p }
func (o *overlay) putKey(k Key)     { o.keys[k.ID] = k }
func (o *overlay) putHop(h Hop)     { o.hops[h.ID] = h }
func (o *overlay) putLot(l Lot)     { o.lots[l.ID] = l }
func (o *overlay) addAuthority()    { o.authorities++ }
func (o *overlay) advance()         { o.size++ }

// commitTo applies the overlay to its base. The overlay must have been
// built on the base as it still is (nothing committed in between).
func (o *overlay) commitTo(s *MemState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, p := range o.parties {
		s.parties[id] = &p
	}
	for id, k := range o.keys {
		s.keys[id] = &k
	}
	for id, h := range o.hops {
		s.hops[id] = &h
	}
	for id, l := range o.lots {
		s.lots[id] = &l
	}
	s.authorities += o.authorities
	s.size = o.size
}
