package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/tally-ledger/tally/internal/provenance"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/score"
)

// Scores, provenance, lots, the method and the reference figures: the
// routes served when Deps.Provenance is set.
//
//	GET /v1/lots/{id}/score       the chain ending at a lot, per unit of it (score.ChainScore)
//	GET /v1/lots/{id}/provenance  the lot's upstream DAG (provenance.Provenance)
//	GET /v1/hops/{id}/score       one hop (score.HopScore)
//	GET /v1/lots                  lots, paged, filtered by party, country, commodity (LotPage)
//	GET /v1/method                the method's version and parameters (MethodInfo)
//	GET /v1/reference             the reference figures in force (ReferenceFigures)
//
// An unknown lot or hop is a 404 problem. A chain with missing figures is
// no error: its score lists them and takes their worst case.

// TypeUnscorable is the problem type of a chain the ledger holds but the
// method cannot read (its entries break a rule of the method's input).
const TypeUnscorable = "urn:tally:problem:unscorable"

// MethodDoc is where the method is documented, in the project's source.
const MethodDoc = "docs/methodology.md"

func (s *Server) scoreRoutes() {
	if s.deps.Provenance == nil {
		return
	}
	e := s.e
	e.GET("/v1/lots", s.listLots)
	e.GET("/v1/lots/:id/score", s.lotScore)
	e.GET("/v1/lots/:id/provenance", s.lotProvenance)
	e.GET("/v1/hops/:id/score", s.hopScore)
	e.GET("/v1/method", s.method)
	e.GET("/v1/reference", s.referenceFigures)
}

// lotScore answers GET /v1/lots/{id}/score.
func (s *Server) lotScore(c *echo.Context) error {
	cs, err := s.deps.Provenance.LotScore(c.Request().Context(), c.Param("id"))
	if err != nil {
		return readProblem(err, "lot", c.Param("id"))
	}
	return c.JSON(http.StatusOK, cs)
}

// lotProvenance answers GET /v1/lots/{id}/provenance.
func (s *Server) lotProvenance(c *echo.Context) error {
	p, err := s.deps.Provenance.Lot(c.Request().Context(), c.Param("id"))
	if err != nil {
		return readProblem(err, "lot", c.Param("id"))
	}
	return c.JSON(http.StatusOK, p)
}

// hopScore answers GET /v1/hops/{id}/score.
func (s *Server) hopScore(c *echo.Context) error {
	hs, err := s.deps.Provenance.HopScore(c.Request().Context(), c.Param("id"))
	if err != nil {
		return readProblem(err, "hop", c.Param("id"))
	}
	return c.JSON(http.StatusOK, hs)
}

// readProblem maps a provenance or score error onto the answer.
func readProblem(err error, what, id string) error {
	switch {
	case errors.Is(err, provenance.ErrNotFound):
		return NewProblem(http.StatusNotFound, TypeNotFound, fmt.Sprintf("no %s %q on the ledger", what, clip(id)),
			FieldError{Path: "id", In: "path", Rule: "exists", Message: err.Error()})
	case errors.Is(err, score.ErrInvalidChain), errors.Is(err, score.ErrCycle), errors.Is(err, provenance.ErrCorrupt):
		return NewProblem(http.StatusUnprocessableEntity, TypeUnscorable,
			fmt.Sprintf("the chain of %s %q cannot be scored: %v", what, clip(id), err))
	}
	return Internal(err)
}

// LotPage is one page of GET /v1/lots.
type LotPage struct {
	Lots []provenance.LotSummary `json:"lots"`
	// Next is the URL of the following page; absent on the last page. A
	// page may be short, even empty, and still have a next one: each page
	// examines a bounded stretch of the ledger.
	Next string `json:"next,omitempty"`
	// Cursor is the from= of Next.
	Cursor uint64 `json:"cursor,omitempty"`
}

