package ledger_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/tally-ledger/tally/ledger"
)

// testEnvelope returns a canonical DSSE-shaped envelope for event i, about
// 420 bytes, so that its record is about 500 bytes.
func testEnvelope(i int) []byte {
	event := fmt.Sprintf(`{"buyer":"trader-%d","kind":"sale","lot":"lot-%08d","occurred_at":"2025-01-01T00:00:00Z","price":{"amount":"%d.50","currency":"USD"},"quantity":"12.5","seller":"miner-coop-%d","unit":"kg"}`, i%13, i, 1000+i%977, i%7)
	payload := base64.StdEncoding.EncodeToString([]byte(event))
	sum := sha256.Sum256([]byte(event))
	sig := base64.StdEncoding.EncodeToString(append(sum[:], sum[:]...))
	return fmt.Appendf(nil, `{"payload":"%s","payloadType":"application/vnd.tally.hop.recorded.v1+json","signatures":[{"keyid":"miner-coop-%d#k1","sig":"%s"}]}`, payload, i%7, sig)
}

// testEntry is entry i of a synthetic log: unique digest, two index keys.
func testEntry(i int) ledger.Entry {
	env := testEnvelope(i)
	return ledger.Entry{
		Digest:     sha256.Sum256(env),
		ReceivedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * 1500 * time.Microsecond),
		Envelope:   env,
		Index: []ledger.IndexKey{
			{Name: "party", Key: fmt.Appendf(nil, "miner-coop-%d", i%7)},
			{Name: "lot", Key: fmt.Appendf(nil, "lot-%08d", i)},
		},
	}
}

func testEntries(from, n int) []ledger.Entry {
	es := make([]ledger.Entry, n)
	for i := range es {
		es[i] = testEntry(from + i)
	}
	return es
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// memOptions are Options for a log in memory.
func memOptions(fs vfs.FS) ledger.Options {
	return ledger.Options{FS: fs, Logger: quietLogger(), CacheSize: 8 << 20}
}

// openMem opens a new log on an in-memory file system.
func openMem(t testing.TB) (*ledger.Log, vfs.FS) {
	t.Helper()
	fs := vfs.NewMem()
	return reopen(t, fs), fs
}

// reopen opens the log in fs (dir "log") and closes it at the end of the test
// unless the test closed it.
func reopen(t testing.TB, fs vfs.FS) *ledger.Log {
	t.Helper()
	l, err := ledger.Open("log", memOptions(fs))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// mustAppend appends entries and fails the test on error.
func mustAppend(t testing.TB, l *ledger.Log, entries []ledger.Entry) ([]ledger.Appended, ledger.Checkpoint) {
	t.Helper()
	out, cp, err := l.Append(t.Context(), entries)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return out, cp
}

// appendN appends n test entries starting at from in batches of batch.
func appendN(t testing.TB, l *ledger.Log, from, n, batch int) {
	t.Helper()
	for i := from; i < from+n; i += batch {
		mustAppend(t, l, testEntries(i, min(batch, from+n-i)))
	}
}
