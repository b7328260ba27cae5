package demo_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/schemas"
)

// figure is one row of a figures table in SOURCES.md.
type figure struct {
	id, unit, status string
	value            decimal.Decimal
	places           int32    // decimals as written
	where            []string // H1#/price/amount, A:ref#/…, B:ref#/…
	line             int
}

var backticked = regexp.MustCompile("`([^`]+)`")

// readFigures parses every table of SOURCES.md whose header is
// id | value | unit | status | in the demo | source or reasoning.
func readFigures(t *testing.T) map[string]figure {
	t.Helper()
	b, err := os.ReadFile("SOURCES.md")
	if err != nil {
		t.Fatal(err)
	}
	figs := map[string]figure{}
	inTable := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		if len(cells) >= 2 && cells[0] == "id" && cells[1] == "value" {
			if want := []string{"id", "value", "unit", "status", "in the demo", "source or reasoning"}; !slices.Equal(cells, want) {
				t.Fatalf("SOURCES.md:%d: figures table header %q, want %q", n, cells, want)
			}
			inTable = true
			continue
		}
		if !inTable {
			continue
		}
		if len(cells) != 6 {
			t.Fatalf("SOURCES.md:%d: %d cells, want 6", n, len(cells))
		}
		f := figure{id: cells[0], unit: cells[2], status: cells[3], line: n}
		v, err := decimal.NewFromString(cells[1])
		if err != nil {
			t.Fatalf("SOURCES.md:%d: value %q of %s is not a plain number", n, cells[1], f.id)
		}
		f.value = v
		if _, frac, ok := strings.Cut(cells[1], "."); ok {
			f.places = int32(len(frac))
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[4], -1) {
			f.where = append(f.where, m[1])
		}
		if len(f.where) == 0 && cells[4] != "—" {
			t.Errorf("SOURCES.md:%d: %s: 'in the demo' must list `pointers` or be —", n, f.id)
		}
		if !slices.Contains([]string{"sourced", "derived", "illustrative"}, f.status) {
			t.Errorf("SOURCES.md:%d: %s: status %q is not sourced, derived or illustrative", n, f.id, f.status)
		}
		if strings.TrimSpace(cells[5]) == "" {
			t.Errorf("SOURCES.md:%d: %s: no source or reasoning", n, f.id)
		}
		if _, dup := figs[f.id]; dup {
			t.Errorf("SOURCES.md:%d: figure %s listed twice", n, f.id)
		}
		figs[f.id] = f
	}
	if len(figs) == 0 {
		t.Fatal("SOURCES.md has no figures table")
	}
	return figs
}

// numberKeys are the members whose string values are figures (Decimals).
var numberKeys = map[string]bool{"amount": true, "hours": true, "basic": true, "bonus": true, "in_kind": true, "value": true}

// payloadFigures returns every non-zero number in the demo's signed
// payloads, keyed by the reference form SOURCES.md uses: H<n>#<pointer> for
// the n-th hop, A:<ref>#<pointer> and B:<ref>#<pointer> for attestations
// and benchmarks, by their ref in data/chain.json. A benchmark's year is
// its identity, not a figure, and is left out.
func payloadFigures(t *testing.T) map[string]decimal.Decimal {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("data", "chain.json"))
	if err != nil {
		t.Fatal(err)
	}
	var refs struct {
		Attestations []struct{ Ref string } `json:"attestations"`
		Benchmarks   []struct{ Ref string } `json:"benchmarks"`
	}
	if err := json.Unmarshal(raw, &refs); err != nil {
		t.Fatal(err)
	}
	out := map[string]decimal.Decimal{}
	var nh, na, nb int
	for _, s := range statements(t) {
		var prefix string
		switch s.kind {
		case schemas.KindHopRecorded:
			nh++
			prefix = fmt.Sprintf("H%d", nh)
		case schemas.KindAttestationRecorded:
			prefix = "A:" + refs.Attestations[na].Ref
			na++
		case schemas.KindBenchmarkPublished:
			prefix = "B:" + refs.Benchmarks[nb].Ref
			nb++
		default:
			continue
		}
		body, err := s.env.Body()
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var tree any
		if err := dec.Decode(&tree); err != nil {
			t.Fatal(err)
		}
		walkNumbers(t, tree, "", "", func(ptr string, v decimal.Decimal) {
			if !v.IsZero() {
				out[prefix+"#"+ptr] = v
			}
		})
	}
	return out
}

