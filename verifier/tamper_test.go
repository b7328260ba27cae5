package verifier_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tally-ledger/tally/internal/keys"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/verifier"
)

// The tamper tests build one real ledger, then for each case copy it,
// change one thing through Pebble itself (so Pebble's own checksums stay
// valid and only the audit can notice), reopen it and audit it.

const (
	tamperSize  = 300 // records
	tamperBatch = 16  // checkpoints at 16, 32, …, 288, 300
)

// tamperTemplate builds the untouched ledger the cases start from.
func tamperTemplate(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "template")
	buildAuditLog(t, dir, tamperSize, tamperBatch)
	return dir
}

// tamperCopy copies the template ledger to a fresh directory.
func tamperCopy(t *testing.T, template string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "log")
	if err := os.CopyFS(dir, os.DirFS(template)); err != nil {
		t.Fatal(err)
	}
	// os.CopyFS does not keep modes; the key stays private.
	if err := os.Chmod(filepath.Join(dir, "log.key"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

type tamperPebbleQuiet struct{}

func (tamperPebbleQuiet) Infof(string, ...any)  {}
func (tamperPebbleQuiet) Errorf(string, ...any) {}
func (tamperPebbleQuiet) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// tamperStore opens the store in dir with Pebble directly and applies change in
// one synced batch.
func tamperStore(t *testing.T, dir string, change func(db *pebble.DB, b *pebble.Batch)) {
	t.Helper()
	db, err := pebble.Open(filepath.Join(dir, "pebble"), &pebble.Options{Logger: tamperPebbleQuiet{}})
	if err != nil {
		t.Fatal(err)
	}
	b := db.NewBatch()
	change(db, b)
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func tamperGet(t *testing.T, db *pebble.DB, key []byte) []byte {
	t.Helper()
	v, closer, err := db.Get(key)
	if err != nil {
		t.Fatalf("get %x: %v", key, err)
	}
	defer closer.Close()
	return bytes.Clone(v)
}

func tamperSet(t *testing.T, b *pebble.Batch, key, value []byte) {
	t.Helper()
	if err := b.Set(key, value, nil); err != nil {
		t.Fatal(err)
	}
}

func tamperDel(t *testing.T, b *pebble.Batch, key []byte) {
	t.Helper()
	if err := b.Delete(key, nil); err != nil {
		t.Fatal(err)
	}
}

// tamperFlip returns a copy of v with byte i changed.
func tamperFlip(v []byte, i int) []byte {
	v = bytes.Clone(v)
	v[i] ^= 0x01
	return v
}

// tamperDigest is the dedupe identity of test entry i.
func tamperDigest(t *testing.T, i int) []byte {
	d := auditEntry(t, i).Digest
	return d[:]
}

// tamperIndexKey returns test entry i's index key with the given name.
func tamperIndexKey(t *testing.T, i int, name string) []byte {
	for _, k := range auditEntry(t, i).Index {
		if k.Name == name {
			return k.Key
		}
	}
	t.Fatalf("entry %d has no %q index key", i, name)
	return nil
}

// tamperResign returns a checkpoint note for size with the given root, signed
// with the log's own key from dir/log.key: a forgery only the recomputed
// root can catch.
func tamperResign(t *testing.T, dir string, size uint64, root tlog.Hash) []byte {
	t.Helper()
	skey, err := os.ReadFile(filepath.Join(dir, "log.key"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", s.Name(), size, base64.StdEncoding.EncodeToString(root[:]))
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func tamperSeq(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// tamperUnindex takes seq out of the index posting of (name, key) that
// holds it (see keys.Index): the posting is rewritten without it, under
// the key of its new first seq.
func tamperUnindex(t *testing.T, db *pebble.DB, b *pebble.Batch, name string, key []byte, seq uint64) {
	t.Helper()
	prefix := keys.IndexPrefix(name, key)
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: keys.UpperBound(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if !it.SeekLT(keys.Index(name, key, seq+1)) {
		t.Fatalf("no posting of %s=%q at or before seq %d", name, key, seq)
	}
	first := binary.BigEndian.Uint64(it.Key()[len(prefix):])
	var rest []uint64
	found := false
	if err := keys.Posting(first, it.Value(), func(s uint64) bool {
		if s == seq {
			found = true
		} else {
			rest = append(rest, s)
		}
		return true
	}); err != nil || !found {
		t.Fatalf("posting of %s=%q at %d: seq %d not in it (%v)", name, key, first, seq, err)
	}
	tamperDel(t, b, bytes.Clone(it.Key()))
	if len(rest) > 0 {
		tamperSet(t, b, keys.Index(name, key, rest[0]), keys.AppendPosting(nil, rest))
	}
}

// tamperAudit audits the tampered log in dir, read-only, and fails the
// test unless the audit finds a problem.
func tamperAudit(t *testing.T, dir string) (*ledger.Log, verifier.Report) {
	t.Helper()
	l := openAuditLog(t, dir)
	rep, err := verifier.Audit(t.Context(), l, verifier.AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() {
		t.Fatal("tampered ledger passed the audit")
	}
	return l, rep
}

func TestTamperUntouchedPasses(t *testing.T) {
	l := openAuditLog(t, tamperTemplate(t))
	rep, err := verifier.Audit(t.Context(), l, verifier.AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Size != tamperSize {
		t.Fatalf("untouched ledger: size %d, problems %v", rep.Size, rep.Problems)
	}
}

func TestTamper(t *testing.T) {
	const victim = 100
	template := tamperTemplate(t)
	// Record 100's leaf hash and a level-3 tree hash completed by record 103
	// (covering records 96…103): their tlog storage indexes, and where each
	// lives in its record's c| value (chain hash, then the tree hashes).
	leafIndex := tlog.StoredHashIndex(0, victim)
	level3Index := tlog.StoredHashIndex(3, 103>>3)
	leafSeq, leafOff := keys.TreeSlot(leafIndex)
	level3Seq, level3Off := keys.TreeSlot(level3Index)
	if leafSeq != victim || level3Seq != 103 {
		t.Fatalf("TreeSlot puts the leaf hash with record %d and the level-3 hash with %d", leafSeq, level3Seq)
	}

	type want struct {
		table     string
		seq       *uint64
		treeIndex *int64
		size      *uint64
		what      string // a fragment of Problem.What
		count     int    // problems in all; 0: do not check
	}
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch)
		want   want
	}{
		{
			name: "record: a digit of received_at",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				k := keys.Record(victim)
				v := tamperGet(t, db, k)
				i := bytes.Index(v, []byte(`"received_at":"2025`))
				if i < 0 {
					t.Fatalf("no received_at in %s", v)
				}
				v[i+len(`"received_at":"202`)] = '4' // 2025 → 2024: still a canonical record
				tamperSet(t, b, k, v)
			},
			want: want{table: verifier.TableRecord, seq: auditPtr(uint64(victim)), what: "the record was altered", count: 1},
		},
		{
			name: "record: no longer canonical JSON",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				k := keys.Record(victim)
				v := tamperGet(t, db, k)
				v[len(v)-1] = ' ' // the closing brace
				tamperSet(t, b, k, v)
			},
			want: want{table: verifier.TableRecord, seq: auditPtr(uint64(victim)), what: "does not decode as a canonical record", count: 1},
		},
		{
			name: "record: says another seq",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				k := keys.Record(victim)
				v := tamperGet(t, db, k)
				i := bytes.LastIndex(v, []byte(`"seq":100}`))
				v[i+len(`"seq":10`)] = '1'
				tamperSet(t, b, k, v)
			},
			want: want{table: verifier.TableRecord, seq: auditPtr(uint64(victim)), what: "stored under seq 100 but says seq 101", count: 1},
		},
		{
			name: "record: deleted",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				tamperDel(t, b, keys.Record(victim))
			},
			want: want{table: verifier.TableRecord, seq: auditPtr(uint64(victim)), what: "missing", count: 1},
		},
		{
			name: "tree: a leaf hash",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				k := keys.Chain(leafSeq)
				tamperSet(t, b, k, tamperFlip(tamperGet(t, db, k), leafOff+7))
			},
			want: want{table: verifier.TableTree, seq: auditPtr(uint64(victim)), treeIndex: auditPtr(leafIndex), what: "tree hash (level 0) stored", count: 1},
		},
		{
			name: "tree: an inner hash",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				k := keys.Chain(level3Seq)
				tamperSet(t, b, k, tamperFlip(tamperGet(t, db, k), level3Off+31))
			},
			want: want{table: verifier.TableTree, seq: auditPtr(uint64(103)), treeIndex: auditPtr(level3Index), what: "tree hash (level 3) stored", count: 1},
		},
		{
			name: "tree: the last hash cut short",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				k := keys.Chain(level3Seq)
				v := tamperGet(t, db, k)
				tamperSet(t, b, k, v[:len(v)-1])
			},
			want: want{table: verifier.TableTree, seq: auditPtr(uint64(103)), treeIndex: auditPtr(level3Index), what: "tree hash (level 3) malformed", count: 1},
		},
		{
			name: "tree: a hash too many",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				k := keys.Chain(leafSeq)
				v := tamperGet(t, db, k)
				tamperSet(t, b, k, append(v, v[leafOff:]...))
			},
			want: want{table: verifier.TableTree, seq: auditPtr(uint64(victim)), treeIndex: auditPtr(leafIndex), what: "tree hash (level 0) malformed", count: 1},
		},
		{
			name: "chain: a hash",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				k := keys.Chain(victim)
				tamperSet(t, b, k, tamperFlip(tamperGet(t, db, k), keys.ChainOff))
			},
			want: want{table: verifier.TableChain, seq: auditPtr(uint64(victim)), what: "chain hash stored", count: 1},
		},
		{
			// The chain hash and the record's tree hashes share one key:
			// deleting it loses both, and each is named.
			name: "chain: the record's hashes deleted",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				tamperDel(t, b, keys.Chain(victim))
			},
			want: want{table: verifier.TableTree, seq: auditPtr(uint64(victim)), treeIndex: auditPtr(leafIndex), what: "tree hash (level 0) missing", count: 2},
		},
		{
			name: "chain: the record's hashes truncated into the chain hash",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				k := keys.Chain(victim)
				tamperSet(t, b, k, tamperGet(t, db, k)[:31])
			},
			want: want{table: verifier.TableTree, seq: auditPtr(uint64(victim)), treeIndex: auditPtr(leafIndex), what: "tree hash (level 0) malformed", count: 2},
		},
		{
			name: "index: entry moved to another record",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				party := tamperIndexKey(t, victim, schemas.TermParty)
				tamperUnindex(t, db, b, schemas.TermParty, party, victim)
				tamperSet(t, b, keys.Index(schemas.TermParty, party, victim+1), nil) // a posting of one
			},
			// The party's posting (folded at Close: all its records) now
			// overlaps the one planted at 101, so the reads of its later
			// records go wrong too, and each is named after the first.
			want: want{table: verifier.TableIndex, seq: auditPtr(uint64(victim)), what: "index entry missing"},
		},
		{
			name: "index: a byte of the key changed",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				lot := tamperIndexKey(t, victim, schemas.TermLot)
				tamperUnindex(t, db, b, schemas.TermLot, lot, victim)
				tamperSet(t, b, keys.Index(schemas.TermLot, tamperFlip(lot, 0), victim), nil)
			},
			want: want{table: verifier.TableIndex, seq: auditPtr(uint64(victim)), count: 2},
		},
		{
			name: "index: a posting that does not decode",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				// Records 100…103 share their lot, in one posting keyed by 100.
				lot := tamperIndexKey(t, victim, schemas.TermLot)
				k := keys.Index(schemas.TermLot, lot, victim)
				if v := tamperGet(t, db, k); len(v) != 3 {
					t.Fatalf("posting of %q at %d: %x, want three more seqs", lot, victim, v)
				}
				tamperSet(t, b, k, []byte{0x80})
			},
			// The key still says 100; the seqs after it are lost.
			want: want{table: verifier.TableIndex, seq: auditPtr(uint64(victim + 1)), what: "index entry missing", count: 4},
		},
		{
			name: "index: an entry added",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				tamperSet(t, b, keys.Index(schemas.TermParty, []byte("party-x"), victim), nil)
			},
			want: want{table: verifier.TableIndex, seq: auditPtr(uint64(victim)), what: "a key the record does not carry", count: 1},
		},
		{
			name: "checkpoint: a byte of the signature",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				k := keys.Checkpoint(160)
				v := tamperGet(t, db, k)
				// A character in the middle of the base64 signature, replaced
				// by another base64 character (the last ones may only carry
				// padding bits).
				i := bytes.LastIndexByte(v, ' ') + 40
				if v[i] == 'A' {
					v[i] = 'B'
				} else {
					v[i] = 'A'
				}
				tamperSet(t, b, k, v)
			},
			want: want{table: verifier.TableCheckpoint, size: auditPtr(uint64(160)), what: "does not verify under the pinned key", count: 1},
		},
		{
			name: "checkpoint: the size line",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				k := keys.Checkpoint(160)
				v := tamperGet(t, db, k)
				i := bytes.Index(v, []byte("\n160\n"))
				v[i+3] = '1' // 160 → 161
				tamperSet(t, b, k, v)
			},
			want: want{table: verifier.TableCheckpoint, size: auditPtr(uint64(160)), what: "does not verify", count: 1},
		},
		{
			name: "checkpoint: moved to another size",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				v := tamperGet(t, db, keys.Checkpoint(160))
				tamperDel(t, b, keys.Checkpoint(160))
				tamperSet(t, b, keys.Checkpoint(161), v)
			},
			want: want{table: verifier.TableCheckpoint, size: auditPtr(uint64(161)), what: "signed note is for size 160 but stored under size 161", count: 1},
		},
		{
			name: "checkpoint: wrong root, validly signed with the log's key",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				tamperSet(t, b, keys.Checkpoint(160), tamperResign(t, dir, 160, tlog.Hash{1, 2, 3}))
			},
			want: want{table: verifier.TableCheckpoint, size: auditPtr(uint64(160)), what: "differs from the tree hash recomputed at size 160", count: 1},
		},
		{
			name: "dedupe: entry points at another seq",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				tamperSet(t, b, keys.Dedupe(tamperDigest(t, victim)), tamperSeq(victim+1))
			},
			want: want{table: verifier.TableDedupe, seq: auditPtr(uint64(victim)), what: "points at seq 101", count: 2},
		},
		{
			name: "dedupe: a byte of the digest",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				d := tamperDigest(t, victim)
				tamperDel(t, b, keys.Dedupe(d))
				tamperSet(t, b, keys.Dedupe(tamperFlip(d, 5)), tamperSeq(victim))
			},
			want: want{table: verifier.TableDedupe, seq: auditPtr(uint64(victim)), what: "no dedupe entry", count: 2},
		},
		{
			name: "dedupe: entry deleted",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				tamperDel(t, b, keys.Dedupe(tamperDigest(t, victim)))
			},
			want: want{table: verifier.TableDedupe, seq: auditPtr(uint64(victim)), what: "no dedupe entry", count: 1},
		},
		{
			name: "dedupe: entry added",
			change: func(t *testing.T, dir string, db *pebble.DB, b *pebble.Batch) {
				tamperSet(t, b, keys.Dedupe(bytes.Repeat([]byte{7}, 32)), tamperSeq(victim))
			},
			want: want{table: verifier.TableDedupe, seq: auditPtr(uint64(victim)), what: "another envelope digest", count: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tamperCopy(t, template)
			tamperStore(t, dir, func(db *pebble.DB, b *pebble.Batch) { tc.change(t, dir, db, b) })
			_, rep := tamperAudit(t, dir)
			p := rep.Problems[0]
			w := tc.want
			if p.Table != w.table || !auditEqPtr(p.Seq, w.seq) || !auditEqPtr(p.TreeIndex, w.treeIndex) || !auditEqPtr(p.Size, w.size) || !strings.Contains(p.What, w.what) {
				t.Errorf("first problem: %v\nwant table %s seq %v tree index %v size %v, what …%s…",
					p, w.table, auditDeref(w.seq), auditDeref(w.treeIndex), auditDeref(w.size), w.what)
			}
			if w.count > 0 && len(rep.Problems) != w.count {
				t.Errorf("%d problems, want %d: %v", len(rep.Problems), w.count, rep.Problems)
			}
			t.Log(auditProblemList(rep.Problems))
		})
	}
}