// listLots answers GET /v1/lots?party=&country=&commodity=&from=&limit=.
func (s *Server) listLots(c *echo.Context) error {
	from, err := queryUint(c, "from", 0, 0, ledger.MaxSeq)
	if err != nil {
		return err
	}
	limit, err := queryUint(c, "limit", provenance.DefaultLotLimit, 1, provenance.MaxLotLimit)
	if err != nil {
		return err
	}
	f := provenance.LotFilter{From: from, Limit: int(limit)}
	for _, q := range []struct {
		name string
		to   *string
	}{{"party", &f.Party}, {"country", &f.Country}, {"commodity", &f.Commodity}} {
		if *q.to, err = queryText(c, q.name); err != nil {
			return err
		}
	}
	if f.Country != "" && !isCountryCode(f.Country) {
		return BadQuery("country", "iso3166_1_alpha2", fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 code such as CD", clip(f.Country)))
	}
	lots, next, err := s.deps.Provenance.Lots(c.Request().Context(), f)
	if err != nil {
		return Internal(err)
	}
	page := LotPage{Lots: lots}
	if next != 0 {
		q := url.Values{}
		q.Set("from", strconv.FormatUint(next, 10))
		q.Set("limit", strconv.FormatUint(limit, 10))
		for k, v := range map[string]string{"party": f.Party, "country": f.Country, "commodity": f.Commodity} {
			if v != "" {
				q.Set(k, v)
			}
		}
		page.Next, page.Cursor = "/v1/lots?"+q.Encode(), next
	}
	return c.JSON(http.StatusOK, page)
}

// queryText reads an optional text query parameter, given at most once.
func queryText(c *echo.Context, name string) (string, error) {
	vals := c.QueryParams()[name]
	switch {
	case len(vals) > 1:
		return "", BadQuery(name, "single", "give the parameter once")
	case len(vals) == 0:
		return "", nil
	case len(vals[0]) > 200:
		return "", BadQuery(name, "max", "at most 200 bytes")
	}
	return strings.TrimSpace(vals[0]), nil
}

func isCountryCode(s string) bool {
	if len(s) != 2 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}

// MethodInfo answers GET /v1/method.
type MethodInfo struct {
	// Method is the version scores are computed with.
	Method string `json:"method"`
	// Params are the parameters of the version asked for (by default the
	// current one), as in its parameter file.
	Params score.Params `json:"params"`
	// ParamsFile is that file in the project's source.
	ParamsFile string `json:"params_file"`
	// Versions are every version that can be computed.
	Versions []string `json:"versions"`
	// Documentation is the methodology document in the project's source:
	// every formula, parameter and source.
	Documentation string `json:"documentation"`
}

// method answers GET /v1/method?version=.
func (s *Server) method(c *echo.Context) error {
	version, err := queryText(c, "version")
	if err != nil {
		return err
	}
	if version == "" {
		version = provenance.Method
	}
	p, err := score.Method(version)
	if errors.Is(err, score.ErrUnknownMethod) {
		return NewProblem(http.StatusNotFound, TypeNotFound, fmt.Sprintf("no method version %q (known: %s)", clip(version), strings.Join(score.Methods(), ", ")),
			FieldError{Path: "version", In: "query", Rule: "exists", Message: err.Error()})
	}
	if err != nil {
		return Internal(err)
	}
	return c.JSON(http.StatusOK, MethodInfo{
		Method: provenance.Method, Params: p, ParamsFile: "score/params/" + p.Version + ".json",
		Versions: score.Methods(), Documentation: MethodDoc,
	})
}

// ReferenceFigure is a reference figure in force, with the figures it
// superseded.
type ReferenceFigure struct {
	reference.Figure
	// Superseded are the origins of earlier figures for the same kind,
	// country, region and year, oldest first.
	Superseded []reference.Origin `json:"superseded,omitempty"`
}

// ReferenceFigures answers GET /v1/reference.
type ReferenceFigures struct {
	// LogSize is the ledger position the figures are in force at: the
	// bundled figures and the benchmark.published entries below it.
	LogSize uint64            `json:"log_size"`
	Figures []ReferenceFigure `json:"figures"`
	// Skipped are benchmark.published entries that could not be read as
	// reference figures, with why.
	Skipped []string `json:"skipped,omitempty"`
}

// referenceFigures answers GET /v1/reference?country=&kind=.
func (s *Server) referenceFigures(c *echo.Context) error {
	country, err := queryText(c, "country")
	if err != nil {
		return err
	}
	kind, err := queryText(c, "kind")
	if err != nil {
		return err
	}
	if kind != "" && !validKind(kind) {
		return BadQuery("kind", "oneof", fmt.Sprintf("%q is not one of %v", clip(kind), reference.Kinds()))
	}
	set, size, skipped, err := s.deps.Provenance.Reference(c.Request().Context())
	if err != nil {
		return Internal(err)
	}
	out := ReferenceFigures{LogSize: size, Figures: []ReferenceFigure{}, Skipped: skipped}
	for _, f := range set.Figures() {
		if (country != "" && !strings.EqualFold(f.Country, country)) || (kind != "" && string(f.Kind) != kind) {
			continue
		}
		out.Figures = append(out.Figures, ReferenceFigure{Figure: f, Superseded: set.Superseded(f)})
	}
	return c.JSON(http.StatusOK, out)
}

func validKind(k string) bool {
	for _, x := range reference.Kinds() {
		if string(x) == k {
			return true
		}
	}
	return false
}
