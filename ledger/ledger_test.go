package ledger_test

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/tally-ledger/tally/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestOpenEmpty(t *testing.T) {
	l, _ := openMem(t)
	emptyRoot, _ := tlog.TreeHash(0, nil)
	if want := (ledger.Head{Root: emptyRoot}); l.Head() != want {
		t.Errorf("Head() = %+v, want %+v", l.Head(), want)
	}
	if l.Origin() != ledger.DefaultOrigin {
		t.Errorf("Origin() = %q, want %q", l.Origin(), ledger.DefaultOrigin)
	}
	if _, err := l.Get(0); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Get(0) on empty log = %v, want ErrNotFound", err)
	}
	if _, err := l.CheckpointAt(0); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("CheckpointAt(0) = %v, want ErrNotFound (the empty checkpoint is not stored)", err)
	}
}

func TestReopenRestoresHead(t *testing.T) {
	l, fs := openMem(t)
	appendN(t, l, 0, 37, 10)
	head := l.Head()
	cp, _ := l.Checkpoint()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := reopen(t, fs)
	if l2.Head() != head {
		t.Errorf("head after reopen %+v, want %+v", l2.Head(), head)
	}
	cp2, err := l2.Checkpoint()
	if err != nil || string(cp2.Note) != string(cp.Note) {
		t.Errorf("checkpoint after reopen differs (%v)", err)
	}
	if l2.VerifierKey() != l.VerifierKey() {
		t.Error("reopen made a new key")
	}
	// The reopened log continues the same tree and chain.
	out, _ := mustAppend(t, l2, testEntries(37, 3))
	if out[0].Seq != 37 || out[0].Chain != wantChain(head.Chain, out[0].Leaf) {
		t.Errorf("first append after reopen: %+v", out[0])
	}
}

