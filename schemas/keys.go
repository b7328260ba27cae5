package schemas

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"

	"github.com/oasisprotocol/curve25519-voi/curve"
)

// KeyIDPrefix starts every key id.
const KeyIDPrefix = "sha256:"

// keyIDSyntax is the form of a key id: "sha256:" and 64 lowercase hex digits.
var keyIDSyntax = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// publicKeySyntax is standard base64 of exactly 32 bytes with zero padding
// bits, which is what strict decoding accepts.
var publicKeySyntax = regexp.MustCompile(`^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$`)

// KeyID names an Ed25519 public key: "sha256:" followed by the lowercase hex
// SHA-256 of the raw 32-byte key. Anyone holding the key derives the same
// id, so registrations carry only the key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return KeyIDPrefix + hex.EncodeToString(sum[:])
}

// EncodePublicKey writes a public key as Tally's statements carry it:
// standard base64 of the raw 32 bytes.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads a public key written by EncodePublicKey and checks
// that it is a usable Ed25519 key: a canonical encoding of a curve point
// that is not of small order (a small-order key would let anyone forge its
// signatures).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	if !publicKeySyntax.MatchString(s) {
		return nil, fmt.Errorf("%w: want standard base64 of 32 bytes", ErrInvalidKey)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: want standard base64 of 32 bytes", ErrInvalidKey)
	}
	if !usablePoint(raw) {
		return nil, fmt.Errorf("%w: not a canonical Ed25519 point of large order", ErrInvalidKey)
	}
	return ed25519.PublicKey(raw), nil
}

func usablePoint(raw []byte) bool {
	var c curve.CompressedEdwardsY
	if _, err := c.SetBytes(raw); err != nil {
		return false
	}
	var p curve.EdwardsPoint
	if _, err := p.SetCompressedY(&c); err != nil {
		return false
	}
	return c.IsCanonicalVartime() && !p.IsSmallOrder()
}
