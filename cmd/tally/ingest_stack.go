package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/ledger"
)

// ingestStack is the write path of a ledger as tally serve runs it: the
// ledger in DATA/ledger, a NATS server (embedded, storing in DATA/nats,
// unless an external URL is given), a connection to it, and the ingest loop
// feeding the admission processor. tally serve and tally bench ingest build
// it the same way; Run starts the loop, Close takes everything down.
type ingestStack struct {
	Log      *ledger.Log
	Embedded *events.Embedded // nil with an external server
	URL      string           // where the NATS server listens
	Conn     *nats.Conn
	Proc     *events.AdmissionProcessor
	Ingester *events.Ingester
}

// ingestStackOptions say where and how to build an ingestStack.
type ingestStackOptions struct {
	// Data is the data directory: the ledger in Data/ledger, the embedded
	// NATS store in Data/nats.
	Data string
	// Origin of a new log; empty: serveDefaultOrigin for a new log, an
	// existing log keeps its own.
	Origin string
	// NATS is the external server (and its credentials); an empty URL
	// starts the embedded server on NATSPort (-1: a random free port).
	NATS     natsFlags
	NATSPort int
	// ConnName names the connection in the server's monitoring.
	ConnName string
	// Ingest configures the ingest loop (durable name, stream replicas,
	// metrics). Its Logger defaults to Logger.
	Ingest events.IngestOptions
	Logger *slog.Logger
}

// openIngestStack opens the ledger, starts or reaches NATS, replays the
// log into the admission state and prepares the ingest loop. On error
// nothing is left open.
func openIngestStack(ctx context.Context, o ingestStackOptions) (_ *ingestStack, err error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &ingestStack{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	ledgerDir := filepath.Join(o.Data, "ledger")
	if err := os.MkdirAll(ledgerDir, 0o755); err != nil {
		return nil, err
	}
	origin := o.Origin
	if origin == "" && !serveExists(filepath.Join(ledgerDir, "log.key")) {
		origin = serveDefaultOrigin
	}
	if s.Log, err = ledger.Open(ledgerDir, ledger.Options{Origin: origin, Logger: log}); err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	s.URL = o.NATS.url
	if s.URL == "" {
		if s.Embedded, err = events.StartEmbedded(events.EmbeddedOptions{Dir: filepath.Join(o.Data, "nats"), Port: o.NATSPort, Logger: log}); err != nil {
			return nil, err
		}
		s.URL = s.Embedded.ClientURL()
	}
	if s.Conn, err = o.NATS.connect(s.URL, o.ConnName, log); err != nil {
		return nil, err
	}
	// Admission replays the log once (verifier.LoadState) and then judges
	// every batch against it: signatures, keys, parties, lots.
	if s.Proc, err = events.NewAdmissionProcessor(ctx, s.Log); err != nil {
		return nil, err
	}
	io := o.Ingest
	if io.Logger == nil {
		io.Logger = log
	}
	if s.Ingester, err = events.NewIngester(s.Conn, s.Proc, io); err != nil {
		return nil, err
	}
	return s, nil
}

// Run runs the ingest loop until ctx ends (events.Ingester.Run).
func (s *ingestStack) Run(ctx context.Context) error { return s.Ingester.Run(ctx) }

// Close closes the connection, the ledger and then the embedded server.
// Stop the ingest loop first: the ledger must not be closed under it.
func (s *ingestStack) Close() error {
	var errs []error
	if s.Conn != nil {
		_ = s.Conn.FlushTimeout(2 * time.Second) // best effort: outcomes are stored in JetStream already
		s.Conn.Close()
	}
	if s.Log != nil {
		if err := s.Log.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close ledger: %w", err))
		}
	}
	if s.Embedded != nil {
		s.Embedded.Shutdown()
	}
	return errors.Join(errs...)
}
