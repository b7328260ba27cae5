package scoretest

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/score"
)

// place is a seller location drawn by RandomChain. Most have every bundled
// figure a score needs in 2024; CN, US and DE have no living wage and keep
// the missing-figure paths exercised.
type place struct{ country, region string }

var places = []place{
	{"CD", "Kolwezi (Lualaba), DR Congo"}, {"ZM", "rural Zambia"}, {"ZA", ""}, {"IN", "urban Tamil Nadu (Tiruppur city)"},
	{"VN", "Region 2"}, {"ID", "urban Indonesia"}, {"BR", ""}, {"KE", "rural Kenya (Kericho)"}, {"GH", ""},
	{"CI", ""}, {"ET", "rural Sidama"}, {"MX", ""}, {"BD", "Dhaka city (urban)"}, {"PE", ""}, {"GB", "London"},
	{"CN", "Guangdong"}, {"US", ""}, {"DE", ""},
}

// RandomOptions shape a random chain.
type RandomOptions struct {
	Hops         int  // number of hops before any delivery (at least 1)
	Year         int  // year of every hop; 0 means 2024
	Delivery     bool // add a final delivery service
	Attestations bool // add confirmations and audits at random
	// AuditAll has every hop audited (all figures) and its wages confirmed
	// by a union, so that worst cases equal point scores where no figure is
	// missing.
	AuditAll bool
}

