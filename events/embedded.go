package events

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedOptions configure the embedded NATS server.
type EmbeddedOptions struct {
	// Dir is the JetStream store directory (tally serve uses DATA/nats,
	// beside the ledger). Required.
	Dir string
	// Host to listen on; default 127.0.0.1, so the embedded server is not
	// exposed beyond the machine unless asked to be.
	Host string
	// Port to listen on: 0 means NATS's default port 4222, -1 a random free
	// port (tests).
	Port int
	// Name is the server name; default "tally".
	Name string
	// Logger receives the server's log; nil → slog.Default(). Debug and
	// trace lines are produced only when the logger is enabled at those
	// levels.
	Logger *slog.Logger
	// StartTimeout bounds how long StartEmbedded waits for the server to
	// accept connections; default 10s.
	StartTimeout time.Duration
}

// Embedded is a running embedded nats-server with JetStream.
type Embedded struct {
	srv *server.Server
	log *slog.Logger
}

// StartEmbedded starts a nats-server with JetStream in this process and
// waits until it accepts connections.
//
// The server does not install signal handlers (NoSigs): SIGINT and SIGTERM
// belong to tally serve, which stops the ingest loop and closes the ledger
// before it shuts the server down, so Pebble is always closed cleanly.
func StartEmbedded(opts EmbeddedOptions) (*Embedded, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("%w: no store directory", ErrEmbedded)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "nats-server")
	port := opts.Port
	if port == 0 {
		port = server.DEFAULT_PORT
	}
	sopts := &server.Options{
		ServerName: cmp.Or(opts.Name, "tally"),
		Host:       cmp.Or(opts.Host, "127.0.0.1"),
		Port:       port,
		JetStream:  true,
		StoreDir:   opts.Dir,
		NoSigs:     true,
		// Room for a MaxSubmissionBytes envelope plus headers.
		MaxPayload: 2 * MaxSubmissionBytes,
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEmbedded, err)
	}
	ctx := context.Background()
	srv.SetLoggerV2(serverLogger{log}, log.Enabled(ctx, slog.LevelDebug), log.Enabled(ctx, levelTrace), false)
	srv.Start()
	if !srv.ReadyForConnections(cmp.Or(opts.StartTimeout, 10*time.Second)) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("%w: not ready for connections on %s:%d", ErrEmbedded, sopts.Host, port)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("%w: JetStream did not start (store %s)", ErrEmbedded, opts.Dir)
	}
	log.Info("embedded nats server started", "url", srv.ClientURL(), "store", opts.Dir)
	return &Embedded{srv: srv, log: log}, nil
}

// ClientURL is the URL clients connect to, e.g. nats://127.0.0.1:4222.
func (e *Embedded) ClientURL() string { return e.srv.ClientURL() }

// Server is the underlying nats-server, for monitoring and tests.
func (e *Embedded) Server() *server.Server { return e.srv }

// Shutdown stops the server and waits until it has stopped, so its
// JetStream store is flushed and closed when Shutdown returns. It is safe
// to call more than once.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
