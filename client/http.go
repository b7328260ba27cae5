package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tally-ledger/tally/schemas"
)

// HTTP submits through a ledger's HTTP API (POST /v1/submissions).
type HTTP struct {
	// BaseURL of the ledger, e.g. http://127.0.0.1:8080.
	BaseURL string
	// Client; nil → http.DefaultClient.
	Client *http.Client
}

var _ Submitter = (*HTTP)(nil)

// SubmitHTTP submits env to the ledger at baseURL and waits for its receipt.
func SubmitHTTP(ctx context.Context, baseURL string, env schemas.Envelope) (*Receipt, error) {
	return (&HTTP{BaseURL: baseURL}).Submit(ctx, env)
}

// Problem is an RFC 9457 problem document as the API writes it.
type Problem struct {
	Type     string   `json:"type"`
	Title    string   `json:"title"`
	Status   int      `json:"status"`
	Detail   string   `json:"detail,omitempty"`
	Instance string   `json:"instance,omitempty"`
	Digest   string   `json:"digest,omitempty"`
	Errors   []Reason `json:"errors,omitempty"`
}

// Submit posts env and maps the answer: 201 and 200 (a repeated envelope,
// Duplicate set) return the receipt; 422 a *RejectedError; 503 ErrBusy or
// ErrUnavailable; 413 ErrTooLarge; anything else ErrInvalid with the
// problem's detail.
func (h *HTTP) Submit(ctx context.Context, env schemas.Envelope) (*Receipt, error) {
	body, err := env.Canonical()
	if err != nil {
		return nil, fmt.Errorf("%w: envelope: %w", ErrInvalid, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(h.BaseURL, "/")+"/v1/submissions", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, application/problem+json")
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: reading answer: %w", ErrUnavailable, err)
	}
	if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
		var r Receipt
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("%w: receipt: %w", ErrInvalid, err)
		}
		return &r, nil
	}
	var p Problem
	if err := json.Unmarshal(data, &p); err != nil || p.Status == 0 {
		p = Problem{Status: resp.StatusCode, Title: resp.Status, Detail: strings.TrimSpace(string(data))}
	}
	return nil, problemError(p)
}

// ProblemError is an error answer of the API. It wraps the sentinel
// matching its status.
type ProblemError struct {
	Problem Problem
	kind    error
}

func (e *ProblemError) Error() string {
	msg := fmt.Sprintf("%d %s", e.Problem.Status, e.Problem.Title)
	if e.Problem.Detail != "" {
		msg += ": " + e.Problem.Detail
	}
	for _, r := range e.Problem.Errors {
		msg += fmt.Sprintf("; %s: %s (%s)", r.Path, r.Message, r.Rule)
	}
	return msg
}

func (e *ProblemError) Unwrap() error { return e.kind }

func problemError(p Problem) error {
	switch p.Status {
	case http.StatusUnprocessableEntity:
		return &RejectedError{Rejection: Rejection{Digest: p.Digest, Reasons: p.Errors}}
	case http.StatusServiceUnavailable:
		if strings.HasSuffix(p.Type, ":busy") {
			return &ProblemError{Problem: p, kind: ErrBusy}
		}
		if strings.HasSuffix(p.Type, ":pending") {
			return &ProblemError{Problem: p, kind: ErrTimeout}
		}
		return &ProblemError{Problem: p, kind: ErrUnavailable}
	case http.StatusRequestEntityTooLarge:
		return &ProblemError{Problem: p, kind: ErrTooLarge}
	case http.StatusGatewayTimeout:
		return &ProblemError{Problem: p, kind: ErrTimeout}
	}
	return &ProblemError{Problem: p, kind: ErrInvalid}
}

// IsRetryable reports whether a Submit error may go away on its own, so
// that submitting the same envelope again later makes sense.
func IsRetryable(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrBusy) || errors.Is(err, ErrTimeout)
}
