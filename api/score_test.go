package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/tally-ledger/tally/api"
	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/internal/provenance"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/score"
	"github.com/tally-ledger/tally/score/scoretest"
)

// admittedStack is the write and read path of tally serve in one process:
// embedded NATS, a ledger on disk, the ingest loop with the admission
// rules (events.NewAdmissionProcessor), and the API with the provenance
// reader.
func admittedStack(t *testing.T) (*stack, *provenance.Reader) {
	t.Helper()
	return startStack(t, stackOptions{onDisk: true, provenance: true, processor: func(l *ledger.Log) (events.Processor, error) {
		return events.NewAdmissionProcessor(t.Context(), l)
	}})
}

// submit posts every envelope in turn through POST /v1/submissions, as a
// producer's client does, and fails the test on any that is not admitted.
func (s *stack) submit(t *testing.T, envs ...schemas.Envelope) {
	t.Helper()
	for i, env := range envs {
		if _, err := client.SubmitHTTP(t.Context(), s.ts.URL, env); err != nil {
			t.Fatalf("submission %d (%s): %v", i, env.PayloadType, err)
		}
	}
}

func problemOf(t *testing.T, a answer, status int) api.Problem {
	t.Helper()
	if a.status != status || a.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("answer %d %s %s, want a %d problem document", a.status, a.header.Get("Content-Type"), a.body, status)
	}
	return decode[api.Problem](t, a)
}

