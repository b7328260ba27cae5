package schemas

import "github.com/shopspring/decimal"

// Kinds of hop.
const (
	HopSale    = "sale"    // goods change hands
	HopService = "service" // work done on a lot that stays with its owner
)

// Services a service hop may perform on a lot, and categories of
// off-ledger costs.
var (
	Services       = []string{"transport", "processing", "delivery", "storage", "other"}
	CostCategories = []string{"energy", "fuel", "materials", "equipment", "maintenance", "rent", "transport", "services", "other"}
)

// HopRecorded (hop.recorded) is one exchange along a chain, declared and
// signed by the seller: goods sold (kind "sale") or a service performed on a
// lot (kind "service": transport, processing, last-mile delivery…), with
// everything FEX-1 scores it by. Labour is aggregated per job category:
// nothing names or identifies a worker.
type HopRecorded struct {
	// ID is the hop's slug; attestations and scores name the hop by it.
	ID     string `json:"id" validate:"required,slug"`
	Seller string `json:"seller" validate:"required,slug"`
	// Buyer is a registered party, or EndConsumer for a sale to an end
	// consumer (and a service on the lot such a sale output).
	Buyer string `json:"buyer" validate:"required,slug,nefield=Seller"`
	// HopKind is "sale" or "service".
	HopKind string `json:"kind" validate:"required,oneof=sale service"`
	// Service is what a service hop did (one of Services); present only
	// when HopKind is "service".
	Service string `json:"service,omitempty" validate:"omitempty,oneof=transport processing delivery storage other"`
	// Output is the lot sold, or for a service the lot served.
	Output Output `json:"output" validate:"required"`
	// Inputs are the on-ledger lots the seller consumed to make Output:
	// the edges of the supply-chain graph.
	Inputs []Input `json:"inputs,omitempty" validate:"omitempty,max=256,dive"`
	// Costs are intermediate costs that are not on the ledger (energy,
	// rent, purchased inputs…).
	Costs []Cost `json:"costs,omitempty" validate:"omitempty,max=64,dive"`
	// Price is the total the buyer pays for Output; greater than zero.
	Price Money `json:"price" validate:"required"`
	// OccurredAt is when the exchange took place, in local time with its
	// offset.
	OccurredAt Timestamp `json:"occurred_at" validate:"required,timestamp"`
	Location   Location  `json:"location" validate:"required"`
	// Labour is the work at the seller for this output, one entry per job
	// category. Absent, labour is missing data (the score takes its worst
	// case).
	Labour []Labour `json:"labour,omitempty" validate:"omitempty,max=64,dive"`
	// EPCISEventID links the hop to a GS1 EPCIS 2.0 event: a urn:uuid or a
	// CBV 2.0 event hash (ni:///sha-256;…?ver=CBV2.0).
	EPCISEventID string `json:"epcis_event_id,omitempty" validate:"omitempty,epcis_event_id"`
}

// Output is the lot a hop sold or served.
type Output struct {
	Lot      string   `json:"lot" validate:"required,slug"`
	Quantity Quantity `json:"quantity" validate:"required"`
	// Product describes the goods, e.g. "cobalt hydroxide ore".
	Product string `json:"product,omitempty" validate:"omitempty,text,max=200"`
}

// Input is an on-ledger lot consumed by a hop, with the quantity consumed.
type Input struct {
	Lot      string   `json:"lot" validate:"required,slug"`
	Quantity Quantity `json:"quantity" validate:"required"`
}

// Cost is an off-ledger intermediate cost of a hop.
type Cost struct {
	Category string `json:"category" validate:"required,oneof=energy fuel materials equipment maintenance rent transport services other"`
	Amount   Money  `json:"amount" validate:"required"`
	Note     string `json:"note,omitempty" validate:"omitempty,text,max=200"`
}

// Location is where a hop took place.
type Location struct {
	Country string `json:"country" validate:"required,iso3166_1_alpha2"`
	// Region is an ISO 3166-2 subdivision of Country.
	Region string `json:"region,omitempty" validate:"omitempty,iso3166_2"`
	Place  string `json:"place,omitempty" validate:"omitempty,text,max=200"`
}

// Labour is the work of one job category at the seller for a hop's output.
type Labour struct {
	// Category names the job, e.g. "digger".
	Category string `json:"category" validate:"required,slug"`
	// Workers is how many people worked in the category.
	Workers int `json:"workers" validate:"min=1,max=1000000"`
	// Hours is the total hours they worked for this output.
	Hours Decimal `json:"hours" validate:"required,decimal,positive"`
	// Pay is what they were paid in total for those hours.
	Pay Pay `json:"pay" validate:"required"`
	// SelfEmployed marks a category whose workers are their own employers
	// (FEX-1 then counts the hop's surplus as their labour income).
	SelfEmployed bool `json:"self_employed,omitempty"`
}

// Pay is the pay of a job category, split as the Salary Matrix splits
// wages: basic (standard-hours pay), bonus, and in-kind (its cash value).
// Each is a Decimal, "0" when none was paid; overtime premiums are not pay
// here.
type Pay struct {
	Currency string  `json:"currency" validate:"required,iso4217"`
	Basic    Decimal `json:"basic" validate:"required,decimal"`
	Bonus    Decimal `json:"bonus" validate:"required,decimal"`
	InKind   Decimal `json:"in_kind" validate:"required,decimal"`
}

// Total returns basic + bonus + in-kind, uncapped (FEX-1 caps in-kind when
// it scores).
func (p Pay) Total() (decimal.Decimal, error) {
	total := decimal.Zero
	for _, d := range []Decimal{p.Basic, p.Bonus, p.InKind} {
		v, err := d.Value()
		if err != nil {
			return decimal.Decimal{}, err
		}
		total = total.Add(v)
	}
	return total, nil
}
