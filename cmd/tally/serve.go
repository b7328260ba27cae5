package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tally-ledger/tally/api"
	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/internal/provenance"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/schemas"
)

func init() {
	register(command{name: "serve", summary: "run the ledger: NATS ingest and the HTTP API", run: runServe})
}

// serveDefaultOrigin is the checkpoint origin of a log created by tally serve.
const serveDefaultOrigin = "tally.local/log"

// natsFlags are the flags that say how to reach an external NATS server.
type natsFlags struct {
	url, creds, nkey, ca, cert, key string
}

func (n *natsFlags) add(fs *flag.FlagSet, urlHelp string) {
	fs.StringVar(&n.url, "nats", "", urlHelp)
	fs.StringVar(&n.creds, "nats-creds", "", "NATS credentials `file` (JWT and nkey seed)")
	fs.StringVar(&n.nkey, "nats-nkey", "", "NATS nkey seed `file`")
	fs.StringVar(&n.ca, "nats-ca", "", "PEM `file` of CAs to trust for the NATS server's TLS certificate")
	fs.StringVar(&n.cert, "nats-cert", "", "client TLS certificate `file` for NATS (with --nats-key)")
	fs.StringVar(&n.key, "nats-key", "", "client TLS key `file` for NATS (with --nats-cert)")
}

func (n *natsFlags) connect(url, name string, log *slog.Logger) (*nats.Conn, error) {
	return events.Connect(events.ConnectOptions{
		URL: url, Creds: n.creds, NKey: n.nkey, CA: n.ca, Cert: n.cert, Key: n.key,
		Name: name, Logger: log,
	})
}

// cmdUsageError marks a bad command line (exit code 2).
func cmdUsageError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &exitError{code: 2, err: err}
}

func serveLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tally serve [flags]")
		fmt.Fprintln(stderr, "\nServes the ledger in DATA/ledger: submissions over NATS JetStream (an embedded")
		fmt.Fprintln(stderr, "server storing in DATA/nats unless --nats names one) and the HTTP API.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	data := fs.String("data", "./data", "data `dir`ectory (ledger in DIR/ledger, embedded NATS store in DIR/nats)")
	httpAddr := fs.String("http", "127.0.0.1:8080", "HTTP API listen `address`")
	natsPort := fs.Int("nats-port", 4222, "port of the embedded NATS server on 127.0.0.1 (-1: a random free port)")
	origin := fs.String("origin", "", "checkpoint origin of a new log (default "+serveDefaultOrigin+"; an existing log keeps its own)")
	durable := fs.String("durable", events.DefaultDurable, "name of the ingest consumer (one per ledger replica)")
	replicas := fs.Int("nats-replicas", 1, "replicas of the streams in a JetStream cluster")
	loadDemo := fs.Bool("demo", false, "load the demo chain")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn, error")
	var nf natsFlags
	nf.add(fs, "external NATS server `URL`(s), comma-separated for a cluster (user:password@ allowed); default: embedded server")
	if err := fs.Parse(args); err != nil {
		return cmdUsageError(err)
	}
	if fs.NArg() > 0 {
		return cmdUsageError(fmt.Errorf("serve: unexpected arguments %q", fs.Args()))
	}
	lvl, err := serveLogLevel(*level)
	if err != nil {
		return cmdUsageError(fmt.Errorf("serve: --log-level: %w", err))
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	// Shutdown runs in reverse: HTTP first (its submissions still get
	// their receipts), then the ingest loop (it finishes its batch), and
	// last the stack: the NATS connection, the ledger (Pebble closed
	// cleanly) and the embedded NATS server.
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	metrics := events.NewMetrics(reg)
	st, err := openIngestStack(ctx, ingestStackOptions{
		Data: *data, Origin: *origin, NATS: nf, NATSPort: *natsPort,
		ConnName: "tally-serve", Logger: log,
		Ingest: events.IngestOptions{Durable: *durable, Streams: events.StreamOptions{Replicas: *replicas}, Metrics: metrics},
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing", "err", err)
		}
	}()
	l, nc, ing, url := st.Log, st.Conn, st.Ingester, st.URL
	ledgerDir := filepath.Join(*data, "ledger")
	natsWhere := "external"
	if st.Embedded != nil {
		natsWhere = "embedded, store " + filepath.Join(*data, "nats")
	}
	reg.MustRegister(events.NewPebbleCollector(l.Metrics))

	bundled, err := reference.Bundled()
	if err != nil {
		return fmt.Errorf("serve: reference figures: %w", err)
	}
	srv := api.New(api.Deps{
		Log:        l,
		Provenance: provenance.New(l, bundled),
		Publisher:  &client.NATS{Conn: nc},
		Logger:     log,
		Registry:   reg,
		Ready: []api.ReadyCheck{
			{Name: "nats", Check: func(context.Context) error {
				if !nc.IsConnected() {
					return fmt.Errorf("connection %s", strings.ToLower(nc.Status().String()))
				}
				return nil
			}},
			{Name: "ingest", Check: func(context.Context) error {
				if !ing.Running() {
					return errors.New("consumer not running")
				}
				return nil
			}},
		},
	})
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("serve: HTTP: %w", err)
	}

	base := "http://" + ln.Addr().String()
	head := l.Head()
	fmt.Fprintf(stdout, "tally serving\n")
	fmt.Fprintf(stdout, "  HTTP API      %s  (/v1/entries, /v1/checkpoint, /v1/proofs/…, /v1/lots, /v1/method, /v1/reference, POST /v1/submissions)\n", base)
	fmt.Fprintf(stdout, "  health        %s/healthz  %s/readyz  metrics %s/metrics\n", base, base, base)
	fmt.Fprintf(stdout, "  NATS          %s  (%s; submit on %s<kind>)\n", serveRedact(url), natsWhere, events.SubjectSubmitPrefix)
	fmt.Fprintf(stdout, "  ledger        %s  (origin %s, %d entries)\n", ledgerDir, l.Origin(), head.Size)
	fmt.Fprintf(stdout, "  verifier key  %s\n", l.VerifierKey())
	ingestCtx, stopIngest := context.WithCancel(context.WithoutCancel(ctx))
	defer stopIngest()
	ingestDone := make(chan error, 1)
	go func() { ingestDone <- ing.Run(ingestCtx) }()
	httpCtx, stopHTTP := context.WithCancel(ctx)
	defer stopHTTP()
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(httpCtx, ln) }()

	if *loadDemo {
		// The demo goes in through the submission path a producer uses:
		// published to the stream, admitted by the ingest loop, answered
		// with receipts. Loading again after a restart finds every
		// statement already logged and adds nothing.
		sum, err := demo.Load(ctx, serveDemoSubmit(&client.NATS{Conn: nc}))
		if err != nil {
			stopHTTP()
			stopIngest()
			<-httpDone
			<-ingestDone
			return fmt.Errorf("serve: loading the demo: %w", err)
		}
		fmt.Fprintf(stdout, "  demo          %d statements (%d new, %d already logged)\n", sum.Submitted, sum.New, sum.Duplicates)
		fmt.Fprintf(stdout, "                final lot %s: %s/v1/lots/%s/score  provenance %s/v1/lots/%s/provenance\n", sum.FinalLot, base, sum.FinalLot, base, sum.FinalLot)
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-ingestDone:
		ingestDone <- err
		runErr = fmt.Errorf("serve: ingest: %w", err)
	case err := <-httpDone:
		httpDone <- err
		runErr = fmt.Errorf("serve: HTTP: %w", err)
	}
	stopHTTP()
	if err := <-httpDone; err != nil && runErr == nil {
		runErr = fmt.Errorf("serve: HTTP: %w", err)
	}
	stopIngest()
	select {
	case err := <-ingestDone:
		if err != nil && runErr == nil {
			runErr = fmt.Errorf("serve: ingest: %w", err)
		}
	case <-time.After(30 * time.Second):
		log.Error("ingest loop did not stop within 30s")
	}
	log.Info("closing the ledger and NATS")
	return runErr
}

func serveExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// redact hides a password in a URL shown to people.
func serveRedact(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "…@" + u[i+1:]
		}
	}
	return u
}

// serveDemoSubmit submits a demo statement over NATS and waits for its
// receipt, in the terms demo.Load asks for.
func serveDemoSubmit(sub *client.NATS) demo.SubmitFunc {
	return func(ctx context.Context, env schemas.Envelope) (bool, string, error) {
		r, err := sub.Submit(ctx, env)
		var rej *client.RejectedError
		switch {
		case errors.As(err, &rej):
			reasons := make([]string, len(rej.Rejection.Reasons))
			for i, rs := range rej.Rejection.Reasons {
				reasons[i] = fmt.Sprintf("%s: %s (%s)", rs.Path, rs.Message, rs.Rule)
			}
			return false, strings.Join(reasons, "; "), nil
		case err != nil:
			return false, "", err
		case r.Duplicate:
			return true, demo.Duplicate, nil
		}
		return true, "", nil
	}
}