func walkNumbers(t *testing.T, node any, ptr, key string, fn func(string, decimal.Decimal)) {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			walkNumbers(t, v, ptr+"/"+k, k, fn)
		}
	case []any:
		for i, v := range n {
			walkNumbers(t, v, ptr+"/"+strconv.Itoa(i), key, fn)
		}
	case json.Number:
		if key == "year" {
			return
		}
		fn(ptr, decimal.RequireFromString(n.String()))
	case string:
		if numberKeys[key] {
			v, err := decimal.NewFromString(n)
			if err != nil {
				t.Fatalf("%s: %q is not a number", ptr, n)
			}
			fn(ptr, v)
		}
	}
}

// TestSourcesListEveryFigure checks that SOURCES.md and the signed payloads
// agree: every non-zero number in a demo payload is listed by exactly one
// figure, with the same value, and every place a figure names holds it.
func TestSourcesListEveryFigure(t *testing.T) {
	figs := readFigures(t)
	payload := payloadFigures(t)
	claimed := map[string]string{}
	for _, f := range figs {
		for _, w := range f.where {
			if other, dup := claimed[w]; dup {
				t.Errorf("SOURCES.md:%d: %s claims %s, already claimed by %s", f.line, f.id, w, other)
			}
			claimed[w] = f.id
			v, ok := payload[w]
			if !ok {
				t.Errorf("SOURCES.md:%d: %s: %s is not a non-zero figure of the demo payloads", f.line, f.id, w)
				continue
			}
			if !v.Equal(f.value) {
				t.Errorf("SOURCES.md:%d: %s = %s, but %s holds %s", f.line, f.id, f.value, w, v)
			}
		}
	}
	var unlisted []string
	for w, v := range payload {
		if _, ok := claimed[w]; !ok {
			unlisted = append(unlisted, fmt.Sprintf("%s = %s", w, v))
		}
	}
	slices.Sort(unlisted)
	for _, u := range unlisted {
		t.Errorf("SOURCES.md does not list the demo figure %s", u)
	}
}

