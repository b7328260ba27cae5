package keys_test

import (
	"bytes"
	"testing"

	"github.com/tally-ledger/tally/internal/keys"
)

func TestAppendFormsMatch(t *testing.T) {
	digest := bytes.Repeat([]byte{0xab}, 32)
	prefix := []byte("scratch")
	tests := []struct {
		name      string
		want, got []byte
	}{
		{"record", keys.Record(1 << 40), keys.AppendRecord(nil, 1<<40)},
		{"chain", keys.Chain(7), keys.AppendChain(nil, 7)},
		{"checkpoint", keys.Checkpoint(99), keys.AppendCheckpoint(nil, 99)},
		{"dedupe", keys.Dedupe(digest), keys.AppendDedupe(nil, digest)},
		{"index prefix", keys.IndexPrefix("party", []byte("miner-1")), keys.AppendIndexPrefix(nil, []byte("party"), []byte("miner-1"))},
		{"index", keys.Index("party", []byte("miner-1"), 42), keys.AppendIndex(nil, string(keys.IndexPrefix("party", []byte("miner-1"))), 42)},
		{"index empty key", keys.Index("lot", nil, 0), keys.AppendIndex(nil, string(keys.IndexPrefix("lot", nil)), 0)},
		{"onto prefix", append(append([]byte(nil), prefix...), keys.Chain(3)...), keys.AppendChain(append([]byte(nil), prefix...), 3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Equal(tc.got, tc.want) {
				t.Errorf("got %x, want %x", tc.got, tc.want)
			}
		})
	}
}

func TestParseIndexRoundTrip(t *testing.T) {
	k := keys.Index("subject", []byte{0, 1, 2}, 1<<33)
	name, key, seq, err := keys.ParseIndex(k)
	if err != nil {
		t.Fatal(err)
	}
	if name != "subject" || !bytes.Equal(key, []byte{0, 1, 2}) || seq != 1<<33 {
		t.Errorf("ParseIndex = %q %x %d", name, key, seq)
	}
	if _, _, _, err := keys.ParseIndex(k[:len(k)-1]); err == nil {
		t.Error("truncated index key parsed without error")
	}
}
