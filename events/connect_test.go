package events_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tally-ledger/tally/events"
)

func TestConnectRefusesBadOptions(t *testing.T) {
	dir := t.TempDir()
	pem := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(pem, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.creds")
	cases := []struct {
		name string
		o    events.ConnectOptions
		want string // in the error
	}{
		{"no URL", events.ConnectOptions{}, "no server URL"},
		{"bad URL", events.ConnectOptions{URL: "nats://"}, "want nats://host:port"},
		{"password hidden", events.ConnectOptions{URL: "nats://u:hunter2@"}, "xxxxx"},
		{"missing creds file", events.ConnectOptions{URL: "nats://127.0.0.1:1", Creds: missing}, "creds file"},
		{"cert without key", events.ConnectOptions{URL: "nats://127.0.0.1:1", Cert: pem}, "both cert and key"},
		{"unreachable", events.ConnectOptions{URL: "127.0.0.1:1"}, "127.0.0.1:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.o.Logger = testLogger()
			nc, err := events.Connect(c.o)
			if err == nil {
				nc.Close()
				t.Fatal("connected")
			}
			if !errors.Is(err, events.ErrConnect) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want ErrConnect mentioning %q", err, c.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}
