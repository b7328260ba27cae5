package provenance

import (
	"context"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/schemas"
)

// refCache is the reference set with every benchmark.published entry below
// next layered on the bundled figures. Benchmarks are found through the
// kind index, so reading the new ones costs only what was published since.
type refCache struct {
	set  *reference.Set
	next uint64 // entries below next have been read
	// last is the highest sequence number of a ledger figure in set;
	// valid when any.
	last uint64
	any  bool
	// skipped are benchmarks that could not be read as reference figures,
	// with why.
	skipped []string
}

// measureKinds maps the vocabulary's benchmark measures to reference kinds.
// The vocabulary's average_wage is the reference data's average earnings
// of employees.
var measureKinds = map[string]reference.Kind{
	schemas.MeasureLivingWage:   reference.KindLivingWage,
	schemas.MeasureAverageWage:  reference.KindAverageEarnings,
	schemas.MeasurePPPFactor:    reference.KindPPP,
	schemas.MeasureExchangeRate: reference.KindExchangeRate,
}

// Figure turns a benchmark.published entry at seq into a reference figure
// with a ledger origin. Its region is the benchmark's ISO 3166-2 code, or
// the name the bundled figures give that subdivision where they name it
// (see ReferenceRegion), so that a published figure supersedes the bundled
// figure for the same place and year.
func Figure(seq uint64, b *schemas.BenchmarkPublished) (reference.Figure, error) {
	kind, ok := measureKinds[b.Measure]
	if !ok {
		return reference.Figure{}, fmt.Errorf("/measure: %q is not one of %v", b.Measure, schemas.Measures)
	}
	amount, err := b.Value.Value()
	if err != nil {
		return reference.Figure{}, fmt.Errorf("/value: %v", err)
	}
	hours := decimal.Zero
	if b.Hours != "" {
		if hours, err = b.Hours.Value(); err != nil {
			return reference.Figure{}, fmt.Errorf("/hours: %v", err)
		}
	}
	method := "published on the ledger by " + b.Publisher
	if b.Region != "" {
		method += " for region " + b.Region
	}
	f := reference.Figure{
		Kind:     kind,
		Country:  b.Country,
		Region:   ReferenceRegion(b.Region),
		Year:     b.Year,
		Currency: b.Currency,
		Period:   reference.Period(b.Period),
		Amount:   amount,
		Hours:    hours,
		Method:   method,
		Source:   strings.TrimSpace(b.Source.Citation + " " + b.Source.URL),
		Origin:   reference.LedgerEntry(seq),
	}
	return f, f.Validate()
}

// reference returns the reference figures in force at the view's position.
func (v *view) reference() (*reference.Set, error) {
	r := v.r
	r.refMu.Lock()
	defer r.refMu.Unlock()
	c := &r.ref
	if c.next < v.size {
		err := v.each(schemas.TermKind, schemas.KindBenchmarkPublished, c.next, indexPage, func(seq uint64) (bool, error) {
			it, err := v.read(seq)
			if err != nil {
				return true, err
			}
			b, ok := it.ev.(*schemas.BenchmarkPublished)
			if !ok {
				return false, nil
			}
			f, err := Figure(seq, b)
			var set *reference.Set
			if err == nil {
				set, err = c.set.With(f)
			}
			if err != nil {
				c.skipped = append(c.skipped, fmt.Sprintf("entry %d: %v", seq, err))
				return false, nil
			}
			c.set, c.last, c.any = set, seq, true
			return false, nil
		})
		if err != nil {
			return nil, err
		}
		c.next = v.size
	}
	if c.any && c.last >= v.size {
		// A reader that began before figures read since: rewind to its
		// position.
		if v.size == 0 {
			return r.bundled, nil
		}
		return c.set.At(v.size - 1), nil
	}
	return c.set, nil
}

// Reference returns the reference figures in force at the ledger's head
// (the bundled figures, and the ledger's benchmarks layered on top), the
// ledger position they were read at, and the benchmarks that could not be
// read as figures (with why).
func (r *Reader) Reference(ctx context.Context) (*reference.Set, uint64, []string, error) {
	v := r.view(ctx)
	set, err := v.reference()
	if err != nil {
		return nil, 0, nil, err
	}
	r.refMu.Lock()
	skipped := append([]string(nil), r.ref.skipped...)
	r.refMu.Unlock()
	return set, v.size, skipped, nil
}
