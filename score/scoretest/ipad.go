// Package scoretest builds chains for testing the scoring method: the
// published iPad 2010 value-distribution table as a chain, and random
// well-formed chains from a seeded source. Other packages reuse them to test
// the same figures along their own paths (for example through the ledger).
package scoretest

import (
	_ "embed"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tally-ledger/tally/score"
)

// The table as published: National Science Foundation, Science and
// Engineering Indicators 2012, Table 6-B, from Linden, Kraemer & Dedrick
// (2011). See testdata/ipad-2010.md.
//
//go:embed testdata/ipad-2010.md
var ipadTable string

// IPadRow is one row of the published table.
type IPadRow struct {
	Characteristic string // carried down from the row above where the source leaves it blank
	Activity       string
	Location       string
	USD            decimal.Decimal
	Share          decimal.Decimal // percent of the retail price
}

// IPad2010Table parses the published table.
func IPad2010Table() ([]IPadRow, error) {
	var rows []IPadRow
	char := ""
	for _, line := range strings.Split(ipadTable, "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "| characteristic") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 5 {
			return nil, fmt.Errorf("ipad table: %q: %d cells, want 5", line, len(cells))
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if cells[0] != "" {
			char = cells[0]
		}
		usd, err := decimal.NewFromString(cells[3])
		if err != nil {
			return nil, fmt.Errorf("ipad table: %q: US$: %w", line, err)
		}
		share, err := decimal.NewFromString(cells[4])
		if err != nil {
			return nil, fmt.Errorf("ipad table: %q: share: %w", line, err)
		}
		rows = append(rows, IPadRow{Characteristic: char, Activity: cells[1], Location: cells[2], USD: usd, Share: share})
	}
	if len(rows) != 13 {
		return nil, fmt.Errorf("ipad table: %d rows, want 13", len(rows))
	}
	return rows, nil
}

// Measure names the figure of a chain score that a table row must equal.
type Measure string

// The measures the iPad rows map to.
const (
	MeasureFinalPrice     Measure = "final_price"      // the chain's final price
	MeasureRowTotal       Measure = "row_total"        // a hop's whole row (value added + non-labour)
	MeasureUpstream       Measure = "upstream"         // final price less the final hop's row
	MeasureCapture        Measure = "capture"          // a hop's capture
	MeasureLabour         Measure = "labour"           // a hop's labour income
	MeasureNonLabourTotal Measure = "non_labour_total" // non-labour costs summed over every hop
)

// IPadCheck says which figure of the chain's score one table row must give
// back.
type IPadCheck struct {
	Row     IPadRow
	Measure Measure
	Hop     string // for per-hop measures
}

// Got reads the checked figure, in US$ per iPad, from a chain score.
func (c IPadCheck) Got(cs score.ChainScore) (decimal.Decimal, error) {
	row := func() (score.ShareRow, error) {
		for _, r := range cs.Shares {
			if r.Hop == c.Hop {
				return r, nil
			}
		}
		return score.ShareRow{}, fmt.Errorf("no share row for hop %q", c.Hop)
	}
	val := func(m *score.Money, what string) (decimal.Decimal, error) {
		if m == nil {
			return decimal.Decimal{}, fmt.Errorf("hop %q: %s is missing", c.Hop, what)
		}
		return m.Amount, nil
	}
	switch c.Measure {
	case MeasureFinalPrice:
		return val(cs.FinalPrice, "final price")
	case MeasureRowTotal:
		r, err := row()
		return r.Total.Amount, err
	case MeasureUpstream:
		r, err := row()
		if err != nil || cs.FinalPrice == nil {
			return decimal.Decimal{}, fmt.Errorf("upstream of %q: %v", c.Hop, err)
		}
		return cs.FinalPrice.Amount.Sub(r.Total.Amount), nil
	case MeasureCapture:
		r, err := row()
		if err != nil {
			return decimal.Decimal{}, err
		}
		return val(r.Capture, "capture")
	case MeasureLabour:
		r, err := row()
		if err != nil {
			return decimal.Decimal{}, err
		}
		return val(r.Labour, "labour")
	case MeasureNonLabourTotal:
		sum := decimal.Zero
		for _, r := range cs.Shares {
			if r.NonLabour != nil {
				sum = sum.Add(r.NonLabour.Amount)
			}
		}
		return sum, nil
	}
	return decimal.Decimal{}, fmt.Errorf("unknown measure %q", c.Measure)
}

