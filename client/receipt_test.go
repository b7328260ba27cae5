package client_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"golang.org/x/mod/sumdb/note"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// logged appends n signed statements to a fresh ledger and returns the
// log, the envelopes and receipts for them, built from the ledger's own
// records and proofs in the latest checkpoint.
func logged(t *testing.T, n int) (*ledger.Log, [][]byte, []*client.Receipt) {
	t.Helper()
	l, err := ledger.Open("log", ledger.Options{FS: vfs.NewMem(), Origin: "tally.test/log"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	k, err := client.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	var envs [][]byte
	var entries []ledger.Entry
	for i := range n {
		env, err := client.Sign(schemas.KindPartyRegistered, fmt.Appendf(nil, `{"id":"p-%d"}`, i), k)
		if err != nil {
			t.Fatal(err)
		}
		canon, _ := env.Canonical()
		d, _ := env.Digest()
		envs = append(envs, canon)
		entries = append(entries, ledger.Entry{Digest: d, ReceivedAt: time.Date(2025, 5, 1, 10, 0, 0, 123456000*i, time.UTC), Envelope: canon})
	}
	app, cp, err := l.Append(t.Context(), entries)
	if err != nil {
		t.Fatal(err)
	}
	var rs []*client.Receipt
	for i, a := range app {
		rec, err := l.Get(a.Seq)
		if err != nil {
			t.Fatal(err)
		}
		proof, err := l.ProveInclusion(a.Seq, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		r := &client.Receipt{
			Digest:     hex.EncodeToString(entries[i].Digest[:]),
			Seq:        a.Seq,
			ReceivedAt: rec.ReceivedAt.UTC().Format(time.RFC3339Nano),
			EntryHash:  hex.EncodeToString(a.Leaf[:]),
			ChainHash:  hex.EncodeToString(a.Chain[:]),
			Checkpoint: string(cp.Note),
		}
		for _, h := range proof {
			r.InclusionProof = append(r.InclusionProof, base64.StdEncoding.EncodeToString(h[:]))
		}
		rs = append(rs, r)
	}
	return l, envs, rs
}

func TestVerifyReceipt(t *testing.T) {
	l, envs, rs := logged(t, 5)
	for i, r := range rs {
		if err := client.VerifyReceipt(r, l.VerifierKey(), envs[i]); err != nil {
			t.Errorf("receipt %d: %v", i, err)
		}
		// The record the client rebuilds is the one the ledger stored.
		stored, err := l.RecordBytes(r.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if got := client.RecordBytes(r.Seq, r.ReceivedAt, envs[i]); string(got) != string(stored) {
			t.Errorf("record %d:\n got %s\nwant %s", i, got, stored)
		}
	}

	_, otherVkey, err := note.GenerateKey(rand.Reader, "tally.test/log")
	if err != nil {
		t.Fatal(err)
	}
	good := *rs[2]
	cases := []struct {
		name string
		edit func(r *client.Receipt) (vkey string, env []byte)
	}{
		{"another envelope", func(r *client.Receipt) (string, []byte) { return l.VerifierKey(), envs[3] }},
		{"another seq", func(r *client.Receipt) (string, []byte) { r.Seq = 3; return l.VerifierKey(), envs[2] }},
		{"another time", func(r *client.Receipt) (string, []byte) {
			r.ReceivedAt = "2025-05-01T10:00:00.9Z"
			return l.VerifierKey(), envs[2]
		}},
		{"time not as the log writes it", func(r *client.Receipt) (string, []byte) {
			r.ReceivedAt = strings.Replace(r.ReceivedAt, "Z", "+00:00", 1)
			return l.VerifierKey(), envs[2]
		}},
		{"tampered entry hash", func(r *client.Receipt) (string, []byte) {
			r.EntryHash = strings.Repeat("00", 32)
			return l.VerifierKey(), envs[2]
		}},
		{"proof of another record", func(r *client.Receipt) (string, []byte) {
			r.InclusionProof = rs[1].InclusionProof
			return l.VerifierKey(), envs[2]
		}},
		{"short proof", func(r *client.Receipt) (string, []byte) {
			r.InclusionProof = r.InclusionProof[1:]
			return l.VerifierKey(), envs[2]
		}},
		{"another log's key", func(r *client.Receipt) (string, []byte) { return otherVkey, envs[2] }},
		{"checkpoint edited", func(r *client.Receipt) (string, []byte) {
			r.Checkpoint = strings.Replace(r.Checkpoint, "\n5\n", "\n6\n", 1)
			return l.VerifierKey(), envs[2]
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := good
			r.InclusionProof = append([]string(nil), good.InclusionProof...)
			vkey, env := c.edit(&r)
			if err := client.VerifyReceipt(&r, vkey, env); !errors.Is(err, client.ErrVerify) {
				t.Errorf("got %v, want ErrVerify", err)
			}
		})
	}
}

func TestVerifyReceiptOfDifferentlySignedDuplicate(t *testing.T) {
	l, envs, rs := logged(t, 3)
	// The same statement signed by a second key has the same digest; the
	// log holds the first envelope, which the receipt carries.
	var first schemas.Envelope
	if err := json.Unmarshal(envs[1], &first); err != nil {
		t.Fatal(err)
	}
	k2, _ := client.GenerateKey()
	second := first
	second.Signatures = append([]schemas.Signature(nil), first.Signatures...)
	if err := second.Sign(k2.Private); err != nil {
		t.Fatal(err)
	}
	canon2, _ := second.Canonical()
	r := *rs[1]
	r.Duplicate = true
	if err := client.VerifyReceipt(&r, l.VerifierKey(), canon2); !errors.Is(err, client.ErrVerify) {
		t.Fatalf("without the logged envelope: got %v, want ErrVerify", err)
	}
	r.Envelope = envs[1]
	if err := client.VerifyReceipt(&r, l.VerifierKey(), canon2); err != nil {
		t.Errorf("with the logged envelope: %v", err)
	}
}
