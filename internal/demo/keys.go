package demo

import (
	"crypto/ed25519"
	"crypto/sha256"
)

// KeySeedPrefix starts the seed of every demo key: a demo party's Ed25519
// key is ed25519.NewKeyFromSeed(SHA-256(KeySeedPrefix + party id)).
//
// The derivation is public on purpose: it makes the demo envelopes the same
// on every run, so a ledger that already holds them answers with the
// original receipts, and it lets anyone check the demo signatures. It also
// means anyone can sign as a demo party. Never register a demo key for a
// real party, and never trust a statement because a demo key signed it.
const KeySeedPrefix = "tally demo v1/"

// Key returns the demo private key of a party (see KeySeedPrefix). It is
// defined for any id, registered or not.
func Key(party string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(KeySeedPrefix + party))
	return ed25519.NewKeyFromSeed(seed[:])
}

func publicKey(party string) ed25519.PublicKey {
	return Key(party).Public().(ed25519.PublicKey)
}
