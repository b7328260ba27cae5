package ledger_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/tally-ledger/tally/ledger"
	"golang.org/x/mod/sumdb/note"
)

// FuzzDecodeRecord: DecodeRecord never panics, and whatever it accepts
// re-encodes to exactly the input.
func FuzzDecodeRecord(f *testing.F) {
	for i := range 4 {
		e := testEntry(i)
		f.Add(ledger.Record{Seq: uint64(i) * 999, ReceivedAt: e.ReceivedAt, Envelope: e.Envelope}.Bytes())
	}
	f.Add(ledger.Record{Seq: ledger.MaxSeq, ReceivedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), Envelope: []byte(`{"":[{},[],"\u0000é😀",-1.5e-7,true,null]}`)}.Bytes())
	f.Add([]byte(`{"envelope":{},"received_at":"2025-01-01T00:00:00Z","seq":0}`))
	f.Add([]byte(`{"envelope":{"a":"\"received_at\":\"x\",\"seq\":1"},"received_at":"2025-01-01T00:00:00Z","seq":0}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ledger.DecodeRecord(b)
		if err != nil {
			return
		}
		if got := r.Bytes(); !bytes.Equal(got, b) {
			t.Fatalf("accepted %q but re-encodes to %q", b, got)
		}
	})
}

// A fixed key so that the corpus stays meaningful between runs.
const (
	fuzzSKey = "PRIVATE+KEY+tally.example/log+f5fe0d91+ASaP/5yYtXf7OhWDioBmzBxb5spA/34PCuLd4AkRszSI"
	fuzzVKey = "tally.example/log+f5fe0d91+AU2ssgXJL+KcvSetfcULxrCK2Hx6NnGSzaiCAV+ht7vf"
)

// FuzzParseCheckpoint: ParseCheckpoint never panics on any message, and a
// checkpoint it accepts round-trips: its size and root print back to the
// note's first lines, and parsing its Note again gives the same checkpoint.
// The body input is signed with the fuzz key first, so that the fuzzer
// reaches the checkpoint parser and not only the signature check.
func FuzzParseCheckpoint(f *testing.F) {
	signer, err := note.NewSigner(fuzzSKey)
	if err != nil {
		f.Fatal(err)
	}
	verifier, err := note.NewVerifier(fuzzVKey)
	if err != nil {
		f.Fatal(err)
	}
	// Seeds: real checkpoints from a log signed with the fuzz key.
	mem := memOptions(vfs.NewMem())
	mem.Signer, mem.VerifierKey = signer, fuzzVKey
	l, err := ledger.Open("log", mem)
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range []int{1, 2, 5} {
		_, cp, err := l.Append(f.Context(), testEntries(int(l.Head().Size), n))
		if err != nil {
			f.Fatal(err)
		}
		text, _, _ := strings.Cut(string(cp.Note), "\n\n")
		f.Add([]byte(text+"\n"), cp.Note)
	}
	l.Close()
	f.Add([]byte("tally.example/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n"), []byte("garbage\n\n— x y\n"))

	f.Fuzz(func(t *testing.T, body, raw []byte) {
		_, _ = ledger.ParseCheckpoint(raw, verifier) // must not panic

		msg, err := note.Sign(&note.Note{Text: string(body)}, signer)
		if err != nil {
			return // not a valid note text
		}
		c, err := ledger.ParseCheckpoint(msg, verifier)
		if err != nil {
			return
		}
		lines := strings.SplitN(string(body), "\n", 4)
		want := ledger.DefaultOrigin + "\n" + lines[1] + "\n" + lines[2] + "\n"
		if got := ledger.CheckpointText(ledger.DefaultOrigin, c.Size, c.Root); got != want {
			t.Fatalf("accepted body %q but its fields print as %q", body, got)
		}
		again, err := ledger.ParseCheckpoint(c.Note, verifier)
		if err != nil || again.Size != c.Size || again.Root != c.Root || !bytes.Equal(again.Note, c.Note) {
			t.Fatalf("re-parsing an accepted checkpoint: %+v, %v", again, err)
		}
	})
}
