package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/reference"
)

// methodologyDoc is the method's documentation, relative to this package.
const methodologyDoc = "../docs/methodology.md"

// TestWorkedExample checks the worked example of docs/methodology.md
// (section 13, the demo chain) against the API: the demo's statements go
// through POST /v1/submissions and the admission rules into a real ledger,
// and every figure of the example's checked tables is compared with the
// answer of the route the table names.
//
// A checked table is preceded by a comment
//
//	<!-- check: PATH [SELECTOR] [complete] | COLUMN | COLUMN | … -->
//
// PATH is a GET route and SELECTOR picks one object of its answer for each
// row; in both, $n stands for the text of the row's n-th cell. There is one
// COLUMN per column of the table: a path from the selected object to the
// figure the column holds, "-" for a column that is not checked (a key or a
// label), or, in a table of one figure per row, "@" for the column that
// names the figure's path and "=" for the column that holds it. A path is
// field names joined by dots; a name followed by [k=v,…] picks the one
// element of a list whose fields k read v. "complete" asks that the rows
// name every element of the list the selector's last [..] picks from.
//
// A number in a checked cell must equal the API's figure rounded (half away
// from zero) to as many decimals as the cell shows; "—" stands for
// null; any other text must equal the API's text.
func TestWorkedExample(t *testing.T) {
	b, err := os.ReadFile(methodologyDoc)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := checkedTables(section(string(b), "## 13."))
	if err != nil {
		t.Fatalf("%s: %v", methodologyDoc, err)
	}
	if len(tables) == 0 {
		t.Fatalf("%s: section 13 has no checked table", methodologyDoc)
	}

	s, _ := admittedStack(t)
	envs, err := demo.Envelopes()
	if err != nil {
		t.Fatal(err)
	}
	s.submit(t, envs...)

	answers := map[string]any{}
	get := func(path string) any {
		if v, ok := answers[path]; ok {
			return v
		}
		a := s.do(t, http.MethodGet, path, nil)
		if a.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, a.status, a.body)
		}
		dec := json.NewDecoder(bytes.NewReader(a.body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		answers[path] = v
		return v
	}

	cells := 0
	for _, tb := range tables {
		seen := map[int]bool{}
		listLen := -1
		for _, row := range tb.rows {
			where := fmt.Sprintf("%s line %d", methodologyDoc, row.line)
			path, sel := subst(tb.path, row.cells), subst(tb.selector, row.cells)
			obj, last, err := walk(get(path), sel)
			if err != nil {
				t.Errorf("%s: %s %s: %v", where, path, sel, err)
				continue
			}
			if tb.complete {
				seen[last.index], listLen = true, last.n
			}
			var figure string
			for i, col := range tb.cols {
				switch col {
				case "-", "=":
					continue
				case "@":
					figure = row.cells[i]
					continue
				}
				cells++
				if err := check(obj, col, row.cells[i]); err != nil {
					t.Errorf("%s: %s %s: %v", where, path, sel, err)
				}
			}
			if figure != "" {
				cells++
				if err := check(obj, figure, row.cells[tb.valueCol]); err != nil {
					t.Errorf("%s: %s: %v", where, path, err)
				}
			}
		}
		if tb.complete && len(seen) != listLen {
			t.Errorf("%s line %d: the table names %d of the %d elements its selector picks from", methodologyDoc, tb.line, len(seen), listLen)
		}
	}
	t.Logf("%d figures in %d tables checked", cells, len(tables))
}

// section returns the part of a markdown document from the line that
// begins with heading to the next heading of the same level.
func section(doc, heading string) string {
	i := strings.Index(doc, "\n"+heading)
	if i < 0 {
		return ""
	}
	rest := doc[i+1:]
	if j := strings.Index(rest[1:], "\n## "); j >= 0 {
		rest = rest[:j+2]
	}
	// Keep the line numbers of the whole document.
	return strings.Repeat("\n", strings.Count(doc[:i+1], "\n")) + rest
}

// checkedTable is a table of the document with its check comment.
type checkedTable struct {
	line           int
	path, selector string
	complete       bool
	cols           []string
	valueCol       int // the "=" column, if any
	rows           []tableRow
}

type tableRow struct {
	line  int
	cells []string
}

var checkComment = regexp.MustCompile(`^<!-- check: (.*) -->$`)

