package verifier_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
	"github.com/tally-ledger/tally/verifier"
)

// The crash test: a child process appends entries 0, 1, 2, … in batches of
// random sizes and prints "ack i seq" for each only after Append returns;
// the parent kills it with SIGKILL at random moments, then checks that the
// store is whole (the audit passes) and that everything acknowledged is in
// it exactly once. Every child starts again from entry 0, so most of what it
// appends at first is already in the log: duplicates must come back with
// their original seq, across crashes.

const (
	crashDirEnv  = "TALLY_CRASH_DIR"
	crashSeedEnv = "TALLY_CRASH_SEED" // set it to replay a failing run
	crashRounds  = 24
)

// TestCrashChild is the child's body; it does nothing unless TestCrash
// started it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("child of TestCrash")
	}
	seed, _ := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 1))
	l, err := ledger.Open(dir, ledger.Options{Logger: quiet})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(3)
	}
	for i := 0; ; {
		n := 1 + rng.IntN(24)
		es := make([]ledger.Entry, n)
		for j := range es {
			es[j] = auditEntry(t, i+j)
		}
		out, _, err := l.Append(t.Context(), es)
		if err != nil {
			fmt.Fprintln(os.Stderr, "append:", err)
			os.Exit(3)
		}
		// Only now is the batch durable: acknowledge it.
		var b strings.Builder
		for j, a := range out {
			fmt.Fprintf(&b, "ack %d %d %t\n", i+j, a.Seq, a.Duplicate)
		}
		if _, err := os.Stdout.WriteString(b.String()); err != nil {
			os.Exit(4)
		}
		i += n
	}
}

// crashDigest is the dedupe identity of test entry i without signing it:
// the digest covers the payload, not the signatures.
func crashDigest(i int) [32]byte {
	body, err := json.Marshal(verifier.BenchPayload{
		Lot:   fmt.Sprintf("lot-%d", i/4),
		N:     uint64(i),
		Pad:   "xxxxxxxx",
		Party: fmt.Sprintf("party-%d", i%7),
	})
	if err != nil {
		panic(err)
	}
	return sha256.Sum256(schemas.PAE(verifier.BenchPayloadType, body))
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process two dozen times")
	}
	for _, i := range []int{0, 1, 999} {
		if crashDigest(i) != auditEntry(t, i).Digest {
			t.Fatalf("crashDigest(%d) disagrees with the entry's digest", i)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(crashSeedEnv); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (replay with %s=%d)", seed, crashSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	dir := t.TempDir()

	acked := map[int]uint64{} // entry → seq, over all rounds
	var lastSize uint64
	killedAppending := 0
	for round := range crashRounds {
		lines, wait := crashStartChild(t, dir, rng.Uint64())
		// Most rounds die while new records are being appended; some while
		// the child is still opening the log or re-appending duplicates.
		earlyKill := rng.IntN(4) == 0
		delay := time.Duration(rng.IntN(150)) * time.Millisecond
		var deadline <-chan time.Time
		if earlyKill {
			deadline = time.After(delay)
		}
		newSeen := false
		var roundAcks [][3]string
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read // the child died on its own
				}
				roundAcks = append(roundAcks, l)
				if l[2] == "false" && !newSeen {
					newSeen = true
					if !earlyKill {
						deadline = time.After(delay)
					}
				}
			case <-deadline:
				break read
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: child silent for 10 s", round)
			}
		}
		rest := wait() // SIGKILL, then whatever it printed before dying
		roundAcks = append(roundAcks, rest...)
		if newSeen {
			killedAppending++
		}

		for _, a := range roundAcks {
			i, _ := strconv.Atoi(a[0])
			seq, _ := strconv.ParseUint(a[1], 10, 64)
			if prev, ok := acked[i]; ok && prev != seq {
				t.Fatalf("round %d: entry %d acknowledged at seq %d, earlier at seq %d", round, i, seq, prev)
			}
			acked[i] = seq
		}
		lastSize = crashCheck(t, dir, round, acked, lastSize)
	}
	t.Logf("%d rounds (%d killed while appending new records): %d records, %d acknowledged", crashRounds, killedAppending, lastSize, len(acked))
	if killedAppending < crashRounds/2 {
		t.Errorf("only %d of %d rounds were killed while appending new records", killedAppending, crashRounds)
	}
}

// crashStartChild starts the child appender. lines delivers its acks as
// (i, seq, duplicate); wait kills the child and returns the acks it printed
// that lines had not delivered.
func crashStartChild(t *testing.T, dir string, seed uint64) (lines <-chan [3]string, wait func() [][3]string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashSeedEnv+"="+strconv.FormatUint(seed, 10))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan [3]string, 1<<16)
	var rest [][3]string
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 4 || f[0] != "ack" {
				continue
			}
			a := [3]string{f[1], f[2], f[3]}
			select {
			case ch <- a:
			default:
				mu.Lock()
				rest = append(rest, a)
				mu.Unlock()
			}
		}
		close(ch)
	}()
	return ch, func() [][3]string {
		cmd.Process.Kill()
		<-done
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != -1 { // -1: killed by a signal
			t.Fatalf("child ended with %v before it was killed; stderr:\n%s", err, stderr.String())
		}
		var left [][3]string
		for a := range ch {
			left = append(left, a)
		}
		mu.Lock()
		defer mu.Unlock()
		return append(left, rest...)
	}
}

// crashCheck opens the log a killed child left, audits it and checks
// every acknowledgement against it. It returns the log's size.
func crashCheck(t *testing.T, dir string, round int, acked map[int]uint64, lastSize uint64) uint64 {
	t.Helper()
	l, err := ledger.Open(dir, ledger.Options{ReadOnly: true, Logger: quiet})
	if err != nil && lastSize == 0 && len(acked) == 0 {
		// Killed while the log was being created: the next child must
		// still open it, which the following round checks.
		t.Logf("round %d: killed before the log was whole: %v", round, err)
		return 0
	}
	if err != nil {
		t.Fatalf("round %d: openAuditLog after the crash: %v", round, err)
	}
	defer l.Close()
	rep, err := verifier.Audit(t.Context(), l, verifier.AuditOptions{})
	if err != nil {
		t.Fatalf("round %d: audit: %v", round, err)
	}
	if !rep.OK() {
		t.Fatalf("round %d: audit after the crash: %v", round, rep.Problems)
	}
	size := l.Head().Size
	if size < lastSize {
		t.Fatalf("round %d: the log shrank from %d to %d records", round, lastSize, size)
	}
	// Entries are appended in order and duplicates add nothing, so the log
	// must be exactly entries 0…size-1, each once, at its own seq.
	for i, seq := range acked {
		if seq != uint64(i) {
			t.Fatalf("round %d: entry %d acknowledged at seq %d", round, i, seq)
		}
		got, ok, err := l.Lookup(crashDigest(i))
		if err != nil || !ok || got != seq {
			t.Fatalf("round %d: acknowledged entry %d (seq %d): Lookup = %d, %t, %v", round, i, seq, got, ok, err)
		}
	}
	err = l.Scan(0, 0, func(rec ledger.Record) error {
		var env schemas.Envelope
		if err := json.Unmarshal(rec.Envelope, &env); err != nil {
			return err
		}
		d, err := env.Digest()
		if err != nil {
			return err
		}
		if d != crashDigest(int(rec.Seq)) {
			return fmt.Errorf("record %d is not entry %d", rec.Seq, rec.Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	return size
}
