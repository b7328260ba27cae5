package provenance

import (
	"context"
	"strings"

	"github.com/tally-ledger/tally/schemas"
)

// Paging limits of Lots.
const (
	DefaultLotLimit = 50
	MaxLotLimit     = 500
	// lotScanBudget bounds the index entries one page examines, so that a
	// filter that matches little answers a short page (with a cursor to go
	// on from) rather than read far into the ledger.
	lotScanBudget = 2000
)

// LotFilter selects lots. Empty fields select everything.
type LotFilter struct {
	// Party: the seller or the buyer of the sale that output the lot.
	Party string
	// Country: where that sale took place (its location, ISO 3166-1
	// alpha-2).
	Country string
	// Commodity: text the lot's product description contains, ignoring
	// case. The hop vocabulary has no commodity field; a sale's output
	// carries a free-text product description ("heterogenite (cobalt)
	// ore"), and that is what is matched.
	Commodity string
	// From is the cursor: the ledger position to list from (0: the start).
	From uint64
	// Limit is the most lots a page holds (0: DefaultLotLimit; at most
	// MaxLotLimit).
	Limit int
}

// LotSummary is one lot of a listing: the sale that output it.
type LotSummary struct {
	Lot        string           `json:"lot"`
	Product    string           `json:"product,omitempty"`
	Quantity   schemas.Quantity `json:"quantity"`
	Hop        string           `json:"hop"`
	Entry      Ref              `json:"entry"`
	Seller     string           `json:"seller"`
	Buyer      string           `json:"buyer"`
	Price      schemas.Money    `json:"price"`
	OccurredAt string           `json:"occurred_at"`
	Location   schemas.Location `json:"location"`
}

// Lots lists lots in ledger order (the order of the sales that output
// them), from f.From on. next is the cursor of the following page, 0 when
// there are no more. A page may hold fewer than f.Limit lots, even none,
// while next is not 0: each page examines a bounded stretch of the index.
// The party filter reads the party's index; the others read the index of
// every hop and filter what they read.
func (r *Reader) Lots(ctx context.Context, f LotFilter) (page []LotSummary, next uint64, err error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLotLimit
	}
	limit = min(limit, MaxLotLimit)
	v := r.view(ctx)
	name, key := schemas.TermKind, schemas.KindHopRecorded
	if f.Party != "" {
		name, key = schemas.TermParty, f.Party
	}
	country := strings.ToUpper(strings.TrimSpace(f.Country))
	commodity := strings.ToLower(strings.TrimSpace(f.Commodity))
	page = []LotSummary{}
	examined := 0
	last, stopped := uint64(0), false
	err = v.each(name, key, f.From, indexPage, func(seq uint64) (bool, error) {
		if len(page) == limit || examined == lotScanBudget {
			stopped = true
			return true, nil
		}
		examined++
		last = seq
		it, err := v.read(seq)
		if err != nil {
			return true, err
		}
		h, ok := it.ev.(*schemas.HopRecorded)
		switch {
		case !ok || h.HopKind != schemas.HopSale:
		case f.Party != "" && h.Seller != f.Party && h.Buyer != f.Party:
		case country != "" && h.Location.Country != country:
		case commodity != "" && !strings.Contains(strings.ToLower(h.Output.Product), commodity):
		default:
			page = append(page, LotSummary{
				Lot: h.Output.Lot, Product: h.Output.Product, Quantity: h.Output.Quantity,
				Hop: h.ID, Entry: it.ref, Seller: h.Seller, Buyer: h.Buyer,
				Price: h.Price, OccurredAt: string(h.OccurredAt), Location: h.Location,
			})
		}
		return false, nil
	})
	if err != nil {
		return nil, 0, err
	}
	if stopped {
		next = last + 1
	}
	return page, next, nil
}