func TestReadOnly(t *testing.T) {
	l, fs := openMem(t)
	appendN(t, l, 0, 12, 5)
	head := l.Head()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	opts := memOptions(fs)
	opts.ReadOnly = true
	ro, err := ledger.Open("log", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if ro.Head() != head {
		t.Errorf("read-only head %+v, want %+v", ro.Head(), head)
	}
	if _, _, err := ro.Append(t.Context(), testEntries(100, 1)); !errors.Is(err, ledger.ErrReadOnly) {
		t.Errorf("Append on read-only log = %v, want ErrReadOnly", err)
	}
	if _, err := ro.Get(11); err != nil {
		t.Errorf("Get on read-only log: %v", err)
	}
}

func TestReadOnlyWithoutPrivateKey(t *testing.T) {
	l, fs := openMem(t)
	appendN(t, l, 0, 3, 3)
	vkey := l.VerifierKey()
	l.Close()
	if err := fs.Remove("log/log.key"); err != nil {
		t.Fatal(err)
	}
	opts := memOptions(fs)
	opts.ReadOnly = true
	ro, err := ledger.Open("log", opts)
	if err != nil {
		t.Fatalf("read-only open with only log.pub: %v", err)
	}
	defer ro.Close()
	if ro.VerifierKey() != vkey {
		t.Errorf("verifier key %q, want %q", ro.VerifierKey(), vkey)
	}
	cp, err := ro.Checkpoint()
	if err != nil || cp.Size != 3 {
		t.Errorf("Checkpoint() = %d, %v", cp.Size, err)
	}
	if _, _, err := ro.Append(t.Context(), testEntries(10, 1)); !errors.Is(err, ledger.ErrReadOnly) {
		t.Errorf("Append = %v, want ErrReadOnly", err)
	}
}

func TestReadOnlyMissingStore(t *testing.T) {
	opts := memOptions(vfs.NewMem())
	opts.ReadOnly = true
	if _, err := ledger.Open("nothing", opts); err == nil {
		t.Fatal("read-only Open of a missing log succeeded")
	}
}

func TestOriginMismatch(t *testing.T) {
	l, fs := openMem(t)
	l.Close()
	opts := memOptions(fs)
	opts.Origin = "other.example/log"
	if _, err := ledger.Open("log", opts); !errors.Is(err, ledger.ErrInvalid) {
		t.Fatalf("Open with a different origin = %v, want ErrInvalid", err)
	}
	opts.Origin = ledger.DefaultOrigin
	l2, err := ledger.Open("log", opts)
	if err != nil {
		t.Fatalf("Open with the key's origin: %v", err)
	}
	l2.Close()
}

func TestCustomOrigin(t *testing.T) {
	opts := memOptions(vfs.NewMem())
	opts.Origin = "ledger.tally.example/eu-1"
	l, err := ledger.Open("log", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, cp := mustAppend(t, l, testEntries(0, 2))
	if l.Origin() != opts.Origin || l.Verifier().Name() != opts.Origin {
		t.Errorf("origin %q / key name %q, want %q", l.Origin(), l.Verifier().Name(), opts.Origin)
	}
	want := opts.Origin + "\n2\n"
	if got := string(cp.Note[:len(want)]); got != want {
		t.Errorf("checkpoint starts %q, want %q", got, want)
	}
}

func TestOptionsSigner(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "signer.example/log")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	fs := vfs.NewMem()
	opts := memOptions(fs)
	opts.Signer = signer

	if _, err := ledger.Open("log", opts); !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("Signer without a verifier key: %v, want ErrInvalid", err)
	}

	_, otherV, _ := note.GenerateKey(rand.Reader, "signer.example/log")
	opts.VerifierKey = otherV
	if _, err := ledger.Open("log", opts); !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("Signer with someone else's verifier key: %v, want ErrInvalid", err)
	}

	opts.VerifierKey = vkey
	l, err := ledger.Open("log", opts)
	if err != nil {
		t.Fatal(err)
	}
	_, cp := mustAppend(t, l, testEntries(0, 1))
	v, _ := note.NewVerifier(vkey)
	if _, err := ledger.ParseCheckpoint(cp.Note, v); err != nil {
		t.Errorf("checkpoint does not verify with the given key: %v", err)
	}
	if l.Origin() != "signer.example/log" {
		t.Errorf("Origin() = %q", l.Origin())
	}
	l.Close()
	if _, err := fs.Stat("log/log.key"); err == nil {
		t.Error("a log with Options.Signer wrote log.key")
	}
	// log.pub was written, so the signer alone suffices from now on.
	opts.VerifierKey = ""
	l, err = ledger.Open("log", opts)
	if err != nil {
		t.Fatalf("reopen with Signer and log.pub: %v", err)
	}
	l.Close()
}

func TestClosed(t *testing.T) {
	l, _ := openMem(t)
	appendN(t, l, 0, 2, 2)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	checks := map[string]error{
		"Get":            func() error { _, err := l.Get(0); return err }(),
		"Append":         func() error { _, _, err := l.Append(t.Context(), testEntries(5, 1)); return err }(),
		"Scan":           l.Scan(0, 0, func(ledger.Record) error { return nil }),
		"Lookup":         func() error { _, _, err := l.Lookup([32]byte{}); return err }(),
		"ProveInclusion": func() error { _, err := l.ProveInclusion(0, 1); return err }(),
		"ByIndex":        func() error { _, err := l.ByIndex("party", []byte("x"), 0, 0); return err }(),
	}
	for name, err := range checks {
		if !errors.Is(err, ledger.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if l.Head().Size != 2 {
		t.Error("Head() after Close lost the last head")
	}
}

func TestMetrics(t *testing.T) {
	l, _ := openMem(t)
	appendN(t, l, 0, 10, 10)
	if m := l.Metrics(); m == nil || m.WAL.BytesIn == 0 {
		t.Errorf("Metrics() = %v, want WAL bytes written", m)
	}
}
