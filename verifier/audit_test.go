package verifier_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/verifier"
)

// benchKey signs the test entries; a fixed seed keeps them reproducible.
// It and quiet are shared by every test file of the package.
var benchKey = ed25519.NewKeyFromSeed([]byte("tally verifier test signing key!"))

var quiet = slog.New(slog.DiscardHandler)

// auditEntry returns test entry i: a signed bench envelope whose party cycles
// through 7 values and whose lot changes every 4 records, so neighbouring
// records carry different index keys.
func auditEntry(t testing.TB, i int) ledger.Entry {
	t.Helper()
	env, err := verifier.NewBenchEnvelope(benchKey, "bench-test", verifier.BenchPayload{
		Lot:   fmt.Sprintf("lot-%d", i/4),
		N:     uint64(i),
		Pad:   "xxxxxxxx",
		Party: fmt.Sprintf("party-%d", i%7),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	d, err := env.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ix, err := verifier.EnvelopeIndex(env)
	if err != nil {
		t.Fatal(err)
	}
	return ledger.Entry{
		Digest:     d,
		ReceivedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond),
		Envelope:   b,
		Index:      ix,
	}
}

// buildAuditLog appends entries 0…n-1 to the log in dir in Appends of batch
// entries, re-appending the previous batch each time (duplicates add
// nothing), and returns the number of checkpoints written.
func buildAuditLog(t testing.TB, dir string, n, batch int) int {
	t.Helper()
	return buildAuditLogWith(t, dir, n, batch, ledger.Options{})
}

// buildAuditLogWith is buildAuditLog with Options (their Logger is set).
func buildAuditLogWith(t testing.TB, dir string, n, batch int, opts ledger.Options) int {
	t.Helper()
	opts.Logger = quiet
	l, err := ledger.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cps := 0
	for i := 0; i < n; i += batch {
		var es []ledger.Entry
		for j := max(0, i-batch); j < min(i+batch, n); j++ {
			es = append(es, auditEntry(t, j))
		}
		if _, _, err := l.Append(t.Context(), es); err != nil {
			t.Fatal(err)
		}
		cps++
	}
	if got := l.Head().Size; got != uint64(n) {
		t.Fatalf("built a log of %d records, want %d", got, n)
	}
	return cps
}

func openAuditLog(t testing.TB, dir string) *ledger.Log {
	t.Helper()
	l, err := ledger.Open(dir, ledger.Options{ReadOnly: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestAuditSoundLog(t *testing.T) {
	for _, tc := range []struct{ n, batch int }{
		{0, 1}, {1, 1}, {2, 1}, {3, 2}, {64, 64}, {255, 16}, {256, 17}, {300, 256},
	} {
		t.Run(fmt.Sprintf("n=%d/batch=%d", tc.n, tc.batch), func(t *testing.T) {
			dir := t.TempDir()
			cps := buildAuditLog(t, dir, tc.n, tc.batch)
			l := openAuditLog(t, dir)
			var last [2]uint64
			rep, err := verifier.Audit(t.Context(), l, verifier.AuditOptions{
				Progress: func(done, total uint64) { last = [2]uint64{done, total} },
			})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() {
				t.Fatalf("sound log failed the audit: %v", rep.Problems)
			}
			head := l.Head()
			want := verifier.Report{
				Origin:        ledger.DefaultOrigin,
				Size:          uint64(tc.n),
				Root:          head.Root,
				Chain:         head.Chain,
				TreeHashes:    uint64(tlog.StoredHashCount(int64(tc.n))),
				ChainHashes:   uint64(tc.n),
				Checkpoints:   uint64(cps),
				DedupeEntries: uint64(tc.n),
				IndexEntries:  uint64(3 * tc.n), // kind, party, lot
			}
			rep.Seconds = 0
			if diff := cmp.Diff(want, rep); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			if tc.n > 0 && last != [2]uint64{uint64(tc.n), uint64(tc.n)} {
				t.Errorf("last progress %v, want done = total = %d", last, tc.n)
			}
			if empty, _ := tlog.TreeHash(0, nil); tc.n == 0 && rep.Root != empty {
				t.Errorf("root of the empty log %s, want %s", rep.Root, empty)
			}
		})
	}
}

func TestAuditPinnedKey(t *testing.T) {
	dir := t.TempDir()
	buildAuditLog(t, dir, 40, 16) // checkpoints at 16, 32, 40
	l := openAuditLog(t, dir)

	otherKey := func(origin string) note.Verifier {
		_, vkey, err := note.GenerateKey(rand.Reader, origin)
		if err != nil {
			t.Fatal(err)
		}
		v, err := note.NewVerifier(vkey)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name     string
		v        note.Verifier
		wantSize *uint64
		wantWhat string
		wantN    int
	}{
		{"same origin, another key", otherKey(ledger.DefaultOrigin), auditPtr(uint64(16)), "does not verify under the pinned key", 3},
		{"another origin", otherKey("other.example/log"), nil, `the pinned key is for origin "other.example/log"`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := verifier.Audit(t.Context(), l, verifier.AuditOptions{Verifier: tc.v})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Problems) != tc.wantN {
				t.Fatalf("%d problems, want %d: %v", len(rep.Problems), tc.wantN, rep.Problems)
			}
			p := rep.Problems[0]
			if p.Table != verifier.TableCheckpoint || !cmp.Equal(p.Size, tc.wantSize) || !strings.Contains(p.What, tc.wantWhat) {
				t.Errorf("first problem %v, want checkpoint size %v: …%s…", p, auditDeref(tc.wantSize), tc.wantWhat)
			}
		})
	}
	t.Run("the log's own key, pinned", func(t *testing.T) {
		v, err := note.NewVerifier(l.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		rep, err := verifier.Audit(t.Context(), l, verifier.AuditOptions{Verifier: v})
		if err != nil || !rep.OK() {
			t.Fatalf("audit with the pinned log key: %v, %v", err, rep.Problems)
		}
	})
}

func TestAuditCustomIndex(t *testing.T) {
	dir := t.TempDir()
	buildAuditLog(t, dir, 30, 8)
	l := openAuditLog(t, dir)
	// An index rule that wants one more key for records from 11 on than the
	// writer wrote: the audit must name record 11 as the first without it.
	rep, err := verifier.Audit(t.Context(), l, verifier.AuditOptions{
		Index: func(rec ledger.Record) ([]ledger.IndexKey, error) {
			ks, err := verifier.DomainIndex(rec)
			if rec.Seq >= 11 {
				ks = append(ks, ledger.IndexKey{Name: "extra", Key: []byte("x")})
			}
			return ks, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 19 {
		t.Fatalf("%d problems, want 19 (records 11…29): %v", len(rep.Problems), rep.Problems)
	}
	want := verifier.Problem{Table: verifier.TableIndex, Seq: auditPtr(uint64(11)), Key: `extra="x"`, What: "index entry missing"}
	if diff := cmp.Diff(want, rep.Problems[0]); diff != "" {
		t.Errorf("first problem (-want +got):\n%s", diff)
	}
}

func TestAuditLogChanged(t *testing.T) {
	dir := t.TempDir()
	l, err := ledger.Open(dir, ledger.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var es []ledger.Entry
	for i := range 1100 {
		es = append(es, auditEntry(t, i))
	}
	if _, _, err := l.Append(t.Context(), es[:1000]); err != nil {
		t.Fatal(err)
	}
	appended := false
	_, err = verifier.Audit(t.Context(), l, verifier.AuditOptions{
		Progress: func(done, total uint64) {
			if !appended {
				appended = true
				if _, _, err := l.Append(context.Background(), es[1000:]); err != nil {
					t.Error(err)
				}
			}
		},
	})
	if !errors.Is(err, verifier.ErrLogChanged) {
		t.Fatalf("audit during an append: error %v, want ErrLogChanged", err)
	}
}

func TestAuditCancelled(t *testing.T) {
	dir := t.TempDir()
	buildAuditLog(t, dir, 2000, 500)
	l := openAuditLog(t, dir)
	ctx, cancel := context.WithCancel(t.Context())
	_, err := verifier.Audit(ctx, l, verifier.AuditOptions{
		Progress: func(done, total uint64) { cancel() },
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled audit: error %v, want context.Canceled", err)
	}
	// The audit released the log: it closes without waiting forever.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestProblemString(t *testing.T) {
	for _, tc := range []struct {
		p    verifier.Problem
		want string
	}{
		{verifier.Problem{Table: "chain", Seq: auditPtr(uint64(41)), What: "chain hash missing"}, "chain seq 41: chain hash missing"},
		{verifier.Problem{Table: "tree", Seq: auditPtr(uint64(7)), TreeIndex: auditPtr(int64(14)), What: "x"}, "tree seq 7 tree index 14: x"},
		{verifier.Problem{Table: "checkpoint", Size: auditPtr(uint64(16)), What: "y"}, "checkpoint size 16: y"},
		{verifier.Problem{Table: "index", Seq: auditPtr(uint64(3)), Key: `party="a"`, What: "z"}, `index seq 3 key party="a": z`},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func auditPtr[T any](v T) *T { return &v }

func auditDeref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