// RandomChain builds a well-formed random chain from r: hop i may consume
// the output of any earlier hop, every hop's output is consumed downstream,
// the last hop is the final sale to a consumer. Prices cover the inputs,
// labour and costs with a random margin (sometimes a loss); prices and pay
// are in US$ or the seller's currency (converted with the bundled 2023
// rates, rounded to cents); quantities sometimes use a different unit of the
// same dimension downstream. The same r state gives the same chain.
func RandomChain(r *rand.Rand, ref *reference.Set, o RandomOptions) score.Chain {
	if o.Hops < 1 {
		o.Hops = 1
	}
	if o.Year == 0 {
		o.Year = 2024
	}
	n := o.Hops
	seq := uint64(100)
	entry := func(id string) score.EntryRef {
		seq++
		return score.EntryRef{Seq: seq, Hash: fmt.Sprintf("%x", sha256.Sum256([]byte(id)))}
	}
	dec := func(x float64, places int32) decimal.Decimal { return decimal.NewFromFloat(x).Round(places) }
	pos := func(x float64, places int32) decimal.Decimal {
		d := dec(x, places)
		if min := decimal.New(1, -places); d.LessThan(min) {
			d = min
		}
		return d
	}

	// Who consumes whom: every hop but the last feeds a later one.
	consumers := make([][]int, n)
	for j := 0; j < n-1; j++ {
		consumers[j] = append(consumers[j], j+1+r.IntN(n-1-j))
		for k := j + 1; k < n; k++ {
			if k != consumers[j][0] && r.Float64() < 0.25 {
				consumers[j] = append(consumers[j], k)
			}
		}
	}

	sellers := make([]score.Party, n)
	for i := range sellers {
		pl := places[r.IntN(len(places))]
		form := score.Corporation
		switch x := r.Float64(); {
		case x < 0.15:
			form = score.WorkerCooperative
		case x < 0.25:
			form = score.Informal
		}
		sellers[i] = score.Party{ID: fmt.Sprintf("party-%d", i), Country: pl.country, Region: pl.region, OrgForm: form}
	}
	consumer := score.Party{ID: "consumer", Country: sellers[n-1].Country}

	money := func(usd float64, country string) score.Money {
		if r.Float64() < 0.4 {
			return score.Money{Amount: dec(usd, 2), Currency: "USD"}
		}
		fx, ok := ref.ExchangeRate(country, o.Year)
		if !ok {
			return score.Money{Amount: dec(usd, 2), Currency: "USD"}
		}
		return score.Money{Amount: dec(usd*fx.Amount.InexactFloat64(), 2), Currency: fx.Currency}
	}

	hops := map[string]score.Hop{}
	ids := make([]string, n)
	priceUSD := make([]float64, n)
	qty := make([]float64, n)
	units := make([]string, n)
	inputs := make([][]score.Input, n)
	costIn := make([]float64, n)
	for i := 0; i < n; i++ {
		ids[i] = fmt.Sprintf("hop-%02d", i)
	}
	for i := 0; i < n; i++ {
		units[i] = []string{"KGM", "TNE", "C62"}[r.IntN(3)]
		qty[i] = 1 + r.Float64()*999
		if i == n-1 {
			qty[i] = float64(1 + r.IntN(20))
		}
	}
	// Split each output among its consumers; part may go elsewhere.
	for j := 0; j < n-1; j++ {
		w := make([]float64, len(consumers[j]))
		tot := 0.0
		for k := range w {
			w[k] = 0.2 + r.Float64()
			tot += w[k]
		}
		used := 0.5 + r.Float64()*0.5
		for k, c := range consumers[j] {
			q := qty[j] * used * w[k] / tot
			unit := units[j]
			switch {
			case unit == "KGM" && r.Float64() < 0.3:
				q, unit = q*1000, "GRM"
			case unit == "TNE" && r.Float64() < 0.3:
				q, unit = q*1000, "KGM"
			}
			inputs[c] = append(inputs[c], score.Input{Lot: ids[j] + "-lot", Qty: pos(q, 3), Unit: unit, FromHop: ids[j]})
		}
	}

	for i := 0; i < n; i++ {
		s := sellers[i]
		for _, in := range inputs[i] {
			j := 0
			fmt.Sscanf(in.FromHop, "hop-%d", &j)
			q, _ := score.ConvertQuantity(in.Qty, in.Unit, units[j])
			costIn[i] += q.InexactFloat64() / qty[j] * priceUSD[j]
		}
		var cats []score.Category
		labourUSD := 0.0
		for c := 0; c < 1+r.IntN(3); c++ {
			hours := 10 + r.Float64()*1990
			hourly := 0.2 + r.ExpFloat64()*4
			pay := hours * hourly
			cat := score.Category{
				Name: fmt.Sprintf("category %d", c), Workers: 1 + r.IntN(50), Hours: pos(hours, 2),
				Basic: money(pay*0.8, s.Country), SelfEmployed: r.Float64() < 0.1,
			}
			if r.Float64() < 0.5 {
				cat.Bonus = money(pay*0.1, s.Country)
			}
			if r.Float64() < 0.4 {
				cat.InKind = money(pay*r.Float64()*0.6, s.Country)
			}
			labourUSD += pay
			cats = append(cats, cat)
		}
		base := costIn[i] + labourUSD
		costs := base * r.Float64() * 0.3
		margin := base * (-0.05 + r.Float64()*0.65)
		priceUSD[i] = base + costs + margin
		if priceUSD[i] < 1 {
			priceUSD[i] = 1
		}
		buyer := consumer
		if i < n-1 {
			buyer = sellers[consumers[i][0]]
		}
		h := score.Hop{
			ID: ids[i], Entry: entry(ids[i]), Seller: s, Buyer: buyer, Kind: score.Sale,
			OutputLot: ids[i] + "-lot", OutputQty: pos(qty[i], 3), Unit: units[i], Inputs: inputs[i],
			Price:          money(priceUSD[i], s.Country),
			OffLedgerCosts: []score.Money{money(costs, s.Country)},
			OccurredAt:     time.Date(o.Year, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC),
			Labour:         cats,
		}
		hops[h.ID] = h
	}
	ch := score.Chain{Hops: hops, Final: ids[n-1]}

	if o.Delivery {
		f := hops[ids[n-1]]
		d := score.Hop{
			ID: "delivery", Entry: entry("delivery"),
			Seller: score.Party{ID: "courier", Country: f.Seller.Country, Region: f.Seller.Region, OrgForm: score.WorkerCooperative},
			Buyer:  consumer, Kind: score.Service, OutputLot: f.OutputLot, OutputQty: f.OutputQty, Unit: f.Unit,
			Price:      money(5+r.Float64()*20, f.Seller.Country),
			OccurredAt: f.OccurredAt,
			Labour:     []score.Category{{Name: "riders", Workers: 1, Hours: pos(0.2+r.Float64(), 2), Basic: money(2+r.Float64()*8, f.Seller.Country)}},
		}
		ch.Hops[d.ID] = d
		ch.Delivery = d.ID
	}

	if o.AuditAll {
		for _, id := range slices.Sorted(maps.Keys(ch.Hops)) {
			h := ch.Hops[id]
			ch.Attestations = append(ch.Attestations,
				score.Attestation{Entry: entry(id + "/audit-all"), Kind: score.Audited, Attester: score.Party{ID: "auditor"}, Role: score.RoleAuditor, Subject: id},
				score.Attestation{Entry: entry(id + "/union-all"), Kind: score.WageConfirmed,
					Attester: score.Party{ID: "union-" + id, Country: h.Seller.Country}, Role: score.RoleUnion, Subject: id})
		}
	}
	if o.Attestations {
		for _, id := range slices.Sorted(maps.Keys(ch.Hops)) {
			h := ch.Hops[id]
			if h.Buyer.ID != "consumer" && r.Float64() < 0.4 {
				ch.Attestations = append(ch.Attestations, score.Attestation{Entry: entry(id + "/price"), Kind: score.PriceConfirmed, Attester: h.Buyer, Subject: id})
			}
			if r.Float64() < 0.3 {
				ch.Attestations = append(ch.Attestations, score.Attestation{Entry: entry(id + "/union"), Kind: score.WageConfirmed,
					Attester: score.Party{ID: "union-" + id, Country: h.Seller.Country}, Role: score.RoleUnion, Subject: id})
			}
			if r.Float64() < 0.25 {
				a := score.Attestation{Entry: entry(id + "/audit"), Kind: score.Audited,
					Attester: score.Party{ID: "auditor"}, Role: score.RoleAuditor, Subject: id}
				if r.Float64() < 0.5 {
					a.Scope = []score.FigureGroup{score.Groups()[r.IntN(3)]}
				}
				ch.Attestations = append(ch.Attestations, a)
			}
		}
	}
	return ch
}
