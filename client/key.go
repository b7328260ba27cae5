package client

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tally-ledger/tally/schemas"
)

// Key is a producer's Ed25519 signing key.
type Key struct {
	// ID is schemas.KeyID of the public key: "sha256:" and the hex SHA-256
	// of the raw 32-byte public key; it is the keyid of every signature.
	ID      string
	Public  ed25519.PublicKey
	Private ed25519.PrivateKey
}

// keyFile is the JSON form of a key file.
//
//	{"key_id":"sha256:<hex>","public_key":"<base64 32 bytes>","private_key":"<base64 32-byte seed>"}
//
// private_key is the RFC 8032 private key: the 32-byte seed, standard
// base64. LoadKey also accepts the 64-byte seed||public form Go uses. The
// file is written with mode 0600; key_id and public_key are there for
// people and are checked against the seed when loaded.
type keyFile struct {
	KeyID      string `json:"key_id"`
	PublicKey  string `json:"public_key"`
	PrivateKey string `json:"private_key"`
}

// GenerateKey makes a new random key.
func GenerateKey() (*Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return &Key{ID: schemas.KeyID(pub), Public: pub, Private: priv}, nil
}

// NewKey makes the key of a 32-byte seed.
func NewKey(seed []byte) (*Key, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: seed of %d bytes, want %d", ErrInvalid, len(seed), ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	return &Key{ID: schemas.KeyID(pub), Public: pub, Private: priv}, nil
}

// PublicKeyString is the public key as Tally's statements carry it
// (standard base64 of the raw 32 bytes), e.g. in party.registered.
func (k *Key) PublicKeyString() string { return schemas.EncodePublicKey(k.Public) }

// SaveKey writes k to path (mode 0600). It refuses to replace an existing
// file, so a key cannot be lost by a repeated keygen.
func SaveKey(path string, k *Key) error {
	if k == nil || len(k.Private) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: no private key to save", ErrInvalid)
	}
	b, err := json.MarshalIndent(keyFile{
		KeyID:      k.ID,
		PublicKey:  k.PublicKeyString(),
		PrivateKey: base64.StdEncoding.EncodeToString(k.Private.Seed()),
	}, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("save key: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("save key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("save key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("save key: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("save key: %w", err)
	}
	return nil
}

// LoadKey reads a key file written by SaveKey (or tally keygen).
func LoadKey(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load key: %w", err)
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, fmt.Errorf("%w: key file %s: %w", ErrInvalid, path, err)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(kf.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("%w: key file %s: private_key is not standard base64", ErrInvalid, path)
	}
	var k *Key
	switch len(raw) {
	case ed25519.SeedSize:
		k, err = NewKey(raw)
	case ed25519.PrivateKeySize:
		k, err = NewKey(raw[:ed25519.SeedSize])
		if err == nil && !k.Public.Equal(ed25519.PublicKey(raw[ed25519.SeedSize:])) {
			err = fmt.Errorf("%w: key file %s: private_key's public half does not match its seed", ErrInvalid, path)
		}
	default:
		err = fmt.Errorf("%w: key file %s: private_key is %d bytes, want a 32-byte seed", ErrInvalid, path, len(raw))
	}
	if err != nil {
		return nil, err
	}
	if kf.PublicKey != "" && kf.PublicKey != k.PublicKeyString() {
		return nil, fmt.Errorf("%w: key file %s: public_key does not match private_key", ErrInvalid, path)
	}
	if kf.KeyID != "" && kf.KeyID != k.ID {
		return nil, fmt.Errorf("%w: key file %s: key_id %s does not match the key (%s)", ErrInvalid, path, kf.KeyID, k.ID)
	}
	return k, nil
}
