// Package ledgerload_test loads the demo chain into a real ledger, twice,
// with the ledger closed and reopened in between, as tally serve --demo does
// across restarts. It lives apart from the demo package's own tests so that
// they do not depend on the ledger.
package ledgerload_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// appendTo submits straight to the ledger's append path: the ledger's own
// deduplication by envelope digest, with admission left out (the admission
// rules are checked against the demo data in the demo package's tests).
func appendTo(l *ledger.Log) demo.SubmitFunc {
	return func(ctx context.Context, env schemas.Envelope) (bool, string, error) {
		d, err := env.Digest()
		if err != nil {
			return false, "", err
		}
		canon, err := env.Canonical()
		if err != nil {
			return false, "", err
		}
		out, _, err := l.Append(ctx, []ledger.Entry{{Digest: d, ReceivedAt: time.Now(), Envelope: canon}})
		if err != nil {
			return false, "", err
		}
		if out[0].Duplicate {
			return true, demo.Duplicate, nil
		}
		return true, "", nil
	}
}

func TestLoadIsIdempotentAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	envs, err := demo.Envelopes()
	if err != nil {
		t.Fatal(err)
	}
	n := len(envs)

	l, err := ledger.Open(dir, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := demo.Load(t.Context(), appendTo(l))
	if err != nil {
		t.Fatal(err)
	}
	if first.Submitted != n || first.New != n || first.Duplicates != 0 {
		t.Errorf("first load: %+v, want %d new", first, n)
	}
	head := l.Head()
	if head.Size != uint64(n) {
		t.Errorf("log size %d after the first load, want %d", head.Size, n)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart: a new process opens the same store and loads the demo again.
	l, err = ledger.Open(dir, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	second, err := demo.Load(t.Context(), appendTo(l))
	if err != nil {
		t.Fatal(err)
	}
	if second.Submitted != n || second.New != 0 || second.Duplicates != n {
		t.Errorf("second load: %+v, want %d duplicates and nothing new", second, n)
	}
	if got := l.Head(); got != head {
		t.Errorf("the second load moved the head from %+v to %+v", head, got)
	}
	for i := range envs {
		rec, err := l.Get(uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		want, err := envs[i].Canonical()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec.Envelope, want) {
			t.Errorf("record %d holds another envelope than demo statement %d", i, i)
		}
	}
}