// TestDemoScoreRoutes loads the demo chain through the submission path and
// reads it back through every score route.
func TestDemoScoreRoutes(t *testing.T) {
	s, r := admittedStack(t)
	sum, err := demo.Load(t.Context(), func(ctx context.Context, env schemas.Envelope) (bool, string, error) {
		rcpt, err := client.SubmitHTTP(ctx, s.ts.URL, env)
		var rej *client.RejectedError
		switch {
		case errors.As(err, &rej):
			return false, rej.Error(), nil
		case err != nil:
			return false, "", err
		case rcpt.Duplicate:
			return true, demo.Duplicate, nil
		}
		return true, "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	final := "/v1/lots/" + url.PathEscape(demo.FinalLot())

	t.Run("lot score", func(t *testing.T) {
		a := s.do(t, http.MethodGet, final+"/score", nil)
		if a.status != http.StatusOK {
			t.Fatalf("%d %s", a.status, a.body)
		}
		got := decode[score.ChainScore](t, a)
		want, err := r.LotScore(t.Context(), demo.FinalLot())
		if err != nil {
			t.Fatal(err)
		}
		wantJSON, _ := json.Marshal(want)
		if diff := cmp.Diff(string(wantJSON), strings.TrimSpace(string(a.body))); diff != "" {
			t.Errorf("the answer is not the reader's score:\n%s", diff)
		}
		if got.Method != "fex-1" || got.Final != demo.FinalHop() || got.Delivery == "" || len(got.Hops) != 8 {
			t.Errorf("method %q final %q delivery %q, %d hops; want fex-1, the demo's final sale and delivery, 8 hops", got.Method, got.Final, got.Delivery, len(got.Hops))
		}
		// Every input of the demo is on the ledger: the share table
		// accounts for the whole final price.
		sum := 0.0
		for _, row := range got.Shares {
			sum += row.TotalShare
			if row.Remainder && math.Abs(row.TotalShare) > 1e-9 {
				t.Errorf("remainder %v", row.TotalShare)
			}
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("shares sum to %v", sum)
		}
		for _, h := range got.Hops {
			if h.Method != "fex-1" {
				t.Errorf("hop %s: method %q", h.Hop, h.Method)
			}
		}
	})

	t.Run("provenance", func(t *testing.T) {
		p := decode[provenance.Provenance](t, s.do(t, http.MethodGet, final+"/provenance", nil))
		if p.Final != demo.FinalHop() || len(p.Hops) != 8 || len(p.Parties) == 0 || len(p.Attestations) == 0 || p.LogSize != uint64(sum.New) {
			t.Fatalf("provenance: final %q, %d hops, %d parties, %d attestations, log size %d", p.Final, len(p.Hops), len(p.Parties), len(p.Attestations), p.LogSize)
		}
		// Every hop scores on its own, with the method's version.
		for _, h := range p.Hops {
			a := s.do(t, http.MethodGet, "/v1/hops/"+h.ID+"/score", nil)
			if a.status != http.StatusOK {
				t.Fatalf("hop %s: %d %s", h.ID, a.status, a.body)
			}
			hs := decode[score.HopScore](t, a)
			if hs.Hop != h.ID || hs.Method != "fex-1" || hs.Entry.Seq != h.Entry.Seq || hs.Entry.Hash != h.Entry.EntryHash {
				t.Errorf("hop %s: score of %s (entry %+v), method %q", h.ID, hs.Hop, hs.Entry, hs.Method)
			}
		}
	})

	t.Run("not found", func(t *testing.T) {
		for _, path := range []string{"/v1/lots/no-such-lot/score", "/v1/lots/no-such-lot/provenance", "/v1/hops/no-such-hop/score"} {
			p := problemOf(t, s.do(t, http.MethodGet, path, nil), http.StatusNotFound)
			if p.Type != api.TypeNotFound || p.Instance != path || len(p.Errors) != 1 || p.Errors[0].In != "path" || p.Errors[0].Path != "id" {
				t.Errorf("%s: %+v", path, p)
			}
		}
	})

	t.Run("lots", func(t *testing.T) {
		var sales []string
		for _, h := range decode[provenance.Provenance](t, s.do(t, http.MethodGet, final+"/provenance", nil)).Hops {
			if h.Record.HopKind == schemas.HopSale {
				sales = append(sales, h.Record.Output.Lot)
			}
		}
		var got []string
		next := "/v1/lots?limit=3"
		for pages := 0; next != ""; pages++ {
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			page := decode[api.LotPage](t, s.do(t, http.MethodGet, next, nil))
			if len(page.Lots) > 3 {
				t.Fatalf("page of %d lots, limit 3", len(page.Lots))
			}
			for _, l := range page.Lots {
				got = append(got, l.Lot)
			}
			next = page.Next
		}
		if diff := cmp.Diff(sales, got); diff != "" {
			t.Errorf("lots differ from the chain's sales:\n%s", diff)
		}
		page := decode[api.LotPage](t, s.do(t, http.MethodGet, "/v1/lots?party=harbourside-electronics&country=GB&commodity=Smartphone", nil))
		if len(page.Lots) != 1 || page.Lots[0].Lot != demo.FinalLot() || page.Next != "" {
			t.Errorf("the retailer's British smartphone sales: %+v", page)
		}
		for _, q := range []string{"country=GBR", "limit=0", "from=x", "party=a&party=b"} {
			problemOf(t, s.do(t, http.MethodGet, "/v1/lots?"+q, nil), http.StatusBadRequest)
		}
	})

	t.Run("method", func(t *testing.T) {
		m := decode[api.MethodInfo](t, s.do(t, http.MethodGet, "/v1/method", nil))
		want := api.MethodInfo{Method: "fex-1", Params: score.FEX1, ParamsFile: "score/params/fex-1.json", Versions: score.Methods(), Documentation: "docs/methodology.md"}
		if diff := cmp.Diff(want, m, cmp.Comparer(decimal.Decimal.Equal)); diff != "" {
			t.Errorf("method (-want +got):\n%s", diff)
		}
		problemOf(t, s.do(t, http.MethodGet, "/v1/method?version=fex-0", nil), http.StatusNotFound)
	})

	t.Run("reference", func(t *testing.T) {
		bundled, err := reference.Bundled()
		if err != nil {
			t.Fatal(err)
		}
		rf := decode[api.ReferenceFigures](t, s.do(t, http.MethodGet, "/v1/reference", nil))
		var ledgerFigs []api.ReferenceFigure
		for _, f := range rf.Figures {
			if f.Origin.IsLedger() {
				ledgerFigs = append(ledgerFigs, f)
			}
			if f.Source == "" || f.Method == "" {
				t.Errorf("figure %s without its source or method", f.Origin)
			}
		}
		// The demo publishes one benchmark, Kolwezi's 2024 living wage, a
		// year the bundle has no figure for.
		if len(ledgerFigs) != 1 || len(rf.Figures) != len(bundled.Figures())+1 || rf.LogSize != uint64(sum.New) {
			t.Fatalf("%d figures, %d from the ledger, at %d; want the %d bundled and the demo's benchmark", len(rf.Figures), len(ledgerFigs), rf.LogSize, len(bundled.Figures()))
		}
		if f := ledgerFigs[0]; f.Region != "Kolwezi (Lualaba), DR Congo" || f.Year != 2024 || !f.Amount.Equal(decimal.NewFromInt(501)) {
			t.Errorf("ledger figure %s", f.Figure)
		}
		cd := decode[api.ReferenceFigures](t, s.do(t, http.MethodGet, "/v1/reference?country=CD&kind=living_wage", nil))
		if len(cd.Figures) != 2 {
			t.Errorf("%d living wages for CD, want the bundled 2023 one and the ledger's 2024 one", len(cd.Figures))
		}
		problemOf(t, s.do(t, http.MethodGet, "/v1/reference?kind=rent", nil), http.StatusBadRequest)
	})
}

// TestScoreRoutesNeedAReader: without Deps.Provenance the routes are not
// served.
func TestScoreRoutesNeedAReader(t *testing.T) {
	l, err := ledger.Open(t.TempDir(), ledger.Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ts := httptest.NewServer(api.New(api.Deps{Log: l, Logger: testLogger(), Registry: prometheus.NewRegistry()}))
	t.Cleanup(ts.Close)
	s := &stack{ts: ts}
	for _, path := range []string{"/v1/method", "/v1/reference", "/v1/lots", "/v1/lots/x/score"} {
		problemOf(t, s.do(t, http.MethodGet, path, nil), http.StatusNotFound)
	}
}

// TestIPad2010ThroughSubmissions builds the published iPad 2010 value
// distribution (../shared/reference/ipad-2010.md, via scoretest.IPad2010)
// as signed statements, submits them through POST /v1/submissions and the
// admission rules, and checks that GET /v1/lots/{id}/score gives back every
// row of the table to within US$1.
func TestIPad2010ThroughSubmissions(t *testing.T) {
	ip, err := scoretest.IPad2010()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := admittedStack(t)
	envs := ipadStatements(t, ip.Chain)
	s.submit(t, envs...)

	final := ip.Chain.Hops[ip.Chain.Final]
	a := s.do(t, http.MethodGet, "/v1/lots/"+final.OutputLot+"/score", nil)
	if a.status != http.StatusOK {
		t.Fatalf("%d %s", a.status, a.body)
	}
	got := decode[score.ChainScore](t, a)
	if len(ip.Checks) != 13 {
		t.Fatalf("%d checks, want one per row of the table", len(ip.Checks))
	}
	one := decimal.NewFromInt(1)
	for _, c := range ip.Checks {
		t.Run(c.Row.Characteristic+"/"+c.Row.Activity+"/"+c.Row.Location, func(t *testing.T) {
			v, err := c.Got(got)
			if err != nil {
				t.Fatal(err)
			}
			if v.Sub(c.Row.USD).Abs().GreaterThan(one) {
				t.Errorf("%s of %q: US$%s, table US$%s", c.Measure, c.Hop, v, c.Row.USD)
			}
		})
	}
	// The ledger's chain gives the share table the method gives the
	// table's own chain, row for row.
	direct, err := score.Compute(ip.Chain, mustBundled(t), score.FEX1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(direct.Shares, got.Shares, cmp.Comparer(decimal.Decimal.Equal)); diff != "" {
		t.Errorf("share table through the ledger differs from the method's on the table's chain:\n%s", diff)
	}
}

func mustBundled(t *testing.T) *reference.Set {
	t.Helper()
	s, err := reference.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ipadStatements turns the iPad chain into signed statements in the order
// admission needs them: parties, then hops upstream first.
//
// Two things the table's chain says cannot be said in the vocabulary as
// it is, and are written as follows:
//
//   - A hop that declares no labour (score.Hop.NoLabour: the table books
//     all labour elsewhere). A hop without labour figures has missing
//     labour, which leaves its capture unknown; such hops record one job
//     category paid nothing for placeholder hours instead, which gives the
//     same labour income (none) and capture.
//   - A party without a country (the EU and unidentified suppliers,
//     distribution and retail). Every party names one; these name the
//     United States. Every amount is in US$ and 2010 precedes every
//     reference figure, so no figure of the share table depends on it (the
//     test checks the table against the method's on the table's chain).
func ipadStatements(t *testing.T, ch score.Chain) []schemas.Envelope {
	t.Helper()
	keys := map[string]*client.Key{}
	var parties, hops []schemas.Envelope
	register := func(p score.Party, role string) {
		if p.ID == "consumer" || keys[p.ID] != nil {
			return
		}
		k, err := client.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[p.ID] = k
		country := p.Country
		if country == "" {
			country = "US"
		}
		ev := &schemas.PartyRegistered{ID: p.ID, Name: "iPad 2010 table: " + p.ID, Role: role, Country: country,
			OrgForm: string(p.OrgForm), Keys: []string{k.PublicKeyString()}}
		parties = append(parties, signed(t, ev, k))
	}
	money := func(m score.Money) schemas.Money {
		return schemas.Money{Amount: schemas.Decimal(m.Amount.String()), Currency: m.Currency}
	}
	// Upstream first: a hop's inputs are output by hops listed before it.
	var order []string
	for len(order) < len(ch.Hops) {
		for _, id := range slices.Sorted(maps.Keys(ch.Hops)) {
			ready := !slices.Contains(order, id)
			for _, in := range ch.Hops[id].Inputs {
				ready = ready && slices.Contains(order, in.FromHop)
			}
			if ready {
				order = append(order, id)
			}
		}
	}
	roles := map[string]string{"asm-cn": "assembler", "apple": "brand", "retail": "retailer"} // the others supply components
	for _, id := range order {
		h := ch.Hops[id]
		register(h.Seller, orDefault(roles[h.Seller.ID], "manufacturer"))
		ev := &schemas.HopRecorded{
			ID: h.ID, Seller: h.Seller.ID, Buyer: h.Buyer.ID, HopKind: string(h.Kind),
			Output:     schemas.Output{Lot: h.OutputLot, Quantity: schemas.Quantity{Amount: schemas.Decimal(h.OutputQty.String()), Unit: h.Unit}},
			Price:      money(h.Price),
			OccurredAt: schemas.Timestamp(h.OccurredAt.Format(time.RFC3339)),
			Location:   schemas.Location{Country: orDefault(h.Seller.Country, "US")},
		}
		if h.Buyer.ID == "consumer" {
			ev.Buyer = schemas.EndConsumer
		}
		for _, in := range h.Inputs {
			ev.Inputs = append(ev.Inputs, schemas.Input{Lot: in.Lot, Quantity: schemas.Quantity{Amount: schemas.Decimal(in.Qty.String()), Unit: in.Unit}})
		}
		for _, c := range h.OffLedgerCosts {
			ev.Costs = append(ev.Costs, schemas.Cost{Category: "materials", Amount: money(c), Note: "non-labour inputs (the table's worldwide total)"})
		}
		for _, c := range h.Labour {
			ev.Labour = append(ev.Labour, schemas.Labour{Category: strings.ReplaceAll(c.Name, " ", "-"), Workers: c.Workers,
				Hours: schemas.Decimal(c.Hours.String()), Pay: schemas.Pay{Currency: c.Basic.Currency,
					Basic: schemas.Decimal(c.Basic.Amount.String()), Bonus: "0", InKind: "0"}})
		}
		if h.NoLabour {
			ev.Labour = []schemas.Labour{{Category: "no-labour-in-the-table", Workers: 1, Hours: schemas.Decimal(h.OutputQty.String()),
				Pay: schemas.Pay{Currency: "USD", Basic: "0", Bonus: "0", InKind: "0"}}}
		}
		hops = append(hops, signed(t, ev, keys[h.Seller.ID]))
	}
	return append(parties, hops...)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func signed(t *testing.T, ev schemas.Event, k *client.Key) schemas.Envelope {
	t.Helper()
	if ps := schemas.Validate(ev); len(ps) > 0 {
		t.Fatalf("%s: %v", ev.Kind(), ps)
	}
	env, err := client.Sign(ev.Kind(), ev, k)
	if err != nil {
		t.Fatal(err)
	}
	return env
}
