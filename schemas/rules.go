package schemas

import (
	"fmt"
	"strings"
)

// Rules that span fields, which validate tags cannot say. Each has a name
// (the Problem's Rule) that docs/vocabulary.md lists. A rule is skipped
// where a field it reads already broke its own rule, so one mistake is
// reported once.
//
// Some of these cannot be said in JSON Schema either (region_country,
// distinct_lot, distinct_key, and the distinctness of items by one member);
// the JSON Schemas note which, and the agreement test pins the list.

type ruleSet struct {
	prior    []Problem
	problems []Problem
}

// broken reports whether the path, anything inside it, or anything that
// contains it already has a problem.
func (r *ruleSet) broken(path string) bool {
	for _, p := range r.prior {
		if p.Path == path || strings.HasPrefix(p.Path, path+"/") || strings.HasPrefix(path, p.Path+"/") {
			return true
		}
	}
	return false
}

func (r *ruleSet) add(path, rule, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.problems = append(r.problems, Problem{Path: path, Rule: rule, Message: fmt.Sprintf("%s %s (rule %s)", fieldName(path), msg, rule)})
}

func crossFieldRules(ev Event, prior []Problem) []Problem {
	r := &ruleSet{prior: prior}
	switch e := ev.(type) {
	case *PartyRegistered:
		r.unique("/keys", "key", len(e.Keys), func(i int) string { return e.Keys[i] })
		r.regionInCountry("/region", e.Region, "/country", e.Country)
	case *PartyKeyRotated:
		if !r.broken("/new_key") && !r.broken("/old_key") {
			if pub, err := ParsePublicKey(e.NewKey); err == nil && KeyID(pub) == e.OldKey {
				r.add("/new_key", "distinct_key", "must be a different key from old_key")
			}
		}
	case *PartyKeyRevoked:
	case *HopRecorded:
		r.hop(e)
	case *AttestationRecorded:
		r.attestation(e)
	case *BenchmarkPublished:
		r.benchmark(e)
	}
	return r.problems
}

// regionInCountry: an ISO 3166-2 code starts with its country's code.
func (r *ruleSet) regionInCountry(regionPath, region, countryPath, country string) {
	if region == "" || r.broken(regionPath) || r.broken(countryPath) {
		return
	}
	if !strings.HasPrefix(region, country+"-") {
		r.add(regionPath, "region_country", "%q must be a subdivision of country %q", region, country)
	}
}

func (r *ruleSet) hop(h *HopRecorded) {
	switch {
	case h.HopKind == HopService && h.Service == "" && !r.broken("/kind"):
		r.add("/service", "required_if", "is required when kind is %q", HopService)
	case h.HopKind != HopService && h.Service != "" && !r.broken("/kind"):
		r.add("/service", "excluded_unless", "may be given only when kind is %q", HopService)
	}
	r.positiveMoney("/price/amount", h.Price.Amount)
	r.unique("/inputs", "lot", len(h.Inputs), func(i int) string { return h.Inputs[i].Lot })
	r.unique("/labour", "category", len(h.Labour), func(i int) string { return h.Labour[i].Category })
	if !r.broken("/output/lot") {
		for i, in := range h.Inputs {
			if in.Lot == h.Output.Lot {
				r.add(index("/inputs", i)+"/lot", "distinct_lot", "%q is the output lot: a hop cannot consume what it outputs", in.Lot)
			}
		}
	}
	r.regionInCountry("/location/region", h.Location.Region, "/location/country", h.Location.Country)
}

func (r *ruleSet) positiveMoney(path string, d Decimal) {
	if !r.broken(path) && !d.IsPositive() {
		r.add(path, "positive", "must be greater than zero")
	}
}

func (r *ruleSet) attestation(a *AttestationRecorded) {
	if r.broken("/claim") {
		return
	}
	audited, disputed := a.Claim == ClaimAudited, a.Claim == ClaimDisputed
	switch {
	case audited && len(a.Scope) == 0:
		r.add("/scope", "required_if", "must list what the audit covered when claim is %q", ClaimAudited)
	case !audited && a.Scope != nil:
		r.add("/scope", "excluded_unless", "may be given only when claim is %q", ClaimAudited)
	}
	r.unique("/scope", "scope", len(a.Scope), func(i int) string { return a.Scope[i] })
	if !audited && a.Standard != "" {
		r.add("/standard", "excluded_unless", "may be given only when claim is %q", ClaimAudited)
	}
	switch {
	case disputed && a.Figures == nil:
		r.add("/figures", "required_if", "must give the disputing party's own figures when claim is %q", ClaimDisputed)
	case !disputed && a.Figures != nil:
		r.add("/figures", "excluded_unless", "may be given only when claim is %q", ClaimDisputed)
	case disputed:
		f := a.Figures
		if f.Price == nil && len(f.Labour) == 0 {
			r.add("/figures", "required_one", "must give a price, labour figures, or both")
		}
		if f.Price != nil {
			r.positiveMoney("/figures/price/amount", f.Price.Amount)
		}
		r.unique("/figures/labour", "category", len(f.Labour), func(i int) string { return f.Labour[i].Category })
		for i, l := range f.Labour {
			if l.Hours == "" && l.Pay == nil {
				r.add(index("/figures/labour", i), "required_one", "must give hours, pay, or both")
			}
		}
	}
}

func (r *ruleSet) benchmark(b *BenchmarkPublished) {
	if !r.broken("/measure") {
		wage := b.Measure == MeasureLivingWage || b.Measure == MeasureAverageWage
		switch {
		case wage && b.Period == "":
			r.add("/period", "required_if", "is required when measure is %q", b.Measure)
		case !wage && b.Period != "":
			r.add("/period", "excluded_if", "may not be given when measure is %q", b.Measure)
		}
		if b.Hours != "" && (!wage || b.Period == "hour") && !r.broken("/period") {
			r.add("/hours", "excluded_unless", "may be given only for a wage given per day, week, month or year")
		}
	}
	r.regionInCountry("/region", b.Region, "/country", b.Country)
}

// unique: no two items of a list name the same thing. It is checked here
// rather than with validator's unique tag, which would stop the items'
// own rules from being checked at all.
func (r *ruleSet) unique(path, what string, n int, key func(int) string) {
	seen := make(map[string]int, n)
	for i := range n {
		k := key(i)
		if j, dup := seen[k]; dup && k != "" {
			r.add(path, "unique", "must not name the same %s twice (items %d and %d are both %q)", what, j, i, clip(k))
			return
		}
		seen[k] = i
	}
}