// checkedTables finds every table preceded by a check comment.
func checkedTables(text string) ([]checkedTable, error) {
	lines := strings.Split(text, "\n")
	var out []checkedTable
	for i := 0; i < len(lines); i++ {
		m := checkComment.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			continue
		}
		parts := strings.Split(m[1], "|")
		head := strings.Fields(parts[0])
		if len(head) == 0 || len(head) > 3 || !strings.HasPrefix(head[0], "/v1/") {
			return nil, fmt.Errorf("line %d: want \"check: PATH [SELECTOR] [complete] | COLUMN …\"", i+1)
		}
		tb := checkedTable{line: i + 1, path: head[0], valueCol: -1}
		for _, h := range head[1:] {
			if h == "complete" {
				tb.complete = true
			} else {
				tb.selector = h
			}
		}
		if tb.complete && !strings.HasSuffix(tb.selector, "]") {
			return nil, fmt.Errorf("line %d: complete needs a selector that ends in [..]", i+1)
		}
		at := 0
		for j, c := range parts[1:] {
			c = strings.TrimSpace(c)
			tb.cols = append(tb.cols, c)
			switch c {
			case "@":
				at++
			case "=":
				tb.valueCol = j
			}
		}
		if (at == 1) != (tb.valueCol >= 0) || at > 1 {
			return nil, fmt.Errorf("line %d: a table of one figure per row needs one \"@\" and one \"=\" column", i+1)
		}
		if i+2 >= len(lines) || !strings.HasPrefix(lines[i+1], "|") || !strings.HasPrefix(lines[i+2], "|---") {
			return nil, fmt.Errorf("line %d: the check comment is not followed by a table", i+1)
		}
		if n := len(cellsOf(lines[i+1])); n != len(tb.cols) {
			return nil, fmt.Errorf("line %d: the table has %d columns, the check comment names %d", i+2, n, len(tb.cols))
		}
		for i += 3; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
			cells := cellsOf(lines[i])
			if len(cells) != len(tb.cols) {
				return nil, fmt.Errorf("line %d: %d cells, want %d", i+1, len(cells), len(tb.cols))
			}
			tb.rows = append(tb.rows, tableRow{line: i + 1, cells: cells})
		}
		if len(tb.rows) == 0 {
			return nil, fmt.Errorf("line %d: the checked table has no rows", tb.line)
		}
		out = append(out, tb)
	}
	return out, nil
}

// cellsOf splits a table row into its cells, without the code and bold
// marks around them.
func cellsOf(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	cells := strings.Split(line, "|")
	for i, c := range cells {
		c = strings.TrimSpace(c)
		c = strings.Trim(c, "*`")
		cells[i] = c
	}
	return cells
}

var cellRef = regexp.MustCompile(`\$([0-9]+)`)

// subst replaces $n with the row's n-th cell.
func subst(s string, cells []string) string {
	return cellRef.ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.Atoi(m[1:])
		if n < 1 || n > len(cells) {
			return m
		}
		return cells[n-1]
	})
}

// picked is the list the last [..] of a path picked from: its length and
// the index of the element picked.
type picked struct{ n, index int }

// walk follows a path (see TestWorkedExample) from v.
func walk(v any, path string) (any, picked, error) {
	last := picked{n: -1, index: -1}
	if path == "" {
		return v, last, nil
	}
	for _, seg := range segments(path) {
		name, filter, hasFilter := strings.Cut(seg, "[")
		if name != "" && v != nil { // a field of an absent object is absent
			m, ok := v.(map[string]any)
			if !ok {
				return nil, last, fmt.Errorf("%s: not an object", name)
			}
			v = m[name]
		}
		if !hasFilter {
			continue
		}
		list, ok := v.([]any)
		if !ok {
			return nil, last, fmt.Errorf("%s: not a list", seg)
		}
		filter = strings.TrimSuffix(filter, "]")
		found := -1
		for i, e := range list {
			match := true
			for _, cond := range strings.Split(filter, ",") {
				k, want, _ := strings.Cut(cond, "=")
				got, _, err := walk(e, k)
				if err != nil || textOf(got) != want {
					match = false
					break
				}
			}
			if match {
				if found >= 0 {
					return nil, last, fmt.Errorf("[%s]: more than one element matches", filter)
				}
				found = i
			}
		}
		if found < 0 {
			return nil, last, fmt.Errorf("[%s]: no element matches", filter)
		}
		v, last = list[found], picked{n: len(list), index: found}
	}
	return v, last, nil
}

// segments splits a path at the dots outside brackets.
func segments(path string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range path {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case '.':
			if depth == 0 {
				out = append(out, path[start:i])
				start = i + 1
			}
		}
	}
	return append(out, path[start:])
}

// textOf is a JSON value as the document writes it: null as "—", money as
// its amount, a reference figure's origin as "file:row" or "ledger:seq".
func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		if _, ok := x["from"]; ok {
			b, _ := json.Marshal(x)
			var o reference.Origin
			if err := json.Unmarshal(b, &o); err == nil {
				return o.String()
			}
		}
		if a, ok := x["amount"]; ok {
			return textOf(a)
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var plainNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

var errMismatch = errors.New("the document and the API differ")

// check compares the figure at path in obj with a cell of the document.
func check(obj any, path, cell string) error {
	v, _, err := walk(obj, path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	got := textOf(v)
	if !plainNumber.MatchString(cell) || v == nil {
		if got != cell {
			return fmt.Errorf("%w: %s: document %q, API %q", errMismatch, path, cell, got)
		}
		return nil
	}
	want := decimal.RequireFromString(cell)
	api, err := decimal.NewFromString(got)
	if err != nil {
		return fmt.Errorf("%w: %s: document %s, API %q is not a number", errMismatch, path, cell, got)
	}
	places := int32(0)
	if _, frac, ok := strings.Cut(cell, "."); ok {
		places = int32(len(frac))
	}
	if !api.Round(places).Equal(want) {
		return fmt.Errorf("%w: %s: document %s, API %s (rounded to %d places: %s)", errMismatch, path, cell, got, places, api.Round(places))
	}
	return nil
}
