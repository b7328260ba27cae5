package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/term"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/verifier"
)

func init() {
	register(command{
		name:    "verify",
		summary: "audit a ledger: records, hash chain, Merkle tree, checkpoints, dedupe and indexes",
		run:     runVerify,
	})
}

// snapshotAttempts bounds how often verify starts its copy of a live store
// again because a compaction or flush changed the store while it copied.
const snapshotAttempts = 5

// snapshotRestarts counts snapshots thrown away and started again (for
// tests and debugging).
var snapshotRestarts atomic.Int64

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("verify", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprintln(stderr, `usage: tally verify --data DIR [--key VERIFIERKEY | --key-file FILE] [--json]

Audits the ledger in DIR (a serve data directory holding ledger/, or the
ledger directory itself, holding pebble/) from its records alone: every
record, leaf hash, chain hash, stored tree hash, checkpoint signature and
root, the dedupe table and the secondary indexes. It works while a server
is writing: it audits a consistent snapshot of the store taken without
stopping the writer (hard links to its sstables and a copy of its WAL and
MANIFEST, in a .tally-verify-* directory inside the ledger dir, removed at
the end). Exit status 1 names the first bad place.

flags:`)
		fl.PrintDefaults()
	}
	var (
		data    = fl.String("data", "", "data `DIR`: a serve data dir or a ledger dir (required)")
		key     = fl.String("key", "", "pin the log's note verifier key `TEXT` (origin+hash+base64); default: DIR's own log.pub")
		keyFile = fl.String("key-file", "", "read the pinned verifier key from `FILE`")
		asJSON  = fl.Bool("json", false, "print the report as one JSON object")
		tmp     = fl.String("tmp", "", "where to put the snapshot `DIR` (default: inside the ledger dir, same file system)")
	)
	if err := fl.Parse(args); err != nil {
		return verifyFlagError(err)
	}
	if *data == "" || fl.NArg() > 0 {
		fl.Usage()
		return &exitError{code: 2, err: errors.New("verify: --data DIR is required and takes no arguments")}
	}
	if *key != "" && *keyFile != "" {
		return &exitError{code: 2, err: errors.New("verify: give --key or --key-file, not both")}
	}
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("verify: --key-file: %w", err)}
		}
		*key = strings.TrimSpace(string(b))
	}
	var pinned note.Verifier
	if *key != "" {
		v, err := note.NewVerifier(*key)
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("verify: --key %q is not a note verifier key: %w", *key, err)}
		}
		pinned = v
	}
	dir, err := verifyLedgerDir(*data)
	if err != nil {
		return &exitError{code: 2, err: err}
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l, cleanup, err := openSnapshot(dir, *tmp, *key, logger)
	if err != nil {
		if errors.Is(err, ledger.ErrCorrupt) {
			// The store does not even open: the ledger's own checks at
			// Open (head against the last record, chain, tree, checkpoint)
			// failed. That is an audit failure, not a usage error.
			return &exitError{code: 1, err: fmt.Errorf("verify: %s: the store is inconsistent: %w", dir, err)}
		}
		return err
	}
	defer cleanup()

	prog := newVerifyProgress(stderr)
	rep, err := verifier.Audit(ctx, l, verifier.AuditOptions{Verifier: pinned, Progress: prog.update})
	prog.done()
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	keySource := "log.pub in the ledger dir (not pinned: pass --key to detect a replaced key)"
	if pinned != nil {
		keySource = "pinned"
	}
	if *asJSON {
		if err := writeVerifyJSON(stdout, dir, keySource, &rep); err != nil {
			return err
		}
	} else {
		writeVerifyText(stdout, dir, keySource, &rep)
	}
	if !rep.OK() {
		first := "more than the problem list holds"
		if len(rep.Problems) > 0 {
			first = rep.Problems[0].String()
		}
		return &exitError{code: 1, err: fmt.Errorf("verify: audit failed: first problem: %s", first)}
	}
	return nil
}

// verifyFlagError marks a flag-parsing error (or -h) for main: help is not
// a failure, anything else is a usage error (exit 2).
func verifyFlagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &exitError{code: 2, err: err}
}

// verifyLedgerDir finds the ledger in a data dir: DIR/ledger when DIR is a serve
// data dir, DIR itself when it holds pebble/.
func verifyLedgerDir(data string) (string, error) {
	for _, d := range []string{data, filepath.Join(data, "ledger")} {
		if fi, err := os.Stat(filepath.Join(d, "pebble")); err == nil && fi.IsDir() {
			return d, nil
		}
	}
	return "", fmt.Errorf("verify: no ledger in %s (want %s/pebble or %s/ledger/pebble)", data, data, data)
}

