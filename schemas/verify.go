package schemas

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"runtime"
	"sync"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// verifyOptions is the one rule by which Tally accepts an Ed25519
// signature, whether checked alone or in a batch: cofactored verification
// (RFC 8032 §5.1.7 with the multiplication by 8, as batch verification
// requires), canonical encodings of A and R, and a public key that is not of
// small order. Every signature made by an RFC 8032 signer passes. Pinning it
// here, rather than using a library default, keeps admission, audit and
// replicas agreeing on edge-case signatures forever: single and batch
// verification cannot disagree, since both apply the same equation.
var verifyOptions = &voi.Options{Verify: &voi.VerifyOptions{AllowSmallOrderR: true}}

// VerifySignature reports whether sig is pub's signature of msg under
// Tally's verification rule.
func VerifySignature(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	return voi.VerifyWithOptions(voi.PublicKey(pub), msg, sig, verifyOptions)
}

// SignedMessage returns the bytes every signature of the envelope signs:
// PAE(payloadType, payload).
func (e *Envelope) SignedMessage() ([]byte, error) {
	body, err := e.Body()
	if err != nil {
		return nil, err
	}
	return PAE(e.PayloadType, body), nil
}

// Verify checks the envelope's signature by pub: it must carry a signature
// whose keyid is KeyID(pub), and that signature must verify over the PAE of
// the payload. It wraps ErrNoSignature or ErrBadSignature.
func (e *Envelope) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: public key of %d bytes", ErrInvalidKey, len(pub))
	}
	id := KeyID(pub)
	for i, s := range e.Signatures {
		if s.KeyID != id {
			continue
		}
		sig, err := base64.StdEncoding.Strict().DecodeString(s.Sig)
		if err != nil {
			return fmt.Errorf("%w: /signatures/%d/sig is not standard base64", ErrBadSignature, i)
		}
		msg, err := e.SignedMessage()
		if err != nil {
			return err
		}
		if !VerifySignature(pub, msg, sig) {
			return fmt.Errorf("%w: /signatures/%d by %s", ErrBadSignature, i, id)
		}
		return nil
	}
	return fmt.Errorf("%w: %s", ErrNoSignature, id)
}

// VerifyItem is one signature to check in a batch.
type VerifyItem struct {
	PublicKey ed25519.PublicKey
	Message   []byte
	Signature []byte
}

// Batch sizing. Below batchMin a batch costs more than it saves; chunks of
// batchChunk keep each batch in the range where curve25519-voi's
// precomputed multiscalar multiplication is fastest, and let chunks run on
// every core.
const (
	batchMin   = 4
	batchChunk = 64
)

// VerifyBatch checks many signatures at once under the same rule as
// VerifySignature, and reports each one's validity. It batch-verifies
// (curve25519-voi; measured faster than crypto/ed25519, see the package
// benchmarks) and spreads chunks over the available cores; when a chunk
// fails as a whole, each of its signatures is checked alone, so one bad
// signature costs its neighbours nothing but time.
func VerifyBatch(items []VerifyItem) []bool {
	ok := make([]bool, len(items))
	if len(items) < batchMin {
		for i, it := range items {
			ok[i] = VerifySignature(it.PublicKey, it.Message, it.Signature)
		}
		return ok
	}
	chunks := (len(items) + batchChunk - 1) / batchChunk
	next := make(chan int, chunks)
	for c := range chunks {
		next <- c
	}
	close(next)
	work := func() {
		for c := range next {
			lo := c * batchChunk
			hi := min(lo+batchChunk, len(items))
			verifyChunk(items[lo:hi], ok[lo:hi])
		}
	}
	// The caller takes its share: one chunk needs no goroutine at all, and
	// a fresh goroutine's small stack would have to grow for the curve
	// arithmetic on every call.
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), chunks) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return ok
}

func verifyChunk(items []VerifyItem, ok []bool) {
	if len(items) < batchMin {
		for i, it := range items {
			ok[i] = VerifySignature(it.PublicKey, it.Message, it.Signature)
		}
		return
	}
	bv := voi.NewBatchVerifierWithCapacity(len(items))
	for _, it := range items {
		// Malformed keys and signatures are recorded by the verifier as
		// invalid entries (never valid), so lengths need no check here.
		if k := expandedKeys.get(it.PublicKey); k != nil {
			bv.AddExpandedWithOptions(k, it.Message, it.Signature, verifyOptions)
		} else {
			bv.AddWithOptions(voi.PublicKey(it.PublicKey), it.Message, it.Signature, verifyOptions)
		}
	}
	_, valid := bv.Verify(nil)
	copy(ok, valid)
}

// expandedKeys holds the expanded form (curve25519-voi's precomputed
// tables) of the public keys verified recently. A ledger's signers are few
// next to their signatures, and expanding a key costs about a third of a
// batched verification. The expanded key is keyed by the exact key bytes
// and carries the same checks (small order, canonical encoding) as the key
// itself, so a cached verification applies the same rule.
var expandedKeys = keyCache{max: 4096}

// keyCache maps public keys to their expanded form. When full it starts
// again empty: simple, and bounded at max × ~1.5 KiB.
type keyCache struct {
	mu  sync.RWMutex
	m   map[[ed25519.PublicKeySize]byte]*voi.ExpandedPublicKey
	max int
}

// get returns pub expanded, or nil if pub is not a valid key encoding (the
// verifier then records the signature as invalid from the bytes).
func (c *keyCache) get(pub []byte) *voi.ExpandedPublicKey {
	if len(pub) != ed25519.PublicKeySize {
		return nil
	}
	k := [ed25519.PublicKeySize]byte(pub)
	c.mu.RLock()
	x, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return x
	}
	x, err := voi.NewExpandedPublicKey(voi.PublicKey(pub))
	if err != nil {
		return nil
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[[ed25519.PublicKeySize]byte]*voi.ExpandedPublicKey)
	}
	c.m[k] = x
	c.mu.Unlock()
	return x
}
