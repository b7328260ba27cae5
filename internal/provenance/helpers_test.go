package provenance_test

import (
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/internal/provenance"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/score"
	"github.com/tally-ledger/tally/verifier"
)

// stmt is a statement appended to the test ledger, as the test knows it
// without reading the ledger back.
type stmt struct {
	env    schemas.Envelope
	ev     schemas.Event
	seq    uint64
	leaf   string // hex
	digest string // hex
}

// book is a ledger on disk with the statements appended to it.
type book struct {
	l     *ledger.Log
	stmts []stmt
}

// receivedAt is the received_at of every test entry.
var receivedAt = time.Date(2024, time.January, 15, 9, 0, 0, 0, time.UTC)

func openBook(t testing.TB) *book {
	t.Helper()
	l, err := ledger.Open(t.TempDir(), ledger.Options{Origin: "tally.test/provenance", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &book{l: l}
}

// demoBook is a ledger holding the demo chain.
func demoBook(t testing.TB) *book {
	t.Helper()
	b := openBook(t)
	envs, err := demo.Envelopes()
	if err != nil {
		t.Fatal(err)
	}
	b.add(t, envs...)
	return b
}

// add appends envelopes in one batch, indexed as the ingest path indexes
// them (verifier.EnvelopeIndex).
func (b *book) add(t testing.TB, envs ...schemas.Envelope) []stmt {
	t.Helper()
	entries := make([]ledger.Entry, len(envs))
	for i := range envs {
		env := envs[i]
		d, err := env.Digest()
		if err != nil {
			t.Fatal(err)
		}
		canon, err := env.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		ix, err := verifier.EnvelopeIndex(&env)
		if err != nil {
			t.Fatal(err)
		}
		entries[i] = ledger.Entry{Digest: d, ReceivedAt: receivedAt, Envelope: canon, Index: ix}
	}
	out, _, err := b.l.Append(t.Context(), entries)
	if err != nil {
		t.Fatal(err)
	}
	added := make([]stmt, len(envs))
	for i, a := range out {
		if a.Duplicate {
			t.Fatalf("envelope %d is already on the ledger", i)
		}
		ev, problems := schemas.DecodeEvent(&envs[i])
		if len(problems) > 0 {
			t.Fatalf("envelope %d: %v", i, problems)
		}
		added[i] = stmt{env: envs[i], ev: ev, seq: a.Seq, leaf: hex.EncodeToString(a.Leaf[:]), digest: hex.EncodeToString(entries[i].Digest[:])}
	}
	b.stmts = append(b.stmts, added...)
	return added
}

func bundled(t testing.TB) *reference.Set {
	t.Helper()
	s, err := reference.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (b *book) reader(t testing.TB) *provenance.Reader {
	return provenance.New(b.l, bundled(t))
}

func (b *book) hops() []stmt {
	var out []stmt
	for _, s := range b.stmts {
		if _, ok := s.ev.(*schemas.HopRecorded); ok {
			out = append(out, s)
		}
	}
	return out
}

func (b *book) hop(t testing.TB, id string) stmt {
	t.Helper()
	for _, s := range b.hops() {
		if s.ev.(*schemas.HopRecorded).ID == id {
			return s
		}
	}
	t.Fatalf("no hop %q in the test ledger", id)
	return stmt{}
}

// deliveryOf is the service hop on a lot in the statements.
func (b *book) deliveryOf(t testing.TB, lot string) string {
	t.Helper()
	for _, s := range b.hops() {
		if h := s.ev.(*schemas.HopRecorded); h.HopKind == schemas.HopService && h.Output.Lot == lot {
			return h.ID
		}
	}
	t.Fatalf("no service on lot %q", lot)
	return ""
}

// wantRegions are the reference regions the demo's ISO 3166-2 codes are
// expected to match: the published names of the regions they lie in
// (wages.csv), or, where no figure names the region, the code itself.
var wantRegions = map[string]string{
	"CD-LU":  "Kolwezi (Lualaba), DR Congo",
	"GB-BST": "United Kingdom outside London",
}

// chainOf builds the method's input from the statements directly, as the
// test reads them: every hop (score.Compute keeps those the final hop
// reaches), with each input linked to the sale that output its lot.
// regions overrides wantRegions per code.
func (b *book) chainOf(t testing.TB, final, delivery string, regions map[string]string) score.Chain {
	t.Helper()
	region := func(code string) string {
		if r, ok := regions[code]; ok {
			return r
		}
		if r, ok := wantRegions[code]; ok {
			return r
		}
		return code
	}
	parties := map[string]*schemas.PartyRegistered{}
	producer := map[string]string{}
	for _, s := range b.stmts {
		switch e := s.ev.(type) {
		case *schemas.PartyRegistered:
			parties[e.ID] = e
		case *schemas.HopRecorded:
			if e.HopKind == schemas.HopSale {
				producer[e.Output.Lot] = e.ID
			}
		}
	}
	party := func(id string) score.Party {
		p := score.Party{ID: id}
		if r, ok := parties[id]; ok {
			p.Country, p.Region, p.OrgForm = r.Country, region(r.Region), score.OrgForm(r.OrgForm)
		}
		return p
	}
	ch := score.Chain{Hops: map[string]score.Hop{}, Final: final, Delivery: delivery}
	for _, s := range b.stmts {
		switch e := s.ev.(type) {
		case *schemas.HopRecorded:
			at, err := e.OccurredAt.Time()
			if err != nil {
				t.Fatal(err)
			}
			h := score.Hop{
				ID: e.ID, Entry: score.EntryRef{Seq: s.seq, Hash: s.leaf},
				Seller: party(e.Seller), Buyer: party(e.Buyer), Kind: score.HopKind(e.HopKind),
				OutputLot: e.Output.Lot, OutputQty: mustDec(t, e.Output.Quantity.Amount), Unit: e.Output.Quantity.Unit,
				Price:      score.Money{Amount: mustDec(t, e.Price.Amount), Currency: e.Price.Currency},
				OccurredAt: at, Location: e.Location.Country, OffLedgerCosts: []score.Money{},
			}
			for _, in := range e.Inputs {
				h.Inputs = append(h.Inputs, score.Input{Lot: in.Lot, Qty: mustDec(t, in.Quantity.Amount), Unit: in.Quantity.Unit, FromHop: producer[in.Lot]})
			}
			for _, c := range e.Costs {
				h.OffLedgerCosts = append(h.OffLedgerCosts, score.Money{Amount: mustDec(t, c.Amount.Amount), Currency: c.Amount.Currency})
			}
			for _, l := range e.Labour {
				pay := func(d schemas.Decimal) score.Money {
					return score.Money{Amount: mustDec(t, d), Currency: l.Pay.Currency}
				}
				h.Labour = append(h.Labour, score.Category{Name: l.Category, Workers: l.Workers, Hours: mustDec(t, l.Hours),
					Basic: pay(l.Pay.Basic), Bonus: pay(l.Pay.Bonus), InKind: pay(l.Pay.InKind), SelfEmployed: l.SelfEmployed})
			}
			ch.Hops[e.ID] = h
		case *schemas.AttestationRecorded:
			a := score.Attestation{Entry: score.EntryRef{Seq: s.seq, Hash: s.leaf}, Kind: score.AttestationKind(e.Claim),
				Attester: party(e.Attester), Subject: e.Subject.Hop}
			if r, ok := parties[e.Attester]; ok {
				a.Role = score.Role(r.Role)
			}
			for _, sc := range e.Scope {
				if sc == "price" || sc == "costs" || sc == "labour" {
					a.Scope = append(a.Scope, score.FigureGroup(sc))
				}
			}
			if f := e.Figures; f != nil {
				a.Dispute = &score.Dispute{}
				for _, l := range f.Labour {
					c := score.Category{Name: l.Category}
					if l.Hours != "" {
						c.Hours = mustDec(t, l.Hours)
					}
					if l.Pay != nil {
						t.Fatalf("the test's chain builder does not read disputed pay")
					}
					a.Dispute.Labour = append(a.Dispute.Labour, c)
				}
				if f.Price != nil {
					m := score.Money{Amount: mustDec(t, f.Price.Amount), Currency: f.Price.Currency}
					a.Dispute.Price = &m
				}
			}
			ch.Attestations = append(ch.Attestations, a)
		}
	}
	return ch
}

func mustDec(t testing.TB, d schemas.Decimal) decimal.Decimal {
	t.Helper()
	v, err := d.Value()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sameJSON fails the test if a and b do not encode to the same JSON.
func sameJSON(t testing.TB, what string, want, got any) {
	t.Helper()
	w, err := json.MarshalIndent(want, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	g, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(w), string(g)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", what, diff)
	}
}

// sign signs a statement with a demo party's key.
func sign(t testing.TB, signer string, ev schemas.Event) schemas.Envelope {
	t.Helper()
	if ps := schemas.Validate(ev); len(ps) > 0 {
		t.Fatalf("%s: %v", ev.Kind(), ps)
	}
	env, err := schemas.Sign(ev.Kind(), ev, demo.Key(signer))
	if err != nil {
		t.Fatal(err)
	}
	return env
}