// openSnapshot opens a consistent, private copy of the ledger in dir.
//
// Pebble takes its directory lock even for a read-only open, so a store a
// server has open cannot be opened in place. Instead the store's files are
// snapshotted without the lock, the way Pebble's own Checkpoint does it from
// inside: the immutable files (sstables, blob files) are hard-linked — free,
// and a link keeps the data even if a compaction deletes the original — and
// the mutable ones (MANIFEST, OPTIONS, marker files, the WAL) are copied up
// to the length they had when the copy began. Bytes below a file's length
// are written, so each copy is a prefix of what Pebble wrote. If the set of
// files changed while copying (a flush or compaction ran, a WAL rotated), the
// copy may mix two versions of the store and is thrown away and started
// again, up to snapshotAttempts times.
//
// Opening the copy replays the copied WAL. Its end may be torn (a batch the
// writer was writing while it was copied): Pebble's WAL reader ends the last
// log at the first incomplete or checksum-failing chunk and treats that as
// the end of the log, not as corruption (pebble open.go replayWAL with
// strictWALTail=false for the newest WAL), so the snapshot holds every batch
// whose write completed before the copy, each whole — and since one Append
// is one batch, a whole number of Appends. Only if a chunk after the tear
// carries proof that the tear should have been valid (the read-ahead in
// pebble/record) does Pebble report corruption; with a concurrent copy that
// can be a chunk written just after the tear was read, so an open that fails
// is also retried.
func openSnapshot(dir, tmpBase, pinnedKey string, logger *slog.Logger) (*ledger.Log, func(), error) {
	var lastErr error
	for attempt := 1; attempt <= snapshotAttempts; attempt++ {
		snap, stable, err := snapshotStore(dir, tmpBase)
		if err != nil {
			return nil, nil, err
		}
		cleanup := func() { os.RemoveAll(snap) }
		if attempt > 1 {
			snapshotRestarts.Add(1)
		}
		if !stable {
			cleanup()
			lastErr = errors.New("the store kept changing while it was copied")
			continue
		}
		opts := ledger.Options{ReadOnly: true, Logger: logger}
		if _, err := os.Stat(filepath.Join(snap, "log.pub")); err != nil {
			opts.VerifierKey = pinnedKey // no log.pub: the pinned key is all there is
		}
		l, err := ledger.Open(snap, opts)
		if err == nil {
			return l, func() { l.Close(); cleanup() }, nil
		}
		cleanup()
		lastErr = err
		if errors.Is(err, ledger.ErrCorrupt) || errors.Is(err, ledger.ErrNotFound) || errors.Is(err, ledger.ErrInvalid) {
			// The ledger opened the copy and judged it: another copy
			// would be judged the same.
			return nil, nil, err
		}
	}
	return nil, nil, fmt.Errorf("verify: no consistent snapshot of %s after %d attempts: %w", dir, snapshotAttempts, lastErr)
}

// snapshotStore makes one attempt at copying dir/pebble (and the key files)
// into a new directory. stable reports whether the store's file set stayed
// the same throughout.
func snapshotStore(dir, tmpBase string) (snap string, stable bool, err error) {
	snap, err = makeSnapshotDir(dir, tmpBase)
	if err != nil {
		return "", false, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(snap)
		}
	}()
	src, dst := filepath.Join(dir, "pebble"), filepath.Join(snap, "pebble")
	if err := os.Mkdir(dst, 0o700); err != nil {
		return "", false, err
	}
	before, err := storeFiles(src)
	if err != nil {
		return "", false, err
	}
	// Immutable files first, then the WAL, then the MANIFEST and what
	// points at it: a MANIFEST copied last can only name tables that
	// existed before it (and were linked) or appeared since — which changes
	// the file set and restarts the copy.
	rank := func(name string) int {
		switch {
		case immutableFile(name):
			return 0
		case strings.HasSuffix(name, ".log"):
			return 1
		}
		return 2
	}
	names := slices.SortedFunc(slices.Values(before), func(a, b string) int { return rank(a) - rank(b) })
	for _, name := range names {
		s, d := filepath.Join(src, name), filepath.Join(dst, name)
		if immutableFile(name) {
			err = snapshotLink(s, d)
		} else {
			err = snapshotCopy(s, d)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return snap, false, nil // removed under us: a compaction ran
		}
		if err != nil {
			return "", false, fmt.Errorf("verify: snapshot %s: %w", s, err)
		}
	}
	after, err := storeFiles(src)
	if err != nil {
		return "", false, err
	}
	if !slices.Equal(before, after) {
		return snap, false, nil
	}
	for _, f := range []string{"log.pub"} {
		if err := snapshotCopy(filepath.Join(dir, f), filepath.Join(snap, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", false, err
		}
	}
	return snap, true, nil
}

// makeSnapshotDir creates the snapshot directory: under tmpBase if given,
// else inside the ledger dir (the same file system, so sstables can be
// hard-linked), else in the system temp dir (copying instead).
func makeSnapshotDir(dir, tmpBase string) (string, error) {
	if tmpBase != "" {
		return os.MkdirTemp(tmpBase, ".tally-verify-")
	}
	if d, err := os.MkdirTemp(dir, ".tally-verify-"); err == nil {
		return d, nil
	}
	return os.MkdirTemp("", "tally-verify-")
}

