package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
)

// Problem types (RFC 9457 "type" members). They are URNs: stable names to
// branch on, not pages to fetch.
const (
	TypeBadRequest  = "urn:tally:problem:bad-request" // malformed JSON or a bad query parameter
	TypeRejected    = "urn:tally:problem:rejected"    // the envelope breaks the ledger's rules
	TypeTooLarge    = "urn:tally:problem:too-large"   // the body exceeds MaxBodyBytes
	TypeNotFound    = "urn:tally:problem:not-found"   // no such entry, proof or route
	TypeBusy        = "urn:tally:problem:busy"        // backpressure: the stream is full
	TypeUnavailable = "urn:tally:problem:unavailable" // NATS (or the ingest) cannot be reached
	TypePending     = "urn:tally:problem:pending"     // accepted, but no receipt in time
	TypeInternal    = "urn:tally:problem:internal"    // a bug or a storage failure
	TypeUnsupported = "urn:tally:problem:unsupported" // wrong method or media type
	TypeNotReady    = "urn:tally:problem:not-ready"   // readiness check failed
	TypeOther       = "about:blank"
)

// FieldError names one field or parameter and the rule it breaks.
type FieldError struct {
	// Path is a JSON Pointer into the body (in "body"), or the name of the
	// parameter (in "query" or "path").
	Path string `json:"path"`
	// In says where Path points: "body", "query" or "path".
	In      string `json:"in,omitempty"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem detail, the body of every error answer
// (media type application/problem+json). Handlers return it as an error.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Digest   string       `json:"digest,omitempty"` // the envelope's, for rejected submissions
	Errors   []FieldError `json:"errors,omitempty"`

	// RetryAfter, if positive, is sent as the Retry-After header (seconds).
	RetryAfter int `json:"-"`
	// cause is logged for 5xx answers, never shown.
	cause error
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
	}
	return fmt.Sprintf("%d %s", p.Status, p.Title)
}

// StatusCode makes Echo's middleware (request logging) see the status.
func (p *Problem) StatusCode() int { return p.Status }

func (p *Problem) Unwrap() error { return p.cause }

// NewProblem makes a problem of the given status and type; title defaults
// to the status text.
func NewProblem(status int, typ, detail string, errs ...FieldError) *Problem {
	return &Problem{Type: typ, Title: http.StatusText(status), Status: status, Detail: detail, Errors: errs}
}

// BadQuery is the 400 problem of a bad query parameter.
func BadQuery(param, rule, message string) *Problem {
	return NewProblem(http.StatusBadRequest, TypeBadRequest, "query parameter "+param+": "+message,
		FieldError{Path: param, In: "query", Rule: rule, Message: message})
}

// Internal is a 500 problem; the cause is logged, not shown.
func Internal(cause error) *Problem {
	p := NewProblem(http.StatusInternalServerError, TypeInternal, "the server failed to answer; the error is logged")
	p.cause = cause
	return p
}

// errorHandler writes every error as application/problem+json.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(c *echo.Context, err error) {
		if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
			return
		}
		p := toProblem(err)
		if p.Instance == "" {
			p.Instance = c.Request().URL.Path
		}
		if p.Status >= 500 && p.cause != nil {
			attrs := []any{"status", p.Status, "path", c.Request().URL.Path, "request_id", requestID(c), "err", p.cause}
			var ps *middleware.PanicStackError
			if errors.As(p.cause, &ps) {
				attrs = append(attrs, "stack", string(ps.Stack))
			}
			log.Error("request failed", attrs...)
		}
		h := c.Response().Header()
		h.Set(echo.HeaderContentType, echo.MIMEApplicationProblemJSON)
		if p.RetryAfter > 0 {
			h.Set(echo.HeaderRetryAfter, strconv.Itoa(p.RetryAfter))
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(p.Status)
			return
		}
		if werr := c.JSON(p.Status, p); werr != nil {
			log.Debug("writing problem", "err", werr)
		}
	}
}

// toProblem turns any error into a problem.
func toProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var ps *middleware.PanicStackError
	if errors.As(err, &ps) {
		return Internal(err)
	}
	switch code := echo.StatusCode(err); code {
	case 0, http.StatusInternalServerError:
		return Internal(err)
	case http.StatusNotFound:
		return NewProblem(code, TypeNotFound, "no such resource")
	case http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		return NewProblem(code, TypeUnsupported, "")
	case http.StatusRequestEntityTooLarge:
		return NewProblem(code, TypeTooLarge, fmt.Sprintf("the body exceeds %d bytes", MaxBodyBytes))
	default:
		typ := TypeOther
		if code == http.StatusBadRequest {
			typ = TypeBadRequest
		}
		return NewProblem(code, typ, "")
	}
}