// TestTamperPending changes the pending blocks of a log whose digests and
// index keys were never folded into their tables: the audit reads them
// there and names the record.
func TestTamperPending(t *testing.T) {
	const victim = 100 // in the block of records 96…111, its fifth
	template := filepath.Join(t.TempDir(), "template")
	buildAuditLogWith(t, template, tamperSize, tamperBatch, ledger.Options{FoldAfter: -1})
	{
		l := openAuditLog(t, template)
		rep, err := verifier.Audit(t.Context(), l, verifier.AuditOptions{})
		if err != nil || !rep.OK() || rep.DedupeEntries != tamperSize {
			t.Fatalf("untouched, all pending: %v, %d dedupe entries, %v", err, rep.DedupeEntries, rep.Problems)
		}
		l.Close()
	}
	block := keys.Pending(96)
	// rewrite re-encodes block 96 after edit has changed its digests or
	// the index keys of a record.
	rewrite := func(t *testing.T, db *pebble.DB, b *pebble.Batch, edit func(digests []byte, recKeys [][]ledger.IndexKey)) {
		blk, err := keys.ParsePending(tamperGet(t, db, block))
		if err != nil {
			t.Fatal(err)
		}
		digests := bytes.Clone(blk.Digests)
		recKeys := make([][]ledger.IndexKey, blk.N)
		blk.Keys(func(i int, name, key []byte) bool {
			recKeys[i] = append(recKeys[i], ledger.IndexKey{Name: string(name), Key: bytes.Clone(key)})
			return true
		})
		edit(digests, recKeys)
		v := append(keys.AppendPendingCount(nil, blk.N), digests...)
		for _, ks := range recKeys {
			v = keys.AppendPendingCount(v, len(ks))
			for _, k := range ks {
				v = keys.AppendPendingKey(v, k.Name, k.Key)
			}
		}
		tamperSet(t, b, block, v)
	}
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, db *pebble.DB, b *pebble.Batch)
		table  string
		seq    uint64
		what   string
		count  int
	}{
		{
			name: "a byte of a digest",
			change: func(t *testing.T, db *pebble.DB, b *pebble.Batch) {
				rewrite(t, db, b, func(d []byte, _ [][]ledger.IndexKey) { d[4*keys.DigestSize+7] ^= 1 })
			},
			table: verifier.TableDedupe, seq: victim, what: "no dedupe entry", count: 2,
		},
		{
			name: "an index key changed",
			change: func(t *testing.T, db *pebble.DB, b *pebble.Batch) {
				rewrite(t, db, b, func(_ []byte, ks [][]ledger.IndexKey) {
					for i := range ks[4] {
						if ks[4][i].Name == schemas.TermParty {
							ks[4][i].Key = []byte("party-x")
						}
					}
				})
			},
			table: verifier.TableIndex, seq: victim, what: "index entry missing", count: 2,
		},
		{
			name: "an index key dropped",
			change: func(t *testing.T, db *pebble.DB, b *pebble.Batch) {
				rewrite(t, db, b, func(_ []byte, ks [][]ledger.IndexKey) { ks[4] = ks[4][:len(ks[4])-1] })
			},
			table: verifier.TableIndex, seq: victim, what: "index entry missing", count: 1,
		},
		{
			name: "the block deleted",
			change: func(t *testing.T, db *pebble.DB, b *pebble.Batch) {
				tamperDel(t, b, block)
			},
			table: verifier.TableDedupe, seq: 96, what: "no dedupe entry",
		},
		{
			name: "the block moved under a malformed key",
			change: func(t *testing.T, db *pebble.DB, b *pebble.Batch) {
				tamperSet(t, b, append(bytes.Clone(block), 0), tamperGet(t, db, block))
				tamperDel(t, b, block)
			},
			// Read-only, the log opens and leaves the block out.
			table: verifier.TableDedupe, seq: 96, what: "no dedupe entry",
		},
		{
			name: "a block that does not decode",
			change: func(t *testing.T, db *pebble.DB, b *pebble.Batch) {
				v := tamperGet(t, db, block)
				tamperSet(t, b, block, v[:len(v)-3])
			},
			// The digests still read; the key lists do not.
			table: verifier.TableIndex, seq: 96, what: "index entry missing",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tamperCopy(t, template)
			tamperStore(t, dir, func(db *pebble.DB, b *pebble.Batch) { tc.change(t, db, b) })
			l, rep := tamperAudit(t, dir)
			p := rep.Problems[0]
			if p.Table != tc.table || !auditEqPtr(p.Seq, &tc.seq) || !strings.Contains(p.What, tc.what) {
				t.Errorf("first problem: %v\nwant table %s seq %d, what …%s…", p, tc.table, tc.seq, tc.what)
			}
			if tc.count > 0 && len(rep.Problems) != tc.count {
				t.Errorf("%d problems, want %d: %v", len(rep.Problems), tc.count, rep.Problems)
			}
			t.Log(auditProblemList(rep.Problems))
			l.Close()
			// A writer refuses to open on a block that does not decode or
			// is missing; it opens on the others (their content decodes).
			w, err := ledger.Open(dir, ledger.Options{Logger: quiet, FoldAfter: -1})
			if err == nil {
				w.Close()
			}
			if refuse := tc.seq == 96; refuse != errors.Is(err, ledger.ErrCorrupt) {
				// (Only the last three cases are at seq 96.)
				t.Errorf("writable Open: %v", err)
			}
		})
	}
}

func auditEqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func auditProblemList(ps []verifier.Problem) string {
	var b strings.Builder
	for i, p := range ps {
		b.WriteString("\n  " + strconv.Itoa(i) + ". " + p.String())
	}
	return b.String()
}

// TestTamperHeadRecord changes the last record, which Open itself checks
// against the head: the ledger refuses to open, naming the record.
func TestTamperHeadRecord(t *testing.T) {
	dir := tamperTemplate(t)
	tamperStore(t, dir, func(db *pebble.DB, b *pebble.Batch) {
		k := keys.Record(tamperSize - 1)
		v := tamperGet(t, db, k)
		i := bytes.Index(v, []byte(`"received_at":"2025`))
		v[i+len(`"received_at":"202`)] = '4'
		tamperSet(t, b, k, v)
	})
	_, err := ledger.Open(dir, ledger.Options{ReadOnly: true, Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(tamperSize-1)) {
		t.Fatalf("open after changing the head record: %v, want an error naming record %d", err, tamperSize-1)
	}
}