// storeFiles lists the regular files of a Pebble directory that a snapshot
// needs, sorted. The LOCK file and Pebble's temporary files are not part of
// the store's state.
func storeFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || n == "LOCK" || strings.HasSuffix(n, ".dbtmp") {
			continue
		}
		names = append(names, n)
	}
	return names, nil
}

// immutableFile reports whether Pebble never changes a file once written.
func immutableFile(name string) bool {
	return strings.HasSuffix(name, ".sst") || strings.HasSuffix(name, ".blob")
}

// snapshotLink hard-links src to dst, or copies it where linking is not
// possible (another file system).
func snapshotLink(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	} else if errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return snapshotCopy(src, dst)
}

// snapshotCopy copies src to dst up to the length src had when it was
// opened: a file appended to meanwhile yields a prefix of what was written.
func snapshotCopy(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, io.LimitReader(in, fi.Size())); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// ---- Output. ----

func writeVerifyText(w io.Writer, dir, keySource string, rep *verifier.Report) {
	status := "OK"
	if !rep.OK() {
		status = "FAILED"
	}
	fmt.Fprintf(w, "tally verify %s: %s\n", dir, status)
	fmt.Fprintf(w, "  origin        %s\n", rep.Origin)
	fmt.Fprintf(w, "  size          %d records\n", rep.Size)
	fmt.Fprintf(w, "  root          %s\n", rep.Root)
	fmt.Fprintf(w, "  chain         %s\n", rep.Chain)
	fmt.Fprintf(w, "  checkpoints   %d checked, key: %s\n", rep.Checkpoints, keySource)
	fmt.Fprintf(w, "  tree hashes   %d checked\n", rep.TreeHashes)
	fmt.Fprintf(w, "  chain hashes  %d checked\n", rep.ChainHashes)
	fmt.Fprintf(w, "  dedupe        %d entries checked\n", rep.DedupeEntries)
	fmt.Fprintf(w, "  index         %d entries checked\n", rep.IndexEntries)
	fmt.Fprintf(w, "  seconds       %.2f\n", rep.Seconds)
	if rep.OK() {
		return
	}
	const show = 20
	fmt.Fprintf(w, "  problems      %d", len(rep.Problems))
	if rep.Truncated {
		fmt.Fprintf(w, " (stopped at %d)", verifier.MaxProblems)
	}
	fmt.Fprintln(w)
	for i, p := range rep.Problems {
		if i == show {
			fmt.Fprintf(w, "    … %d more (--json lists them all)\n", len(rep.Problems)-show)
			break
		}
		fmt.Fprintf(w, "    %s\n", p)
	}
}

func writeVerifyJSON(w io.Writer, dir, keySource string, rep *verifier.Report) error {
	problems := rep.Problems
	if problems == nil {
		problems = []verifier.Problem{}
	}
	out := struct {
		OK            bool               `json:"ok"`
		Dir           string             `json:"dir"`
		Origin        string             `json:"origin"`
		Size          uint64             `json:"size"`
		Root          string             `json:"root"`
		Chain         string             `json:"chain"`
		Checkpoints   uint64             `json:"checkpoints"`
		Key           string             `json:"key"`
		TreeHashes    uint64             `json:"tree_hashes"`
		ChainHashes   uint64             `json:"chain_hashes"`
		DedupeEntries uint64             `json:"dedupe_entries"`
		IndexEntries  uint64             `json:"index_entries"`
		Seconds       float64            `json:"seconds"`
		Problems      []verifier.Problem `json:"problems"`
		Truncated     bool               `json:"truncated"`
	}{
		rep.OK(), dir, rep.Origin, rep.Size, rep.Root.String(), rep.Chain.String(), rep.Checkpoints, keySource,
		rep.TreeHashes, rep.ChainHashes, rep.DedupeEntries, rep.IndexEntries, rep.Seconds, problems, rep.Truncated,
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// verifyProgress shows the audit's progress on a terminal: one line, rewritten
// in place at most five times a second. Elsewhere (a pipe, a log file) it
// prints nothing.
type verifyProgress struct {
	w     io.Writer
	on    bool
	mu    sync.Mutex
	last  time.Time
	start time.Time
	shown bool
}

func newVerifyProgress(stderr io.Writer) *verifyProgress {
	p := &verifyProgress{w: stderr, start: time.Now()}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.on = true
	}
	return p
}

func (p *verifyProgress) update(done, total uint64) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond && done != total {
		return
	}
	p.last = now
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	fmt.Fprintf(p.w, "\raudit: %d/%d records (%.0f%%), %.0f s", done, total, pct, now.Sub(p.start).Seconds())
	p.shown = true
}

func (p *verifyProgress) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
