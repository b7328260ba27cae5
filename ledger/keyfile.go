package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
	"golang.org/x/mod/sumdb/note"
)

// Key files in a log's directory.
const (
	keyFile = "log.key" // note signer key text, mode 0600
	pubFile = "log.pub" // note verifier key text, mode 0644
)

// logKeys is the log's checkpoint key pair; signer is nil when only the
// public half is available (read-only).
type logKeys struct {
	signer   note.Signer
	verifier note.Verifier
	vkey     string
}

// loadKeys finds the log's key: Options.Signer, else dir/log.key, else (read
// only) dir/log.pub; a writable log without any gets a new key named
// Options.Origin (or DefaultOrigin).
func loadKeys(dir string, opts *Options) (logKeys, error) {
	fs := opts.FS
	keyPath, pubPath := fs.PathJoin(dir, keyFile), fs.PathJoin(dir, pubFile)
	pub, pubOnDisk, err := readKeyFile(fs, pubPath)
	if err != nil {
		return logKeys{}, err
	}
	hasPub := pubOnDisk
	if opts.VerifierKey != "" {
		if hasPub && pub != opts.VerifierKey {
			return logKeys{}, fmt.Errorf("%w: Options.VerifierKey differs from %s", ErrInvalid, pubPath)
		}
		pub, hasPub = opts.VerifierKey, true
	}

	var k logKeys
	switch {
	case opts.Signer != nil:
		if !hasPub {
			return logKeys{}, fmt.Errorf("%w: Options.Signer needs its verifier key (Options.VerifierKey or %s)", ErrInvalid, pubPath)
		}
		k.signer = opts.Signer
		k.vkey = pub
	default:
		skey, hasKey, err := readKeyFile(fs, keyPath)
		if err != nil {
			return logKeys{}, err
		}
		switch {
		case hasKey:
			if fs == vfs.Default {
				if fi, err := os.Stat(keyPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
					opts.Logger.Warn("log key file is readable by others", "path", keyPath, "mode", fi.Mode().Perm().String())
				}
			}
			if k.signer, err = note.NewSigner(skey); err != nil {
				return logKeys{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, keyPath, err)
			}
			derived, err := verifierKeyOf(skey)
			if err != nil {
				return logKeys{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, keyPath, err)
			}
			if hasPub && pub != derived {
				return logKeys{}, fmt.Errorf("%w: verifier key (%s or Options.VerifierKey) does not match %s", ErrCorrupt, pubPath, keyPath)
			}
			k.vkey = derived
		case opts.ReadOnly:
			if !hasPub {
				return logKeys{}, fmt.Errorf("%w: neither %s nor %s", ErrNotFound, keyPath, pubPath)
			}
			k.vkey = pub
		default:
			origin := opts.Origin
			if origin == "" {
				origin = DefaultOrigin
			}
			skey, vkey, err := note.GenerateKey(rand.Reader, origin)
			if err != nil {
				return logKeys{}, fmt.Errorf("%w: origin %q cannot name a note key: %v", ErrInvalid, origin, err)
			}
			// The private key is written (and made durable) before anything is
			// signed with it: a checkpoint whose key was lost cannot be extended.
			if err := writeFileAtomic(fs, dir, keyFile, []byte(skey+"\n"), 0o600); err != nil {
				return logKeys{}, err
			}
			if k.signer, err = note.NewSigner(skey); err != nil {
				return logKeys{}, err
			}
			k.vkey = vkey
			opts.Logger.Info("created log key", "path", keyPath, "verifier_key", vkey)
		}
	}

	if k.verifier, err = note.NewVerifier(k.vkey); err != nil {
		return logKeys{}, fmt.Errorf("%w: verifier key %q: %v", ErrInvalid, k.vkey, err)
	}
	if k.signer != nil {
		if err := checkPair(k.signer, k.verifier); err != nil {
			return logKeys{}, err
		}
	}
	if !opts.ReadOnly && !pubOnDisk {
		if err := writeFileAtomic(fs, dir, pubFile, []byte(k.vkey+"\n"), 0o644); err != nil {
			return logKeys{}, err
		}
	}
	return k, nil
}

// checkPair makes sure the signer's signatures verify with the verifier.
func checkPair(s note.Signer, v note.Verifier) error {
	if s.Name() != v.Name() || s.KeyHash() != v.KeyHash() {
		return fmt.Errorf("%w: signer %s+%08x does not match verifier key %s+%08x", ErrInvalid, s.Name(), s.KeyHash(), v.Name(), v.KeyHash())
	}
	msg := []byte("tally ledger key check\n")
	sig, err := s.Sign(msg)
	if err != nil {
		return fmt.Errorf("ledger: signer: %w", err)
	}
	if !v.Verify(msg, sig) {
		return fmt.Errorf("%w: the signer's signatures do not verify with the verifier key", ErrInvalid)
	}
	return nil
}

// verifierKeyOf derives the verifier key text from an Ed25519 note signer
// key ("PRIVATE+KEY+name+hash+base64(1 || seed)").
func verifierKeyOf(skey string) (string, error) {
	// The base64 key may itself contain '+': split off the four fields
	// before it, as note.NewSigner does.
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("not a note signer key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("not an Ed25519 note signer key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// readKeyFile reads a key file's text without surrounding whitespace.
func readKeyFile(fs vfs.FS, path string) (string, bool, error) {
	f, err := fs.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", false, fmt.Errorf("ledger: read %s: %w", path, err)
	}
	return string(bytes.TrimSpace(b)), true, nil
}

// writeFileAtomic replaces dir/name with data: write a temporary file, fsync
// it, rename it over the target and fsync the directory, so a crash leaves
// either the old file or the whole new one. On the real file system the
// temporary file gets perm before any data is written to it.
func writeFileAtomic(fs vfs.FS, dir, name string, data []byte, perm os.FileMode) (err error) {
	path := fs.PathJoin(dir, name)
	tmp := path + ".tmp"
	f, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("ledger: create %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			_ = fs.Remove(tmp)
		}
	}()
	if fs == vfs.Default {
		if err := os.Chmod(tmp, perm); err != nil {
			f.Close()
			return fmt.Errorf("ledger: chmod %s: %w", tmp, err)
		}
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("ledger: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("ledger: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("ledger: close %s: %w", tmp, err)
	}
	if err := fs.Rename(tmp, path); err != nil {
		return fmt.Errorf("ledger: rename %s: %w", tmp, err)
	}
	d, err := fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("ledger: open dir %s: %w", dir, err)
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("ledger: sync dir %s: %w", dir, err)
	}
	return d.Close()
}
