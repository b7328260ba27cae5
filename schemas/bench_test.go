package schemas_test

import (
	"crypto/ed25519"
	"fmt"
	"testing"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"github.com/tally-ledger/tally/schemas"
)

// benchEnvelope is the example hop (about 1 KB of payload) signed and in
// its wire form.
func benchEnvelope(b *testing.B) ([]byte, ed25519.PublicKey) {
	b.Helper()
	e, err := schemas.ExampleEnvelope(schemas.KindHopRecorded)
	if err != nil {
		b.Fatal(err)
	}
	wire, err := e.Canonical()
	if err != nil {
		b.Fatal(err)
	}
	return wire, schemas.ExampleKey("kolwezi-miners-coop").Public().(ed25519.PublicKey)
}

// BenchmarkEnvelope measures what admitting one hop costs in this package:
// strict envelope decoding, the canonical check and strict payload
// decoding, the vocabulary's rules, and signature verification; then each
// step alone.
func BenchmarkEnvelope(b *testing.B) {
	wire, pub := benchEnvelope(b)
	e, _ := schemas.DecodeEnvelope(wire)
	body, _ := e.Body()
	b.Logf("envelope %d bytes, payload %d bytes", len(wire), len(body))
	b.Run("all", func(b *testing.B) {
		b.SetBytes(int64(len(wire)))
		b.ReportAllocs()
		for b.Loop() {
			e, err := schemas.DecodeEnvelope(wire)
			if err != nil {
				b.Fatal(err)
			}
			if _, problems := schemas.ValidateEnvelope(&e); len(problems) > 0 {
				b.Fatal(problems)
			}
			if err := e.Verify(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-envelope", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := schemas.DecodeEnvelope(wire); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("canonical-check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !schemas.IsCanonical(body) {
				b.Fatal("not canonical")
			}
		}
	})
	b.Run("decode-event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, problems := schemas.DecodeEvent(&e); len(problems) > 0 {
				b.Fatal(problems)
			}
		}
	})
	ev, _ := schemas.DecodeEvent(&e)
	b.Run("validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if problems := schemas.Validate(ev); len(problems) > 0 {
				b.Fatal(problems)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := e.Verify(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type benchSig struct {
	pub      ed25519.PublicKey
	msg, sig []byte
}

func benchSigs(b *testing.B, n int) []benchSig {
	b.Helper()
	wire, _ := benchEnvelope(b)
	out := make([]benchSig, n)
	for i := range out {
		priv := schemas.ExampleKey(fmt.Sprint("bench-", i))
		msg := append([]byte(fmt.Sprint(i)), wire...)
		out[i] = benchSig{priv.Public().(ed25519.PublicKey), msg, ed25519.Sign(priv, msg)}
	}
	return out
}

var voiOpts = &voi.Options{Verify: &voi.VerifyOptions{AllowSmallOrderR: true}}

// BenchmarkVerify compares signature verification of ~1 KB messages:
// crypto/ed25519, curve25519-voi one at a time, curve25519-voi batches, and
// VerifyBatch (batches spread over the cores). ns/sig is the cost of one
// signature.
func BenchmarkVerify(b *testing.B) {
	sigs := benchSigs(b, 256)
	b.Run("stdlib", func(b *testing.B) {
		i := 0
		for b.Loop() {
			s := sigs[i%len(sigs)]
			if !ed25519.Verify(s.pub, s.msg, s.sig) {
				b.Fatal("invalid")
			}
			i++
		}
	})
	b.Run("voi", func(b *testing.B) {
		i := 0
		for b.Loop() {
			s := sigs[i%len(sigs)]
			if !voi.VerifyWithOptions(voi.PublicKey(s.pub), s.msg, s.sig, voiOpts) {
				b.Fatal("invalid")
			}
			i++
		}
	})
	for _, n := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("voi-batch-%d", n), func(b *testing.B) {
			for b.Loop() {
				bv := voi.NewBatchVerifierWithCapacity(n)
				for _, s := range sigs[:n] {
					bv.AddWithOptions(voi.PublicKey(s.pub), s.msg, s.sig, voiOpts)
				}
				if ok, _ := bv.Verify(nil); !ok {
					b.Fatal("invalid")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sig")
		})
	}
	items := make([]schemas.VerifyItem, len(sigs))
	for i, s := range sigs {
		items[i] = schemas.VerifyItem{PublicKey: s.pub, Message: s.msg, Signature: s.sig}
	}
	for _, n := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("VerifyBatch-%d", n), func(b *testing.B) {
			for b.Loop() {
				for i, ok := range schemas.VerifyBatch(items[:n]) {
					if !ok {
						b.Fatalf("item %d invalid", i)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sig")
		})
	}
}

// BenchmarkVerifyParallel shows how single verification scales over the
// cores (run with -cpu 1,2).
func BenchmarkVerifyParallel(b *testing.B) {
	sigs := benchSigs(b, 256)
	b.Run("stdlib", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				s := sigs[i%len(sigs)]
				if !ed25519.Verify(s.pub, s.msg, s.sig) {
					b.Error("invalid")
				}
				i++
			}
		})
	})
	b.Run("voi", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				s := sigs[i%len(sigs)]
				if !schemas.VerifySignature(s.pub, s.msg, s.sig) {
					b.Error("invalid")
				}
				i++
			}
		})
	})
}
