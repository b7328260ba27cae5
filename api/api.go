// Package api is Tally's HTTP API, served with Echo v5: submissions (which
// travel the same NATS JetStream path as every other submission), entries,
// checkpoints and proofs read from the ledger, FEX scores, provenance,
// lots, the method and its reference figures (score.go), health and
// metrics.
//
// Every error is an RFC 9457 problem (application/problem+json) that names
// the field or parameter at fault and the rule it breaks. Routes are listed
// in routes.go; a feature adds its handlers in its own file and one line
// there.
package api

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/internal/provenance"
	"github.com/tally-ledger/tally/ledger"
)

// MaxBodyBytes is the largest request body accepted (1 MiB); larger bodies
// are answered 413. An envelope must in addition meet the vocabulary's own
// size limits (schemas.MaxEnvelopeSize of canonical JSON), or it is
// rejected (422).
const MaxBodyBytes = 1 << 20

// ReadyCheck is one condition of readiness (GET /readyz).
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Deps are what the API serves from.
type Deps struct {
	// Log is the ledger read by the entry, checkpoint and proof routes.
	// Required.
	Log *ledger.Log
	// Publisher carries submissions to the ingest stream and waits for
	// their receipts (client.NATS over the server's connection). nil:
	// POST /v1/submissions answers 503.
	Publisher client.Submitter
	// Logger; nil → slog.Default().
	Logger *slog.Logger
	// Registry is served at /metrics; nil → prometheus.DefaultGatherer.
	Registry prometheus.Gatherer
	// Ready are the readiness conditions beyond the ledger being open (for
	// tally serve: NATS connected, ingest consumer running).
	Ready []ReadyCheck
	// SubmitTimeout bounds the wait for a receipt; default 30s.
	SubmitTimeout time.Duration
	// Provenance reads lots, provenance and scores from Log. nil: the
	// score, provenance, lot, method and reference routes (score.go) are
	// not served.
	Provenance *provenance.Reader
}

// Server is the HTTP API.
type Server struct {
	e    *echo.Echo
	deps Deps
	log  *slog.Logger
}

// New builds the API and registers its routes.
func New(deps Deps) *Server {
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.DefaultGatherer
	}
	deps.SubmitTimeout = cmp.Or(deps.SubmitTimeout, 30*time.Second)
	e := echo.NewWithConfig(echo.Config{
		Logger:           log,
		HTTPErrorHandler: errorHandler(log),
	})
	s := &Server{e: e, deps: deps, log: log}
	s.middleware()
	s.routes()
	s.scoreRoutes()
	return s
}

// Echo is the underlying Echo instance, for adding routes before serving.
func (s *Server) Echo() *echo.Echo { return s.e }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.e.ServeHTTP(w, r) }

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// it stops accepting connections and waits (up to 10s) for requests in
// flight, including submissions waiting for their receipts.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	sc := echo.StartConfig{
		Listener:        ln,
		HideBanner:      true,
		HidePort:        true,
		GracefulTimeout: 10 * time.Second,
		BeforeServeFunc: func(hs *http.Server) error {
			hs.ReadHeaderTimeout = 10 * time.Second
			hs.IdleTimeout = 2 * time.Minute
			return nil
		},
	}
	if err := sc.Start(ctx, s.e); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
