package ledger_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/tally-ledger/tally/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// testKey is a fixed note key for checkpoint tests.
func testKey(t testing.TB, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func signText(t testing.TB, s note.Signer, text string) []byte {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestParseCheckpoint(t *testing.T) {
	const origin = "tally.example/log"
	s, v := testKey(t, origin)
	otherS, _ := testKey(t, origin)
	root := tlog.RecordHash([]byte("x"))
	b64 := base64.StdEncoding.EncodeToString(root[:])

	tests := []struct {
		name    string
		msg     []byte
		want    uint64 // size when accepted
		wantErr string
	}{
		{"plain", signText(t, s, origin+"\n42\n"+b64+"\n"), 42, ""},
		{"size zero", signText(t, s, origin+"\n0\n"+b64+"\n"), 0, ""},
		{"extension lines", signText(t, s, origin+"\n7\n"+b64+"\nextra line\nanother\n"), 7, ""},
		{"wrong origin", signText(t, s, "other.example/log\n42\n"+b64+"\n"), 0, "origin"},
		{"leading zero", signText(t, s, origin+"\n042\n"+b64+"\n"), 0, "size line"},
		{"signed size", signText(t, s, origin+"\n+42\n"+b64+"\n"), 0, "size line"},
		{"size overflow", signText(t, s, origin+"\n18446744073709551616\n"+b64+"\n"), 0, "size line"},
		{"short root", signText(t, s, origin+"\n42\n"+b64[:40]+"\n"), 0, "root line"},
		{"unpadded root", signText(t, s, origin+"\n42\n"+strings.TrimRight(b64, "=")+"\n"), 0, "root line"},
		{"url base64 root", signText(t, s, origin+"\n42\n"+base64.URLEncoding.EncodeToString(make([]byte, 31))+"_w==\n"), 0, "root line"},
		{"missing root", signText(t, s, origin+"\n42\n"), 0, "want origin, size and root lines"},
		{"empty extension", signText(t, s, origin+"\n42\n"+b64+"\n\n"), 0, "extension line 1: empty"},
		{"other key", signText(t, otherS, origin+"\n42\n"+b64+"\n"), 0, "verif"},
		{"garbage", []byte("not a note"), 0, "malformed"},
		{"empty", nil, 0, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ledger.ParseCheckpoint(tc.msg, v)
			if tc.wantErr != "" {
				if !errors.Is(err, ledger.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("ParseCheckpoint = %v, want ErrInvalid mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Size != tc.want || c.Root != root || string(c.Note) != string(tc.msg) {
				t.Errorf("ParseCheckpoint = %d %s, want %d %s", c.Size, c.Root, tc.want, root)
			}
		})
	}

	// A body tampered with after signing fails.
	msg := signText(t, s, origin+"\n42\n"+b64+"\n")
	tampered := []byte(strings.Replace(string(msg), "\n42\n", "\n43\n", 1))
	if _, err := ledger.ParseCheckpoint(tampered, v); !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("tampered checkpoint: %v, want ErrInvalid", err)
	}
	if _, err := ledger.ParseCheckpoint(msg, nil); !errors.Is(err, ledger.ErrInvalid) {
		t.Errorf("nil verifier: %v, want ErrInvalid", err)
	}
}

// TestCheckpointFormat pins the C2SP tlog-checkpoint text of a log's note.
func TestCheckpointFormat(t *testing.T) {
	l, _ := openMem(t)
	_, cp := mustAppend(t, l, testEntries(0, 3))
	text, sigs, ok := strings.Cut(string(cp.Note), "\n\n")
	if !ok {
		t.Fatalf("note has no blank line: %q", cp.Note)
	}
	want := ledger.DefaultOrigin + "\n3\n" + base64.StdEncoding.EncodeToString(cp.Root[:])
	if text != want {
		t.Errorf("checkpoint text %q, want %q", text, want)
	}
	if !strings.HasPrefix(sigs, "— "+ledger.DefaultOrigin+" ") || strings.Count(sigs, "\n") != 1 {
		t.Errorf("signature block %q, want one line from %s", sigs, ledger.DefaultOrigin)
	}
}
