package score

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// This file is the scoring method's own input model: what FEX-1 needs to
// know about a chain, independent of how the ledger encodes it.

// Money is an amount in a currency. Amounts are decimal, never float.
type Money struct {
	Amount   decimal.Decimal
	Currency string // ISO 4217
}

// USD builds a US-dollar amount from a decimal string; it panics on a
// malformed string, so use it for constants and tests.
func USD(amount string) Money {
	return Money{Amount: decimal.RequireFromString(amount), Currency: "USD"}
}

// MarshalJSON writes {"amount":"12.5","currency":"USD"}: the amount as a
// plain decimal string (never exponent notation, trailing zeros dropped).
func (m Money) MarshalJSON() ([]byte, error) {
	return json.Marshal(moneyJSON{Amount: plain(m.Amount), Currency: m.Currency})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (m *Money) UnmarshalJSON(b []byte) error {
	var j moneyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	a, err := decimal.NewFromString(j.Amount)
	if err != nil {
		return fmt.Errorf("amount: %q is not a decimal number", j.Amount)
	}
	*m = Money{Amount: a, Currency: j.Currency}
	return nil
}

type moneyJSON struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// String is "12.5 USD".
func (m Money) String() string { return plain(m.Amount) + " " + m.Currency }

// plain formats a decimal without exponent notation and without trailing
// zeros, whatever the decimal package's global settings are.
func plain(d decimal.Decimal) string {
	places := int32(0)
	if e := d.Exponent(); e < 0 {
		places = -e
	}
	s := d.StringFixed(places)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// EntryRef names the ledger entry a figure came from.
type EntryRef struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// OrgForm is how a party is organised.
type OrgForm string

// The organisation forms. A worker cooperative's and a self-employed
// party's surplus is labour income.
const (
	WorkerCooperative   OrgForm = "worker_cooperative"
	ConsumerCooperative OrgForm = "consumer_cooperative"
	Corporation         OrgForm = "corporation"
	Informal            OrgForm = "informal"
	Public              OrgForm = "public"
	NGO                 OrgForm = "ngo"
	SelfEmployed        OrgForm = "self_employed"
)

// Party is one side of an exchange.
type Party struct {
	ID      string
	Country string // ISO 3166-1 alpha-2; empty if unknown
	Region  string // as the party registered it; matched against reference regions
	OrgForm OrgForm
}

// HopKind is what changed hands.
type HopKind string

// The hop kinds.
const (
	Sale    HopKind = "sale"    // goods
	Service HopKind = "service" // a service on a lot (transport, last-mile delivery, …)
)

// Input is a lot consumed by a hop, in a quantity.
type Input struct {
	Lot     string
	Qty     decimal.Decimal
	Unit    string // UN/ECE Recommendation 20 code (KGM, GRM, C62, …)
	FromHop string // the hop that output the lot; empty or unknown means not on the ledger
}

// Category is the labour of one job category at the seller for a hop's
// output. Pay is for the hours given, at standard hours (overtime excluded).
type Category struct {
	Name         string
	Workers      int
	Hours        decimal.Decimal
	Basic        Money
	Bonus        Money
	InKind       Money
	SelfEmployed bool // the category's income is the surplus it earns, not a wage
}

// Hop is one exchange: the seller's output lot, sold (or serviced) for a
// price, with the inputs it consumed, the costs that are not on the ledger
// and the labour that went into it.
type Hop struct {
	ID        string
	Entry     EntryRef
	Seller    Party
	Buyer     Party
	Kind      HopKind
	OutputLot string
	OutputQty decimal.Decimal
	Unit      string
	Inputs    []Input
	Price     Money
	// OffLedgerCosts are intermediate costs not recorded as ledger inputs
	// (energy, rent, purchased materials). None is declared as an empty list.
	OffLedgerCosts []Money
	OccurredAt     time.Time // local time of the exchange; its year picks the reference figures
	Location       string    // ISO country where the exchange took place; empty: the seller's
	// Labour is the seller's labour for this output, one entry per job
	// category. An empty list means the labour figures are missing, unless
	// NoLabour declares that no labour went into this output (a table that
	// books all labour elsewhere, a pass-through trader).
	Labour   []Category
	NoLabour bool
}

// Year is the calendar year the exchange took place in, in the time zone
// OccurredAt was recorded with (the local time of the exchange).
func (h Hop) Year() int { return h.OccurredAt.Year() }

// AttestationKind is what an attestation claims about a hop.
type AttestationKind string

// The attestation kinds.
const (
	PriceConfirmed AttestationKind = "price_confirmed" // by the counterparty
	WageConfirmed  AttestationKind = "wage_confirmed"  // by a union or workers' collective (or the counterparty)
	Audited        AttestationKind = "audited"         // by a third-party auditor, with a scope
	Disputed       AttestationKind = "disputed"        // with the disputing party's own figures
)

// Role is the capacity an attester acts in.
type Role string

// The roles that give an attestation weight. The counterparty is
// recognised by party ID, not by role.
const (
	RoleUnion             Role = "union"
	RoleWorkersCollective Role = "workers_collective"
	RoleAuditor           Role = "auditor"
)

// FigureGroup is a group of a hop's figures that evidence attaches to.
type FigureGroup string

// The figure groups.
const (
	GroupPrice  FigureGroup = "price"  // the price
	GroupCosts  FigureGroup = "costs"  // the off-ledger costs
	GroupLabour FigureGroup = "labour" // workers, hours and pay of every category
)

// Groups lists the figure groups in a fixed order.
func Groups() []FigureGroup { return []FigureGroup{GroupPrice, GroupCosts, GroupLabour} }

// Attestation is a signed claim by another party about a hop's figures.
type Attestation struct {
	Entry    EntryRef
	Kind     AttestationKind
	Attester Party
	Role     Role
	Subject  string        // hop ID
	Scope    []FigureGroup // audited, disputed: the groups covered; empty means all
	Dispute  *Dispute      // disputed: the party's own figures, where it gives them
}

// Dispute holds the disputing party's own figures. A group it gives figures
// for is disputed even if Scope leaves it out.
type Dispute struct {
	Price          *Money
	OffLedgerCosts []Money // empty: no alternative given
	// Labour gives the party's figures for some categories, matched to the
	// recorded ones by name. A category may give hours only (its pay left
	// with no amounts and no currency) or pay only (hours zero); the other
	// figures stay as recorded. A category the hop did not record is added.
	Labour []Category
}

// Chain is a final lot's upstream DAG: every hop reachable from the final
// hop through input links, an optional final delivery service, and the
// attestations about them. Hops and attestations that are not part of the
// chain are ignored.
type Chain struct {
	Hops         map[string]Hop
	Final        string // the hop that sold the final lot
	Delivery     string // optional: the service that delivered it
	Attestations []Attestation
}
