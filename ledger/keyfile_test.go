package ledger_test

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/tally-ledger/tally/ledger"
	"golang.org/x/mod/sumdb/note"
)

// The key file tests run on the disk: file modes are the point.
func TestKeyFileOnDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	l, err := ledger.Open(dir, ledger.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	_, cp := mustAppend(t, l, testEntries(0, 2))
	vkey := l.VerifierKey()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	for name, want := range map[string]os.FileMode{"log.key": 0o600, "log.pub": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s mode %v, want at most %v", name, got, want)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, "log.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("log.key mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(dir, "log.key.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a temporary key file was left behind")
	}

	// The verifier key is one printable line, equal to log.pub, and checks
	// the log's checkpoints.
	if vkey == "" || strings.ContainsFunc(vkey, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsPrint(r) }) {
		t.Errorf("verifier key %q is not printable ASCII", vkey)
	}
	pub, err := os.ReadFile(filepath.Join(dir, "log.pub"))
	if err != nil || string(pub) != vkey+"\n" {
		t.Errorf("log.pub = %q, want %q", pub, vkey+"\n")
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.ParseCheckpoint(cp.Note, v); err != nil {
		t.Errorf("checkpoint does not verify with the printed key: %v", err)
	}
	skey, _ := os.ReadFile(filepath.Join(dir, "log.key"))
	if !strings.HasPrefix(string(skey), "PRIVATE+KEY+"+ledger.DefaultOrigin+"+") {
		t.Errorf("log.key does not hold a note signer key for %s", ledger.DefaultOrigin)
	}

	// Reopening reuses the key: same verifier key, and the old checkpoint
	// still verifies with the reopened log's verifier.
	l2, err := ledger.Open(dir, ledger.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if l2.VerifierKey() != vkey {
		t.Errorf("reopen changed the verifier key: %q → %q", vkey, l2.VerifierKey())
	}
	if _, err := ledger.ParseCheckpoint(cp.Note, l2.Verifier()); err != nil {
		t.Errorf("old checkpoint fails with the reopened log's verifier: %v", err)
	}
	skey2, _ := os.ReadFile(filepath.Join(dir, "log.key"))
	if string(skey2) != string(skey) {
		t.Error("reopen rewrote log.key")
	}
}

func TestKeyFileMismatch(t *testing.T) {
	fs := vfs.NewMem()
	l := reopen(t, fs)
	l.Close()
	// Replace log.pub with another key's: the pair no longer matches.
	_, other, _ := note.GenerateKey(rand.Reader, ledger.DefaultOrigin)
	f, err := fs.Create("log/log.pub", vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte(other + "\n"))
	f.Close()
	if _, err := ledger.Open("log", memOptions(fs)); !errors.Is(err, ledger.ErrCorrupt) {
		t.Errorf("Open with a mismatched log.pub = %v, want ErrCorrupt", err)
	}
}
