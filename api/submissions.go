package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/events"
)

// retryAfterSeconds is the Retry-After of 503 answers to submissions.
const retryAfterSeconds = 5

// postSubmission accepts a DSSE envelope, carries it through the ingest
// stream like any other submission and answers with the outcome:
//
//	201 receipt            newly committed
//	200 receipt            already in the log (receipt.duplicate)
//	400 problem            not JSON, or not a JSON object
//	413 problem            body over MaxBodyBytes, or envelope over the vocabulary's limit
//	422 problem            the envelope breaks a rule (errors[] say which field and rule)
//	503 problem            NATS unreachable, stream full, or no receipt in time (Retry-After)
//
// The envelope's structure is checked here, before publishing, because
// its digest (which the receipt is awaited under) exists only for a
// well-formed envelope; the full admission rules run in the ingest loop.
func (s *Server) postSubmission(c *echo.Context) error {
	r := c.Request()
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(fmt.Sprintf("the body exceeds %d bytes", MaxBodyBytes))
		}
		return NewProblem(http.StatusBadRequest, TypeBadRequest, "reading the body: "+err.Error())
	}
	if p := malformedJSON(body); p != nil {
		return p
	}
	d, reasons := events.Decode(body)
	if reasons != nil {
		for _, rs := range reasons {
			if rs.Rule == events.RuleSize || rs.Rule == "max_size" {
				return tooLarge(rs.Message)
			}
		}
		p := NewProblem(http.StatusUnprocessableEntity, TypeRejected, "the envelope is malformed", bodyErrors(reasons)...)
		return p
	}
	if s.deps.Publisher == nil {
		return unavailable(TypeUnavailable, "submissions are not accepted here: no NATS connection is configured")
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.deps.SubmitTimeout)
	defer cancel()
	receipt, err := s.deps.Publisher.Submit(ctx, d.Envelope)
	if err != nil {
		return submitProblem(err, fmt.Sprintf("%x", d.Digest))
	}
	status := http.StatusCreated
	if receipt.Duplicate {
		status = http.StatusOK
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/entries/"+strconv.FormatUint(receipt.Seq, 10))
	return c.JSON(status, receipt)
}

// malformedJSON is the 400 problem of a body that is not one JSON object.
func malformedJSON(body []byte) *Problem {
	dec := json.NewDecoder(bytes.NewReader(body))
	var v any
	if err := dec.Decode(&v); err != nil {
		msg := err.Error()
		var se *json.SyntaxError
		if errors.As(err, &se) {
			msg = fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
		} else if errors.Is(err, io.EOF) {
			msg = "the body is empty"
		}
		return NewProblem(http.StatusBadRequest, TypeBadRequest, "the body is not JSON: "+msg,
			FieldError{Path: "", In: "body", Rule: "json", Message: msg})
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return NewProblem(http.StatusBadRequest, TypeBadRequest, "the body holds more than one JSON value",
			FieldError{Path: "", In: "body", Rule: "json", Message: "data after the first JSON value"})
	}
	if _, ok := v.(map[string]any); !ok {
		return NewProblem(http.StatusBadRequest, TypeBadRequest, "the body must be a DSSE envelope object",
			FieldError{Path: "", In: "body", Rule: "json", Message: "expected a JSON object {payload, payloadType, signatures}"})
	}
	return nil
}

func bodyErrors(rs []events.Reason) []FieldError {
	out := make([]FieldError, len(rs))
	for i, r := range rs {
		out[i] = FieldError{Path: r.Path, In: "body", Rule: r.Rule, Message: r.Message}
	}
	return out
}

func tooLarge(detail string) *Problem {
	return NewProblem(http.StatusRequestEntityTooLarge, TypeTooLarge, detail,
		FieldError{Path: "", In: "body", Rule: "max_size", Message: detail})
}

func unavailable(typ, detail string) *Problem {
	p := NewProblem(http.StatusServiceUnavailable, typ, detail)
	p.RetryAfter = retryAfterSeconds
	return p
}

// submitProblem maps a Publisher error onto the answer.
func submitProblem(err error, digest string) error {
	var rej *client.RejectedError
	switch {
	case errors.As(err, &rej):
		errs := make([]FieldError, len(rej.Rejection.Reasons))
		for i, r := range rej.Rejection.Reasons {
			errs[i] = FieldError{Path: r.Path, In: "body", Rule: r.Rule, Message: r.Message}
		}
		p := NewProblem(http.StatusUnprocessableEntity, TypeRejected, "the ledger did not admit the envelope", errs...)
		p.Digest = digest
		return p
	case errors.Is(err, client.ErrBusy):
		return unavailable(TypeBusy, "the ledger is busy (its ingest stream is full); try again later")
	case errors.Is(err, client.ErrTimeout):
		p := unavailable(TypePending, err.Error())
		p.Digest = digest
		return p
	case errors.Is(err, client.ErrUnavailable):
		return unavailable(TypeUnavailable, "the ledger's message bus is unreachable; try again later")
	case errors.Is(err, client.ErrTooLarge):
		return tooLarge(err.Error())
	case errors.Is(err, context.Canceled):
		// The client went away; nothing useful can be sent.
		return &Problem{Type: TypeOther, Title: "Client Closed Request", Status: 499, Detail: "request cancelled"}
	}
	return Internal(err)
}
