package events

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ConnectOptions say how to reach a NATS server or cluster.
type ConnectOptions struct {
	// URL of the server; a comma-separated list names several members of a
	// cluster. User and password may be given in the URL
	// (nats://user:pass@host:4222), a token as nats://token@host.
	URL string
	// Creds is a NATS credentials file (JWT and nkey seed), as written by
	// nsc or the NATS CLI.
	Creds string
	// NKey is a file holding an nkey user seed.
	NKey string
	// CA is a PEM file of certificate authorities to trust for the server's
	// certificate; Cert and Key are a client certificate and its key for
	// mutual TLS. Any of them turns TLS on.
	CA, Cert, Key string
	// Name identifies the connection in the server's monitoring.
	Name string
	// Logger receives connection events; nil → slog.Default().
	Logger *slog.Logger
	// ReconnectWait is the pause between reconnect attempts; default 500ms.
	ReconnectWait time.Duration
	// Timeout bounds the first connection attempt; default 5s.
	Timeout time.Duration
}

// Connect opens a NATS connection that reconnects forever: the ingest loop
// and the API outlive a restart of the NATS server or a cluster member.
// The first connection attempt fails fast, so a wrong URL or credential is
// reported at startup rather than retried silently.
func Connect(o ConnectOptions) (*nats.Conn, error) {
	if strings.TrimSpace(o.URL) == "" {
		return nil, fmt.Errorf("%w: no server URL", ErrConnect)
	}
	for _, u := range strings.Split(o.URL, ",") {
		u = strings.TrimSpace(u)
		if !strings.Contains(u, "://") {
			u = "nats://" + u // as nats.go reads a bare host:port
		}
		p, err := url.Parse(u)
		if err != nil || p.Host == "" {
			return nil, fmt.Errorf("%w: server URL %q: want nats://host:port", ErrConnect, redactURL(u))
		}
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "nats")
	opts := []nats.Option{
		nats.Name(cmp.Or(o.Name, "tally")),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(cmp.Or(o.ReconnectWait, 500*time.Millisecond)),
		nats.Timeout(cmp.Or(o.Timeout, 5*time.Second)),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "url", redactURL(nc.ConnectedUrl()))
		}),
		nats.ClosedHandler(func(*nats.Conn) { log.Debug("nats connection closed") }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Error("nats error", "subject", subj, "err", err)
		}),
	}
	for _, f := range []struct{ flag, path string }{{"creds", o.Creds}, {"nkey", o.NKey}, {"ca", o.CA}, {"cert", o.Cert}, {"key", o.Key}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return nil, fmt.Errorf("%w: %s file: %w", ErrConnect, f.flag, err)
		}
	}
	if o.Creds != "" {
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.NKey != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NKey)
		if err != nil {
			return nil, fmt.Errorf("%w: nkey seed %s: %w", ErrConnect, o.NKey, err)
		}
		opts = append(opts, opt)
	}
	if (o.Cert == "") != (o.Key == "") {
		return nil, fmt.Errorf("%w: a client certificate needs both cert and key files", ErrConnect)
	}
	if o.CA != "" {
		opts = append(opts, nats.RootCAs(o.CA))
	}
	if o.Cert != "" {
		opts = append(opts, nats.ClientCert(o.Cert, o.Key))
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrConnect, redactURL(o.URL), err)
	}
	log.Info("nats connected", "url", redactURL(nc.ConnectedUrl()), "server", nc.ConnectedServerName())
	return nc, nil
}

// redactURL hides passwords and tokens in URLs that are logged or shown.
func redactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil || u.User == nil {
			continue
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		} else {
			u.User = url.User("xxxxx")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
