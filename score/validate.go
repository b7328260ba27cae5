package score

import (
	"fmt"
	"slices"
	"strings"
)

// ptr builds a JSON Pointer into the chain (RFC 6901 escaping of keys).
func ptr(parts ...any) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteByte('/')
		s := fmt.Sprint(p)
		s = strings.ReplaceAll(s, "~", "~0")
		s = strings.ReplaceAll(s, "/", "~1")
		b.WriteString(s)
	}
	return b.String()
}

func invalid(path, rule string) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidChain, path, rule)
}

func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// The checks below build the JSON Pointer of a field only for an error:
// path gives it, so that valid input costs no string building.

// validMoney: a non-negative amount; a currency code unless the amount is
// zero (a zero bonus needs no currency).
func validMoney(m Money, path func() string, required bool) error {
	if m.Amount.IsNegative() {
		return invalid(path()+"/amount", "must not be negative")
	}
	if (required || !m.Amount.IsZero()) && !validCurrency(m.Currency) {
		return invalid(path()+"/currency", fmt.Sprintf("%q is not an ISO 4217 code", m.Currency))
	}
	return nil
}

func validParty(p Party, path func() string, needID bool) error {
	if needID && p.ID == "" {
		return invalid(path()+"/id", "required")
	}
	if p.Country != "" && (len(p.Country) != 2 || strings.ToUpper(p.Country) != p.Country) {
		return invalid(path()+"/country", fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 code", p.Country))
	}
	return nil
}

func validCategories(cats []Category, path func() string) error {
	return checkCategories(cats, path, false)
}

// checkCategories checks job categories; partial (a dispute's) may leave
// hours at zero to keep the recorded ones.
func checkCategories(cats []Category, path func() string, partial bool) error {
	for i, c := range cats {
		at := func() string { return path() + ptr(i) }
		if strings.TrimSpace(c.Name) == "" {
			return invalid(at()+"/name", "required")
		}
		if c.Workers < 0 {
			return invalid(at()+"/workers", "must not be negative")
		}
		if c.Hours.IsNegative() || (!partial && c.Hours.IsZero()) {
			return invalid(at()+"/hours", "must be greater than zero (pay without hours has no hourly rate)")
		}
		if partial && c.Hours.IsZero() && !givesPay(c) {
			return invalid(at(), "a disputed category gives hours, pay or both")
		}
		if slices.ContainsFunc(cats[:i], func(o Category) bool { return o.Name == c.Name }) {
			return invalid(at()+"/name", fmt.Sprintf("category %q appears twice", c.Name))
		}
		for _, m := range [...]struct {
			name string
			m    Money
		}{{"basic", c.Basic}, {"bonus", c.Bonus}, {"in_kind", c.InKind}} {
			if err := validMoney(m.m, func() string { return at() + "/" + m.name }, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func validHop(id string, h Hop) error {
	at := func() string { return ptr("hops", id) }
	switch {
	case h.ID != id:
		return invalid(at()+"/id", fmt.Sprintf("%q does not match its key", h.ID))
	case id == "":
		return invalid(at(), "hop ID required")
	case h.Kind != Sale && h.Kind != Service:
		return invalid(at()+"/kind", fmt.Sprintf("%q is not %q or %q", h.Kind, Sale, Service))
	case !h.OutputQty.IsPositive():
		return invalid(at()+"/output_qty", "must be greater than zero")
	case strings.TrimSpace(h.Unit) == "":
		return invalid(at()+"/unit", "required")
	case h.OccurredAt.IsZero():
		return invalid(at()+"/occurred_at", "required (its year picks the reference figures)")
	case h.NoLabour && len(h.Labour) > 0:
		return invalid(at()+"/labour", "lists categories but the hop declares no labour")
	case h.Location != "" && (len(h.Location) != 2 || strings.ToUpper(h.Location) != h.Location):
		return invalid(at()+"/location", fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 code", h.Location))
	}
	if err := validParty(h.Seller, func() string { return at() + "/seller" }, true); err != nil {
		return err
	}
	if err := validParty(h.Buyer, func() string { return at() + "/buyer" }, false); err != nil {
		return err
	}
	if err := validMoney(h.Price, func() string { return at() + "/price" }, true); err != nil {
		return err
	}
	for i, c := range h.OffLedgerCosts {
		if err := validMoney(c, func() string { return at() + ptr("off_ledger_costs", i) }, false); err != nil {
			return err
		}
	}
	for i, in := range h.Inputs {
		p := func() string { return at() + ptr("inputs", i) }
		if !in.Qty.IsPositive() {
			return invalid(p()+"/qty", "must be greater than zero")
		}
		if strings.TrimSpace(in.Unit) == "" {
			return invalid(p()+"/unit", "required")
		}
		if in.FromHop == id {
			return invalid(p()+"/from_hop", "a hop cannot consume its own output")
		}
	}
	return validCategories(h.Labour, func() string { return at() + "/labour" })
}

func validAttestation(i int, a Attestation) error {
	at := func() string { return ptr("attestations", i) }
	switch a.Kind {
	case PriceConfirmed, WageConfirmed, Audited, Disputed:
	default:
		return invalid(at()+"/kind", fmt.Sprintf("%q is not a known attestation kind", a.Kind))
	}
	if a.Subject == "" {
		return invalid(at()+"/subject", "required")
	}
	if err := validParty(a.Attester, func() string { return at() + "/attester" }, true); err != nil {
		return err
	}
	for j, g := range a.Scope {
		if !slices.Contains(Groups(), g) {
			return invalid(at()+ptr("scope", j), fmt.Sprintf("%q is not one of %v", g, Groups()))
		}
	}
	if a.Dispute == nil {
		return nil
	}
	if a.Kind != Disputed {
		return invalid(at()+"/dispute", "only a disputed attestation carries figures")
	}
	d := a.Dispute
	if d.Price != nil {
		if err := validMoney(*d.Price, func() string { return at() + "/dispute/price" }, true); err != nil {
			return err
		}
	}
	for j, c := range d.OffLedgerCosts {
		if err := validMoney(c, func() string { return at() + ptr("dispute", "off_ledger_costs", j) }, false); err != nil {
			return err
		}
	}
	return checkCategories(d.Labour, func() string { return at() + "/dispute/labour" }, true)
}

// validate checks the whole input before anything is computed.
func validate(ch Chain) error {
	if ch.Final == "" {
		return invalid("/final", "required")
	}
	if _, ok := ch.Hops[ch.Final]; !ok {
		return invalid("/final", fmt.Sprintf("hop %q is not in the chain", ch.Final))
	}
	if ch.Delivery != "" {
		if _, ok := ch.Hops[ch.Delivery]; !ok {
			return invalid("/delivery", fmt.Sprintf("hop %q is not in the chain", ch.Delivery))
		}
		if ch.Delivery == ch.Final {
			return invalid("/delivery", "the final hop cannot also be its delivery")
		}
	}
	for _, id := range sortedKeys(ch.Hops) {
		if err := validHop(id, ch.Hops[id]); err != nil {
			return err
		}
	}
	for i, a := range ch.Attestations {
		if err := validAttestation(i, a); err != nil {
			return err
		}
	}
	return nil
}