// IPad is the iPad 2010 table as a chain, with the checks that tie each row
// of the table to a figure of the chain's score.
type IPad struct {
	Chain  score.Chain
	Rows   []IPadRow
	Checks []IPadCheck
}

// Lot sizes: each supplier ships components for 1,000 iPads, the assembler
// and Apple sell lots of 1,000, the retailer sells one iPad to a consumer.
// The attribution walk must bring every figure back to one iPad.
const ipadLot = 1000

// IPad2010 builds the chain that the table describes, as the method's
// mapping in ipad-2010.md says: one component-supplier hop per location
// with its capture (the unidentified supplier also carries the component
// labour and the worldwide non-labour inputs, which the source gives only as
// totals); the assembler in China with its assembly labour and no capture;
// Apple selling at the wholesale price; distribution and retail selling one
// iPad to a consumer at the retail price. All amounts are US$, in 2010.
//
// The source gives no hours. The labour categories carry placeholder hours
// (one per iPad) so that pay has an hourly rate; the share table does not
// depend on them. The source gives no labour for Apple, the country
// suppliers or retail, so those hops declare none (NoLabour) and their
// value added is all capture. Apple's capture is not an input: it comes out
// as the wholesale price less what Apple paid the assembler.
func IPad2010() (IPad, error) {
	rows, err := IPad2010Table()
	if err != nil {
		return IPad{}, err
	}
	find := func(characteristic, activity, location string) (IPadRow, error) {
		for _, r := range rows {
			if r.Characteristic == characteristic && r.Activity == activity && r.Location == location {
				return r, nil
			}
		}
		return IPadRow{}, fmt.Errorf("ipad table: no row %q / %q / %q", characteristic, activity, location)
	}
	type supplier struct {
		id, location, country, region string
	}
	suppliers := []supplier{
		{"sup-us", "US suppliers", "US", ""},
		{"sup-jp", "Japan", "JP", ""},
		{"sup-kr", "South Korea", "KR", ""},
		{"sup-tw", "Taiwan", "TW", ""},
		{"sup-eu", "EU", "", "European Union"},
		{"sup-unid", "unidentified", "", ""},
	}
	var checks []IPadCheck
	must := func(characteristic, activity, location string, m Measure, hop string) decimal.Decimal {
		if err != nil {
			return decimal.Zero
		}
		var r IPadRow
		r, err = find(characteristic, activity, location)
		checks = append(checks, IPadCheck{Row: r, Measure: m, Hop: hop})
		return r.USD
	}
	retailPrice := must("retail", "manufacturer's suggested retail price", "worldwide", MeasureFinalPrice, "")
	must("distribution and retail", "distribution", "worldwide", MeasureRowTotal, "retail")
	wholesale := must("distribution and retail", "wholesale price received by Apple", "United States", MeasureUpstream, "retail")
	must("value capture", "design/marketing", "Apple (US)", MeasureCapture, "apple")
	captures := map[string]decimal.Decimal{}
	for _, s := range suppliers {
		captures[s.id] = must("value capture", "component manufacturing", s.location, MeasureCapture, s.id)
	}
	componentLabour := must("direct labour", "component manufacturing", "unidentified", MeasureLabour, "sup-unid")
	assemblyLabour := must("direct labour", "final assembly", "China", MeasureLabour, "asm-cn")
	nonLabour := must("inputs", "non-labour costs", "worldwide", MeasureNonLabourTotal, "")
	if err != nil {
		return IPad{}, err
	}
	if len(checks) != len(rows) {
		return IPad{}, fmt.Errorf("ipad table: %d rows mapped, %d published", len(checks), len(rows))
	}

	n := decimal.NewFromInt(ipadLot)
	usd := func(perUnit decimal.Decimal) score.Money { return score.Money{Amount: perUnit.Mul(n), Currency: "USD"} }
	at := time.Date(2010, time.June, 1, 0, 0, 0, 0, time.UTC)
	seq := uint64(0)
	entry := func() score.EntryRef {
		seq++
		return score.EntryRef{Seq: seq, Hash: fmt.Sprintf("ipad-2010-%d", seq)}
	}
	assembler := score.Party{ID: "asm-cn", Country: "CN", OrgForm: score.Corporation}
	apple := score.Party{ID: "apple", Country: "US", OrgForm: score.Corporation}
	retailer := score.Party{ID: "retail", Region: "worldwide", OrgForm: score.Corporation}
	consumer := score.Party{ID: "consumer"}

	hops := map[string]score.Hop{}
	var asmInputs []score.Input
	asmCost := decimal.Zero
	for _, s := range suppliers {
		perUnit := captures[s.id]
		h := score.Hop{
			ID: s.id, Entry: entry(),
			Seller: score.Party{ID: s.id, Country: s.country, Region: s.region, OrgForm: score.Corporation},
			Buyer:  assembler, Kind: score.Sale,
			OutputLot: s.id + "-components", OutputQty: n, Unit: "C62",
			OccurredAt: at, NoLabour: true,
		}
		if s.id == "sup-unid" {
			perUnit = perUnit.Add(componentLabour).Add(nonLabour)
			h.NoLabour = false
			h.OffLedgerCosts = []score.Money{usd(nonLabour)}
			h.Labour = []score.Category{{Name: "component manufacturing workers", Workers: 1,
				Hours: n, Basic: usd(componentLabour)}}
		}
		h.Price = usd(perUnit)
		hops[s.id] = h
		asmInputs = append(asmInputs, score.Input{Lot: h.OutputLot, Qty: n, Unit: "C62", FromHop: s.id})
		asmCost = asmCost.Add(perUnit)
	}
	hops["asm-cn"] = score.Hop{
		ID: "asm-cn", Entry: entry(), Seller: assembler, Buyer: apple, Kind: score.Sale,
		OutputLot: "ipad-assembled", OutputQty: n, Unit: "C62", Inputs: asmInputs,
		Price: usd(asmCost.Add(assemblyLabour)), OccurredAt: at,
		Labour: []score.Category{{Name: "final assembly workers", Workers: 1, Hours: n, Basic: usd(assemblyLabour)}},
	}
	hops["apple"] = score.Hop{
		ID: "apple", Entry: entry(), Seller: apple, Buyer: retailer, Kind: score.Sale,
		OutputLot: "ipad-wholesale", OutputQty: n, Unit: "C62",
		Inputs: []score.Input{{Lot: "ipad-assembled", Qty: n, Unit: "C62", FromHop: "asm-cn"}},
		Price:  usd(wholesale), OccurredAt: at, NoLabour: true,
	}
	hops["retail"] = score.Hop{
		ID: "retail", Entry: entry(), Seller: retailer, Buyer: consumer, Kind: score.Sale,
		OutputLot: "ipad-sold", OutputQty: decimal.NewFromInt(1), Unit: "C62",
		Inputs: []score.Input{{Lot: "ipad-wholesale", Qty: decimal.NewFromInt(1), Unit: "C62", FromHop: "apple"}},
		Price:  score.Money{Amount: retailPrice, Currency: "USD"}, OccurredAt: at, NoLabour: true,
	}
	return IPad{Chain: score.Chain{Hops: hops, Final: "retail"}, Rows: rows, Checks: checks}, nil
}