// TestSourcedFiguresMatchSources checks every figure SOURCES.md calls
// sourced against its source: the reference package's bundled data, or the
// copies of the cobalt fact sheet and the iPad 2010 table in testdata/.
func TestSourcedFiguresMatchSources(t *testing.T) {
	figs := readFigures(t)
	ref, err := reference.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	cobalt := readTestdata(t, "cobalt.md")
	ipad := ipadTable(t)

	// The Kolwezi region as wages.csv writes it.
	const kolwezi = "Kolwezi (Lualaba), DR Congo"
	refFigure := func(f reference.Figure, ok bool, currency string, period reference.Period) func(figure) error {
		return func(fig figure) error {
			switch {
			case !ok:
				return fmt.Errorf("not in the reference data")
			case !f.Amount.Equal(fig.value):
				return fmt.Errorf("reference has %s (%s)", f.Amount, f.Origin)
			case f.Currency != currency || f.Period != period:
				return fmt.Errorf("reference is in %s per %q, want %s per %q", f.Currency, f.Period, currency, period)
			case f.Year != 2023:
				return fmt.Errorf("reference year is %d, want 2023", f.Year)
			}
			return nil
		}
	}
	lwLookup := func(country, region string) (reference.Figure, bool) {
		f, m, ok := ref.LivingWage(country, region, 2023)
		return f, ok && m == reference.MatchRegion
	}
	mwLookup := func(country string) (reference.Figure, bool) {
		f, m, ok := ref.MinimumWage(country, "", 2023)
		return f, ok && m == reference.MatchNational
	}
	text := func(doc, phrase, value string) func(figure) error {
		return func(fig figure) error {
			if !strings.Contains(doc, phrase) {
				return fmt.Errorf("the source copy does not say %q", phrase)
			}
			if !fig.value.Equal(decimal.RequireFromString(value)) {
				return fmt.Errorf("the source says %q, which is %s", phrase, value)
			}
			return nil
		}
	}
	ipadRow := func(activity string, column int) func(figure) error {
		return func(fig figure) error {
			row := ipad[activity]
			if len(row) != 5 {
				return fmt.Errorf("no iPad row %q", activity)
			}
			v, err := decimal.NewFromString(row[column])
			if err != nil || !v.Equal(fig.value) {
				return fmt.Errorf("iPad row %q has %q", activity, row[column])
			}
			return nil
		}
	}

	lwKolwezi, lwKolweziOK := lwLookup("CD", kolwezi)
	checks := map[string]func(figure) error{
		"lw-kolwezi-2023": refFigure(lwKolwezi, lwKolweziOK, "USD", reference.PerMonth),
		// The 2024 update is recorded in the method of the 2023 row.
		"lw-kolwezi-2024": func(fig figure) error {
			if !lwKolweziOK || !strings.Contains(lwKolwezi.Method, "2024 update USD "+fig.value.String()) {
				return fmt.Errorf("the Kolwezi row's method does not give a 2024 update of USD %s: %q", fig.value, lwKolwezi.Method)
			}
			return nil
		},
		"lw-gb-2023": func(fig figure) error {
			f, ok := lwLookup("GB", "United Kingdom outside London")
			return refFigure(f, ok, "GBP", reference.PerHour)(fig)
		},
		"co-per-phone":            text(cobalt, `"about 3 grams, 3 to 4 grams"`, "3"),
		"artisanal-pay-per-day":   text(cobalt, `"commonly earning just $3/day"`, "3"),
		"artisanal-share-lme":     text(cobalt, "artisanal miners get 10% of the London Metal Exchange", "10"),
		"lme-high-2018":           text(cobalt, "US$95,750/t in March 2018", "95750"),
		"lme-low-2025":            text(cobalt, "US$21,550/t in early 2025", "21550"),
		"ipad-retail":             ipadRow("manufacturer's suggested retail price", 3),
		"ipad-wholesale-share":    ipadRow("wholesale price received by Apple", 4),
		"ipad-distribution-share": ipadRow("distribution", 4),
		"ipad-brand-capture":      ipadRow("design/marketing", 3),
		"ipad-assembly-labour":    ipadRow("final assembly", 3),
	}
	for _, c := range []struct{ id, country, currency string }{
		{"cdf", "CD", "CDF"}, {"cny", "CN", "CNY"}, {"krw", "KR", "KRW"}, {"gbp", "GB", "GBP"},
	} {
		f, ok := ref.ExchangeRate(c.country, 2023)
		checks["fx-"+c.id+"-2023"] = refFigure(f, ok, c.currency, "")
	}
	for _, c := range []struct{ country, currency string }{
		{"CD", "CDF"}, {"CN", "CNY"}, {"KR", "KRW"}, {"US", "USD"}, {"GB", "GBP"},
	} {
		f, ok := ref.PPP(c.country, 2023)
		checks["ppp-"+strings.ToLower(c.country)+"-2023"] = refFigure(f, ok, c.currency, "")
	}
	for _, c := range []struct{ country, currency string }{
		{"CD", "CDF"}, {"CN", "CNY"}, {"KR", "KRW"}, {"GB", "GBP"},
	} {
		f, ok := mwLookup(c.country)
		checks["mw-"+strings.ToLower(c.country)+"-2023"] = refFigure(f, ok, c.currency, reference.PerMonth)
	}

	for id, f := range figs {
		if f.status != "sourced" {
			if _, ok := checks[id]; ok {
				t.Errorf("SOURCES.md:%d: %s has a source check but is marked %s", f.line, id, f.status)
			}
			continue
		}
		t.Run(id, func(t *testing.T) {
			check, ok := checks[id]
			if !ok {
				t.Fatalf("SOURCES.md:%d: %s is marked sourced but the test has no check against its source", f.line, id)
			}
			if err := check(f); err != nil {
				t.Errorf("SOURCES.md:%d: %s = %s %s: %v", f.line, id, f.value, f.unit, err)
			}
		})
	}
	for id := range checks {
		if _, ok := figs[id]; !ok {
			t.Errorf("the test checks %s, which SOURCES.md does not list", id)
		}
	}
}

