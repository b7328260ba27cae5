package provenance_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/internal/provenance"
	"github.com/tally-ledger/tally/schemas"
)

// TestLots lists the demo's lots with each filter, in pages of every size,
// against the sales in the statements.
func TestLots(t *testing.T) {
	b := demoBook(t)
	r := b.reader(t)
	want := func(keep func(h *schemas.HopRecorded) bool) []string {
		out := []string{}
		for _, s := range b.hops() {
			if h := s.ev.(*schemas.HopRecorded); h.HopKind == schemas.HopSale && keep(h) {
				out = append(out, h.Output.Lot)
			}
		}
		return out
	}
	cases := []struct {
		name string
		f    provenance.LotFilter
		want []string
	}{
		{"all", provenance.LotFilter{}, want(func(*schemas.HopRecorded) bool { return true })},
		{"party", provenance.LotFilter{Party: "harbourside-electronics"}, want(func(h *schemas.HopRecorded) bool {
			return h.Seller == "harbourside-electronics" || h.Buyer == "harbourside-electronics"
		})},
		{"end consumer", provenance.LotFilter{Party: schemas.EndConsumer}, want(func(h *schemas.HopRecorded) bool { return h.Buyer == schemas.EndConsumer })},
		{"country", provenance.LotFilter{Country: "cn"}, want(func(h *schemas.HopRecorded) bool { return h.Location.Country == "CN" })},
		{"commodity", provenance.LotFilter{Commodity: "COBALT"}, want(func(h *schemas.HopRecorded) bool {
			return strings.Contains(strings.ToLower(h.Output.Product), "cobalt")
		})},
		{"all filters", provenance.LotFilter{Party: "shenzhen-handset-assembly", Country: "CN", Commodity: "smartphone"}, want(func(h *schemas.HopRecorded) bool {
			return h.Seller == "shenzhen-handset-assembly" && h.Location.Country == "CN"
		})},
		{"no match", provenance.LotFilter{Party: "no-such-party"}, []string{}},
	}
	for _, c := range cases {
		if c.name != "no match" && len(c.want) == 0 {
			t.Fatalf("%s: the demo has no lot for the filter; the case tests nothing", c.name)
		}
		for _, limit := range []int{0, 1, 2, 3, 100} {
			t.Run(fmt.Sprintf("%s/limit=%d", c.name, limit), func(t *testing.T) {
				f := c.f
				f.Limit = limit
				got := []string{}
				for pages := 0; ; pages++ {
					if pages > len(b.stmts) {
						t.Fatal("paging does not end")
					}
					page, next, err := r.Lots(t.Context(), f)
					if err != nil {
						t.Fatal(err)
					}
					if limit > 0 && len(page) > limit {
						t.Fatalf("page of %d lots, limit %d", len(page), limit)
					}
					for _, l := range page {
						got = append(got, l.Lot)
						s := b.hop(t, l.Hop)
						h := s.ev.(*schemas.HopRecorded)
						if l.Lot != h.Output.Lot || l.Entry.Seq != s.seq || l.Entry.EntryHash != s.leaf || l.Seller != h.Seller || l.Buyer != h.Buyer || l.Price != h.Price {
							t.Errorf("lot %s: %+v does not describe hop %s", l.Lot, l, h.ID)
						}
					}
					if next == 0 {
						break
					}
					if next <= f.From {
						t.Fatalf("cursor went from %d to %d", f.From, next)
					}
					f.From = next
				}
				if diff := cmp.Diff(c.want, got); diff != "" {
					t.Errorf("lots differ:\n%s", diff)
				}
			})
		}
	}
}
