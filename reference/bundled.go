package reference

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/shopspring/decimal"
)

// The bundled data, copied as published with a source and year on every row.
// SOURCES.md says what was taken from each source; GAPS.md lists what could
// not be found and is therefore missing on purpose.
//
//go:embed data/countries.csv data/wages.csv data/SOURCES.md data/GAPS.md data/README.md
var dataFS embed.FS

// Bundled file names, as they appear in a bundled figure's Origin.
const (
	CountriesFile = "countries.csv"
	WagesFile     = "wages.csv"
)

// The series of the exchange rates in countries.csv (its README and
// SOURCES.md name it; the file has no column for it).
const fxSeries = "PA.NUS.FCRF (official exchange rate, LCU per US$, period average)"

var countriesHeader = []string{"country", "year_ppp", "ppp_private_consumption_lcu_per_intl_usd", "ppp_series", "ppp_source", "year_fx", "fx_lcu_per_usd", "fx_source", "currency"}

var wagesHeader = []string{"country", "region", "year", "currency", "kind", "period", "amount", "method", "source"}

// notFound is how countries.csv marks a value no source had; such a cell
// stays missing.
const notFound = "NOT FOUND"

var bundled struct {
	once sync.Once
	set  *Set
	err  error
}

// Bundled returns the figures bundled with the program. The files are parsed
// once; the Set is shared and immutable.
func Bundled() (*Set, error) {
	bundled.once.Do(func() {
		figs, cur, err := parseBundled()
		if err != nil {
			bundled.err = err
			return
		}
		s, err := build(figs, nil)
		if err != nil {
			bundled.err = fmt.Errorf("%w: %w", ErrBundledData, err)
			return
		}
		s.currency = cur
		bundled.set = s
	})
	return bundled.set, bundled.err
}

// DataFile returns one of the bundled files by name (countries.csv,
// wages.csv, SOURCES.md, GAPS.md, README.md), for export and citation.
func DataFile(name string) ([]byte, error) {
	return dataFS.ReadFile("data/" + name)
}

func parseBundled() ([]Figure, map[string]string, error) {
	cb, err := dataFS.ReadFile("data/" + CountriesFile)
	if err != nil {
		return nil, nil, err
	}
	figs, cur, err := parseCountries(cb)
	if err != nil {
		return nil, nil, err
	}
	wb, err := dataFS.ReadFile("data/" + WagesFile)
	if err != nil {
		return nil, nil, err
	}
	wf, err := parseWages(wb)
	if err != nil {
		return nil, nil, err
	}
	return append(figs, wf...), cur, nil
}

// readCSV returns the data rows with their line numbers, after checking the
// header.
func readCSV(file string, b []byte, header []string) ([][]string, []int, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = len(header)
	var rows [][]string
	var lines []int
	for first := true; ; first = false {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrBundledData, file, err)
		}
		if first {
			if !slices.Equal(rec, header) {
				return nil, nil, fmt.Errorf("%w: %s: header is %v, want %v", ErrBundledData, file, rec, header)
			}
			continue
		}
		line, _ := r.FieldPos(0)
		rows = append(rows, rec)
		lines = append(lines, line)
	}
	return rows, lines, nil
}

func parseCountries(b []byte) ([]Figure, map[string]string, error) {
	rows, lines, err := readCSV(CountriesFile, b, countriesHeader)
	if err != nil {
		return nil, nil, err
	}
	var figs []Figure
	cur := map[string]string{}
	for i, rec := range rows {
		at := BundledRow(CountriesFile, lines[i])
		bad := func(err error) error { return fmt.Errorf("%w: %s: %w", ErrBundledData, at, err) }
		country, currency := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[8])
		if !isAlpha(country, 2) || !isAlpha(currency, 3) {
			return nil, nil, bad(fmt.Errorf("country %q / currency %q: not ISO codes", country, currency))
		}
		if _, dup := cur[country]; dup {
			return nil, nil, bad(fmt.Errorf("country %s appears twice", country))
		}
		cur[country] = currency
		for _, c := range []struct {
			kind                         Kind
			year, amount, series, source string
		}{
			{KindPPP, rec[1], rec[2], rec[3], rec[4]},
			{KindExchangeRate, rec[5], rec[6], fxSeries, rec[7]},
		} {
			if strings.TrimSpace(c.amount) == "" {
				// A gap is kept only when the row says no source had it.
				if !strings.HasPrefix(strings.TrimSpace(c.source), notFound) {
					return nil, nil, bad(fmt.Errorf("%s: empty value without a %q source note", c.kind, notFound))
				}
				continue
			}
			f, err := figure(c.kind, country, "", c.year, currency, "", c.amount, c.series, c.source, at)
			if err != nil {
				return nil, nil, bad(err)
			}
			figs = append(figs, f)
		}
	}
	return figs, cur, nil
}

func parseWages(b []byte) ([]Figure, error) {
	rows, lines, err := readCSV(WagesFile, b, wagesHeader)
	if err != nil {
		return nil, err
	}
	figs := make([]Figure, 0, len(rows))
	for i, rec := range rows {
		at := BundledRow(WagesFile, lines[i])
		f, err := figure(Kind(rec[4]), rec[0], rec[1], rec[2], rec[3], Period(rec[5]), rec[6], rec[7], rec[8], at)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBundledData, at, err)
		}
		figs = append(figs, f)
	}
	return figs, nil
}

func figure(kind Kind, country, region, year, currency string, period Period, amount, method, source string, at Origin) (Figure, error) {
	y, err := strconv.Atoi(strings.TrimSpace(year))
	if err != nil {
		return Figure{}, fmt.Errorf("%w: year: %q is not a year", ErrInvalidFigure, year)
	}
	a, err := decimal.NewFromString(strings.TrimSpace(amount))
	if err != nil {
		return Figure{}, fmt.Errorf("%w: amount: %q is not a decimal number", ErrInvalidFigure, amount)
	}
	f := Figure{
		Kind:     kind,
		Country:  strings.TrimSpace(country),
		Region:   strings.TrimSpace(region),
		Year:     y,
		Currency: strings.TrimSpace(currency),
		Period:   period,
		Amount:   a,
		Method:   strings.TrimSpace(method),
		Source:   strings.TrimSpace(source),
		Origin:   at,
	}
	return f, f.Validate()
}