// TestDerivedFigures recomputes every figure SOURCES.md calls derived from
// the figures it is derived from, rounded to the decimals SOURCES.md shows,
// and checks the claims the text makes about the chain.
func TestDerivedFigures(t *testing.T) {
	figs := readFigures(t)
	f := func(id string) decimal.Decimal {
		fig, ok := figs[id]
		if !ok {
			t.Fatalf("SOURCES.md lists no figure %s", id)
		}
		return fig.value
	}
	d := decimal.NewFromInt
	pct := func(id string) decimal.Decimal { return f(id).Div(d(100)) }
	lmePerKg := func() decimal.Decimal { return f("lme-2023").Div(d(1000)) }
	retailUSD := func() decimal.Decimal { return f("h7-price").Div(f("fx-gbp-2023")) }
	h1Days := func() decimal.Decimal {
		return f("h1-digger-workers").Add(f("h1-washer-workers")).Mul(f("h1-days-per-worker"))
	}
	sum := func(ids ...string) decimal.Decimal {
		s := decimal.Zero
		for _, id := range ids {
			s = s.Add(f(id))
		}
		return s
	}

	derivations := map[string]func() decimal.Decimal{
		"cobalt-contained": func() decimal.Decimal { return f("h1-ore-qty").Mul(pct("ore-grade")) },
		"h1-price":         func() decimal.Decimal { return f("cobalt-contained").Mul(lmePerKg()).Mul(pct("artisanal-share-lme")) },
		"h1-digger-hours": func() decimal.Decimal {
			return f("h1-digger-workers").Mul(f("h1-days-per-worker")).Mul(f("artisanal-hours-per-day"))
		},
		"h1-washer-hours": func() decimal.Decimal {
			return f("h1-washer-workers").Mul(f("h1-days-per-worker")).Mul(f("artisanal-hours-per-day"))
		},
		"h1-digger-basic": func() decimal.Decimal {
			return f("h1-digger-workers").Mul(f("h1-days-per-worker")).Mul(f("h1-advance-per-day"))
		},
		"h1-washer-basic": func() decimal.Decimal {
			return f("h1-washer-workers").Mul(f("h1-days-per-worker")).Mul(f("h1-advance-per-day"))
		},
		"h1-surplus": func() decimal.Decimal {
			return f("h1-price").Sub(sum("h1-cost-equipment", "h1-cost-transport", "h1-digger-basic", "h1-washer-basic"))
		},
		"h2-price":      func() decimal.Decimal { return f("cobalt-contained").Mul(lmePerKg()).Mul(pct("negociant-share-lme")) },
		"h3-cobalt-qty": func() decimal.Decimal { return f("cobalt-contained").Mul(pct("refining-recovery")) },
		"h3-price":      func() decimal.Decimal { return f("h3-cobalt-qty").Mul(lmePerKg()) },
		"h4-cells":      func() decimal.Decimal { return f("h3-cobalt-qty").Mul(d(1000)).Div(f("co-per-phone")) },
		"h4-price":      func() decimal.Decimal { return f("h4-cells").Mul(f("h4-cell-price")) },
		"h5-phones":     func() decimal.Decimal { return f("h4-cells").Div(f("cells-per-phone")) },
		"h5-price":      func() decimal.Decimal { return f("h5-phones").Mul(f("h5-phone-price")) },
		"h5-labour-per-phone": func() decimal.Decimal {
			cny := sum("h5-line-basic", "h5-line-bonus", "h5-line-in-kind", "h5-inspector-basic", "h5-inspector-bonus", "h5-inspector-in-kind")
			return cny.Div(f("fx-cny-2023")).Div(f("h5-phones"))
		},
		"h5-line-hours-disputed": func() decimal.Decimal {
			return f("h5-line-hours").Mul(f("h5-shift-disputed")).Div(f("h5-shift-declared"))
		},
		"h6-price": func() decimal.Decimal { return f("h6-phones").Mul(f("h6-phone-price")) },
		"h6-capture-per-phone": func() decimal.Decimal {
			kept := f("h6-price").Sub(f("h6-phones").Mul(f("h5-phone-price"))).
				Sub(sum("h6-cost-transport", "h6-cost-services", "h6-design-basic", "h6-design-bonus", "h6-marketing-basic", "h6-marketing-bonus"))
			return kept.Div(f("h6-phones"))
		},
		"demo-wholesale-share": func() decimal.Decimal { return f("h6-phone-price").Div(retailUSD()).Mul(d(100)) },
		"demo-retail-margin-share": func() decimal.Decimal {
			return retailUSD().Sub(f("h6-phone-price")).Div(retailUSD()).Mul(d(100))
		},
		"demo-factory-share": func() decimal.Decimal { return f("h5-phone-price").Div(retailUSD()).Mul(d(100)) },
		"h8-rider-basic":     func() decimal.Decimal { return f("h8-rider-hours").Mul(f("lw-gb-2023")) },
	}
	for id, fig := range figs {
		if fig.status != "derived" {
			if _, ok := derivations[id]; ok {
				t.Errorf("SOURCES.md:%d: %s has a derivation but is marked %s", fig.line, id, fig.status)
			}
			continue
		}
		t.Run(id, func(t *testing.T) {
			derive, ok := derivations[id]
			if !ok {
				t.Fatalf("SOURCES.md:%d: %s is marked derived but the test does not recompute it", fig.line, id)
			}
			if got := derive().Round(fig.places); !got.Equal(fig.value) {
				t.Errorf("SOURCES.md:%d: %s = %s, but its arithmetic gives %s", fig.line, id, fig.value, got)
			}
		})
	}

	// Claims the text of SOURCES.md makes, which hold the chain to its
	// sources and guides.
	claims := []struct {
		name string
		ok   bool
	}{
		{"the miners' pay with the cooperative's surplus is the CRU day rate",
			sum("h1-digger-basic", "h1-washer-basic", "h1-surplus").Div(h1Days()).Equal(f("artisanal-pay-per-day"))},
		{"the assembler's labour per phone is the iPad's final assembly labour",
			f("h5-labour-per-phone").Equal(f("ipad-assembly-labour"))},
		{"the brand keeps what the iPad table shows Apple capturing",
			f("h6-capture-per-phone").Equal(f("ipad-brand-capture"))},
		{"the wholesale share is within a point of the iPad's",
			f("demo-wholesale-share").Sub(f("ipad-wholesale-share")).Abs().LessThanOrEqual(d(1))},
		{"the retail margin is within a point of the iPad's distribution share",
			f("demo-retail-margin-share").Sub(f("ipad-distribution-share")).Abs().LessThanOrEqual(d(1))},
		{"the factory share is within a point of the iPad's parts and assembly share",
			f("demo-factory-share").Sub(d(100).Sub(f("ipad-distribution-share")).Sub(f("ipad-brand-capture").Div(f("ipad-retail")).Mul(d(100)))).Abs().LessThanOrEqual(d(1))},
		{"the illustrative 2023 LME price lies in the sourced 2018-2025 range",
			f("lme-2023").GreaterThanOrEqual(f("lme-low-2025")) && f("lme-2023").LessThanOrEqual(f("lme-high-2018"))},
		{"the depot loaders' in-kind pay exceeds FEX-1's 30% cap",
			f("h2-loader-in-kind").Div(sum("h2-loader-basic", "h2-loader-in-kind")).GreaterThan(decimal.RequireFromString("0.30"))},
		{"the retail staff are paid below the Real Living Wage",
			sum("h7-sales-basic", "h7-sales-bonus").Div(f("h7-sales-hours")).LessThan(f("lw-gb-2023")) &&
				f("h7-stock-basic").Div(f("h7-stock-hours")).LessThan(f("lw-gb-2023"))},
	}
	for _, c := range claims {
		if !c.ok {
			t.Errorf("claim does not hold: %s", c.name)
		}
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ipadTable reads the rows of the iPad 2010 table by activity: the cells
// characteristic, activity, location, US$, share.
func ipadTable(t *testing.T) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	for _, line := range strings.Split(readTestdata(t, "ipad-2010.md"), "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 5 {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		// Component rows repeat their activity; the demo uses unique ones.
		if _, dup := rows[cells[1]]; dup {
			rows[cells[1]] = nil
			continue
		}
		rows[cells[1]] = cells
	}
	return rows
}
