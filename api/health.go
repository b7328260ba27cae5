package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tally-ledger/tally/ledger"
)

// healthz answers 200 while the process serves HTTP at all (liveness).
func (s *Server) healthz(c *echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the ledger is open and every ReadyCheck passes
// (for tally serve: NATS connected, ingest consumer running), else 503 with
// the failing checks.
func (s *Server) readyz(c *echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := append([]ReadyCheck{{Name: "ledger", Check: s.ledgerOpen}}, s.deps.Ready...)
	status := map[string]string{}
	var failed []string
	for _, ch := range checks {
		if err := ch.Check(ctx); err != nil {
			status[ch.Name] = err.Error()
			failed = append(failed, ch.Name+": "+err.Error())
			continue
		}
		status[ch.Name] = "ok"
	}
	if len(failed) > 0 {
		p := NewProblem(http.StatusServiceUnavailable, TypeNotReady, "not ready: "+strings.Join(failed, "; "))
		p.RetryAfter = 1
		return p
	}
	return c.JSON(http.StatusOK, status)
}

// ledgerOpen fails once the ledger is closed.
func (s *Server) ledgerOpen(context.Context) error {
	if s.deps.Log == nil {
		return errors.New("no ledger")
	}
	if _, err := s.deps.Log.Checkpoint(); err != nil && !errors.Is(err, ledger.ErrNotFound) {
		return err
	}
	return nil
}

// metrics serves the Prometheus registry.
func (s *Server) metrics() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{
		ErrorLog: slogPrinter{s},
	}))
}

// slogPrinter adapts promhttp's error log to slog.
type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) {
	p.s.log.Error("serving metrics", "err", fmt.Sprint(v...))
}
