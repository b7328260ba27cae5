package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/tally-ledger/tally/internal/keys"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/verifier"
)

// verifyExitCode is the status main would exit with for err.
func verifyExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// benchEntries returns entries 0…n-1 of the benchmark's generator, as
// Append takes them.
func benchEntries(t testing.TB, g *benchGen, n int) []ledger.Entry {
	t.Helper()
	path := filepath.Join(t.TempDir(), "entries")
	if _, err := g.spill(t.Context(), path, n); err != nil {
		t.Fatal(err)
	}
	sr, err := benchOpenSpill(path, g)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.close()
	es := make([]ledger.Entry, n)
	for i := range es {
		es[i] = sr.entry(i)
	}
	if sr.err != nil {
		t.Fatal(sr.err)
	}
	return es
}

// buildBench writes a ledger of n bench records into dir with the bench
// command itself.
func buildBench(t *testing.T, dir string, n int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "ledger", "--records", fmt.Sprint(n), "--batch", "16", "--runs", "1", "--baseline=false", "--data", dir}
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("bench ledger: %v\n%s", err, stderr.String())
	}
}

func verifyJSON(t *testing.T, args ...string) (map[string]any, error, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), append([]string{"verify", "--json"}, args...), &stdout, &stderr)
	var m map[string]any
	if stdout.Len() > 0 {
		dec := json.NewDecoder(&stdout)
		dec.UseNumber()
		if derr := dec.Decode(&m); derr != nil {
			t.Fatalf("verify --json printed no JSON: %v", derr)
		}
	}
	return m, err, stderr.String()
}

// TestVerifyWhileAppending audits a serve data dir whose ledger another
// goroutine holds open and keeps appending to: verify must not need the
// writer to stop, and each snapshot it takes must be whole.
func TestVerifyWhileAppending(t *testing.T) {
	data := t.TempDir()
	dir := filepath.Join(data, "ledger") // the serve layout
	l, err := ledger.Open(dir, ledger.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Records of 4 KB: the appends fill Pebble's memtable, so flushes (new
	// sstables, a new WAL, a MANIFEST edit) happen while verify copies.
	const batch = 40
	entries := benchEntries(t, newBenchGen(4000), 9000)
	restarts := snapshotRestarts.Load()

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var appendErr error
	appending := make(chan struct{})
	wg.Go(func() {
		defer close(appending)
		for i := 0; i+batch <= len(entries) && ctx.Err() == nil; i += batch {
			if _, _, err := l.Append(ctx, entries[i:i+batch]); err != nil && ctx.Err() == nil {
				appendErr = err
				return
			}
		}
	})

	// Verify again and again until the appends end (at least 3 times).
	var sizes []string
	for n := 0; ; n++ {
		if n >= 3 && verifyIsClosed(appending) {
			break
		}
		m, err, stderr := verifyJSON(t, "--data", data)
		if err != nil {
			t.Fatalf("verify during appends: %v\n%v\n%s", err, m, stderr)
		}
		if m["ok"] != true {
			t.Fatalf("verify during appends: %v", m)
		}
		sizes = append(sizes, fmt.Sprint(m["size"]))
	}
	stop()
	wg.Wait()
	if appendErr != nil {
		t.Fatal(appendErr)
	}
	t.Logf("sizes verified while appending: %s (head now %d); snapshots restarted %d times",
		strings.Join(sizes, ", "), l.Head().Size, snapshotRestarts.Load()-restarts)
	// The snapshots are gone.
	if left, _ := filepath.Glob(filepath.Join(dir, ".tally-verify-*")); len(left) > 0 {
		t.Errorf("snapshots left behind: %v", left)
	}
}

func TestVerifyTampered(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, db *pebble.DB, b *pebble.Batch)
		want   string // in the error
	}{
		{
			name: "chain hash of seq 100",
			change: func(t *testing.T, db *pebble.DB, b *pebble.Batch) {
				v, closer, err := db.Get(keys.Chain(100))
				if err != nil {
					t.Fatal(err)
				}
				v = bytes.Clone(v)
				closer.Close()
				v[3] ^= 0x80
				if err := b.Set(keys.Chain(100), v, nil); err != nil {
					t.Fatal(err)
				}
			},
			want: "first problem: chain seq 100:",
		},
		{
			// The log was folded at Close, in one go: one kind posting,
			// keyed by seq 0, lists all 300 records.
			name: "index entries of seqs 32-47 removed",
			change: func(t *testing.T, db *pebble.DB, b *pebble.Batch) {
				k := keys.Index(schemas.TermKind, []byte(verifier.BenchKind), 0)
				v, closer, err := db.Get(k)
				if err != nil {
					t.Fatal(err)
				}
				var seqs []uint64
				err = keys.Posting(0, v, func(seq uint64) bool {
					if seq < 32 || seq > 47 {
						seqs = append(seqs, seq)
					}
					return true
				})
				closer.Close()
				if err != nil || len(seqs) != 300-16 {
					t.Fatalf("kind posting: %d seqs kept, %v", len(seqs), err)
				}
				if err := b.Set(k, keys.AppendPosting(nil, seqs), nil); err != nil {
					t.Fatal(err)
				}
			},
			want: `first problem: index seq 32 key kind="bench": index entry missing`,
		},
		{
			name: "the head record",
			change: func(t *testing.T, db *pebble.DB, b *pebble.Batch) {
				if err := b.Delete(keys.Record(299), nil); err != nil {
					t.Fatal(err)
				}
			},
			want: "the store is inconsistent: ledger: corrupt: head at size 300",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ledger")
			buildBench(t, dir, 300)
			db, err := pebble.Open(filepath.Join(dir, "pebble"), &pebble.Options{Logger: verifyPebbleSilent{}})
			if err != nil {
				t.Fatal(err)
			}
			b := db.NewBatch()
			tc.change(t, db, b)
			if err := b.Commit(pebble.Sync); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			err = run(t.Context(), []string{"verify", "--data", dir}, &stdout, &stderr)
			if verifyExitCode(err) != 1 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("verify of a tampered ledger: %v (exit %d), want exit 1 and …%s…\n%s", err, verifyExitCode(err), tc.want, stdout.String())
			}
			t.Logf("%v\n%s", err, stdout.String())
		})
	}
}

func TestVerifyPinnedKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ledger")
	buildBench(t, dir, 50)
	pub, err := os.ReadFile(filepath.Join(dir, "log.pub"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the log's key", func(t *testing.T) {
		m, err, stderr := verifyJSON(t, "--data", dir, "--key-file", filepath.Join(dir, "log.pub"))
		if err != nil || m["ok"] != true || m["key"] != "pinned" {
			t.Fatalf("verify with the log's key: %v %v\n%s", err, m, stderr)
		}
		m, err, _ = verifyJSON(t, "--data", dir, "--key", strings.TrimSpace(string(pub)))
		if err != nil || m["ok"] != true {
			t.Fatalf("verify with --key: %v %v", err, m)
		}
	})
	t.Run("another key of the same origin", func(t *testing.T) {
		_, vkey, err := note.GenerateKey(rand.Reader, ledger.DefaultOrigin)
		if err != nil {
			t.Fatal(err)
		}
		m, err, _ := verifyJSON(t, "--data", dir, "--key", vkey)
		if verifyExitCode(err) != 1 || m["ok"] != false || !strings.Contains(err.Error(), "checkpoint size 16: does not verify under the pinned key") {
			t.Fatalf("verify with a foreign key: %v, %v", err, m)
		}
	})
}

func TestVerifyUsage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ledger")
	buildBench(t, dir, 5)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"verify"}, 2},
		{[]string{"verify", "--data", t.TempDir()}, 2},
		{[]string{"verify", "--data", dir, "--key", "not a key"}, 2},
		{[]string{"verify", "--data", dir, "--key", "a", "--key-file", "b"}, 2},
		{[]string{"verify", "--data", dir, "extra"}, 2},
		{[]string{"verify", "--data", dir}, 0},
	} {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), tc.args, &stdout, &stderr)
		if code := verifyExitCode(err); code != tc.code {
			t.Errorf("%q: %v (exit %d), want exit %d", tc.args, err, code, tc.code)
		}
	}
}

func TestVerifyTextReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ledger")
	buildBench(t, dir, 20)
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"verify", "--data", dir}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{": OK\n", "size          20 records", "checkpoints   2 checked", "index         60 entries checked"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, stdout.String())
		}
	}
}

type verifyPebbleSilent struct{}

func (verifyPebbleSilent) Infof(string, ...any)  {}
func (verifyPebbleSilent) Errorf(string, ...any) {}
func (verifyPebbleSilent) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

func verifyIsClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
