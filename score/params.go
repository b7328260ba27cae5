package score

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
)

// Evidence is how well a figure is backed.
type Evidence string

// The evidence levels, strongest first.
const (
	EvidenceAuditedWorkerConfirmed Evidence = "audited_worker_confirmed"
	EvidenceAudited                Evidence = "audited"
	EvidenceWorkerConfirmed        Evidence = "worker_confirmed"
	EvidenceCounterparty           Evidence = "counterparty_confirmed"
	EvidenceSeller                 Evidence = "seller_declared"
	EvidenceDisputed               Evidence = "disputed"
	EvidenceMissing                Evidence = "missing"
)

// EvidenceLevels lists every level in a fixed order.
func EvidenceLevels() []Evidence {
	return []Evidence{EvidenceAuditedWorkerConfirmed, EvidenceAudited, EvidenceWorkerConfirmed,
		EvidenceCounterparty, EvidenceSeller, EvidenceDisputed, EvidenceMissing}
}

// Params are the parameters of one version of the method. Each version lives
// in its own file, params/<version>.json; changing any parameter makes a new
// version, and every version ever published stays computable.
type Params struct {
	Version string `json:"version"`
	// Scale multiplies the geometric mean of the terms (100: scores run 0–100).
	Scale float64 `json:"scale"`
	// InKindCap: in-kind pay counts up to this fraction of total pay
	// (basic + bonus + in-kind).
	InKindCap decimal.Decimal `json:"in_kind_cap"`
	// MonthlyHours turns a monthly benchmark into an hourly one (a 40-hour
	// week: 40 × 52 / 12).
	MonthlyHours decimal.Decimal `json:"monthly_hours"`
	// WorstCaseBelow: in the worst case, every figure with a confidence
	// below this takes its worst case.
	WorstCaseBelow float64 `json:"worst_case_below"`
	// Confidence of each evidence level.
	Confidence map[Evidence]float64 `json:"confidence"`
	// MoneyPlaces is the number of decimal places money is shown with.
	// Ratios are computed before rounding.
	MoneyPlaces int32 `json:"money_places"`
}

// CurrentMethod is the version scores are computed with unless another is
// asked for.
const CurrentMethod = "fex-1"

//go:embed params/*.json
var paramsFS embed.FS

var registry = loadRegistry()

// FEX1 is the fex-1 parameter set.
var FEX1 = mustMethod("fex-1")

func loadRegistry() map[string]Params {
	entries, err := paramsFS.ReadDir("params")
	if err != nil {
		panic(err)
	}
	reg := map[string]Params{}
	for _, e := range entries {
		b, err := paramsFS.ReadFile("params/" + e.Name())
		if err != nil {
			panic(err)
		}
		p, err := parseParams(b)
		if err != nil {
			panic(fmt.Sprintf("score: params/%s: %v", e.Name(), err))
		}
		if want := strings.TrimSuffix(e.Name(), path.Ext(e.Name())); p.Version != want {
			panic(fmt.Sprintf("score: params/%s holds version %q", e.Name(), p.Version))
		}
		reg[p.Version] = p
	}
	return reg
}

func parseParams(b []byte) (Params, error) {
	var p Params
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Params{}, fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	return p, p.Validate()
}

func mustMethod(v string) Params {
	p, err := Method(v)
	if err != nil {
		panic(err)
	}
	return p
}

// Method returns the parameters of a method version.
func Method(version string) (Params, error) {
	p, ok := registry[version]
	if !ok {
		return Params{}, fmt.Errorf("%w: %q (known: %v)", ErrUnknownMethod, version, Methods())
	}
	p.Confidence = maps.Clone(p.Confidence)
	return p, nil
}

// Methods lists the method versions that can be computed.
func Methods() []string {
	return slices.Sorted(maps.Keys(registry))
}

// Validate checks that every parameter is present and in range.
func (p Params) Validate() error {
	bad := func(field, rule string) error { return fmt.Errorf("%w: /%s: %s", ErrInvalidParams, field, rule) }
	switch {
	case p.Version == "":
		return bad("version", "required")
	case !(p.Scale > 0):
		return bad("scale", "must be greater than zero")
	case p.InKindCap.IsNegative() || p.InKindCap.GreaterThan(decimal.NewFromInt(1)):
		return bad("in_kind_cap", "must be between 0 and 1")
	case !p.MonthlyHours.IsPositive():
		return bad("monthly_hours", "must be greater than zero")
	case !(p.WorstCaseBelow > 0 && p.WorstCaseBelow <= 1):
		return bad("worst_case_below", "must be in (0, 1]")
	case p.MoneyPlaces < 0 || p.MoneyPlaces > 18:
		return bad("money_places", "must be between 0 and 18")
	}
	for _, e := range EvidenceLevels() {
		c, ok := p.Confidence[e]
		if !ok {
			return bad("confidence/"+string(e), "required")
		}
		if !(c >= 0 && c <= 1) {
			return bad("confidence/"+string(e), "must be between 0 and 1")
		}
	}
	if len(p.Confidence) != len(EvidenceLevels()) {
		return bad("confidence", fmt.Sprintf("unknown level among %v", slices.Sorted(maps.Keys(p.Confidence))))
	}
	if p.Confidence[EvidenceMissing] != 0 {
		return bad("confidence/missing", "must be 0: a missing figure backs nothing")
	}
	return nil
}
