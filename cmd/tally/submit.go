package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/schemas"
)

func init() {
	register(command{name: "submit", summary: "sign statements and submit them, waiting for receipts", run: runSubmit})
}

// submitStatement is one payload to sign, with where it came from.
type submitStatement struct {
	where   string // FILE:N (the Nth JSON value of FILE)
	kind    string
	payload json.RawMessage
}

// submitResult is what became of one statement.
type submitResult struct {
	receipt *client.Receipt
	err     error
}

func runSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tally submit --key FILE [--http URL | --nats URL] [--kind KIND] FILE…")
		fmt.Fprintln(stderr, "\nSigns each payload with the key, submits it and waits for its receipt. A FILE")
		fmt.Fprintln(stderr, "holds one JSON payload or many (JSON Lines); - reads standard input. Without")
		fmt.Fprintln(stderr, "--kind every value must be {\"kind\": KIND, \"payload\": {...}}. Statements are")
		fmt.Fprintln(stderr, "submitted in order, each after the previous one's receipt (so a statement may")
		fmt.Fprintln(stderr, "refer to an earlier one); --concurrency trades that order for speed. Over NATS,")
		fmt.Fprintln(stderr, "--bulk N sends up to N statements per message (each still signed, judged and")
		fmt.Fprintln(stderr, "answered on its own, in order). Exits 1 when anything is rejected or fails,")
		fmt.Fprintln(stderr, "printing the reasons.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	keyFile := fs.String("key", "", "signing key `file` (tally keygen)")
	httpURL := fs.String("http", "", "ledger HTTP API base `URL` (default http://127.0.0.1:8080 unless --nats)")
	kind := fs.String("kind", "", "event `kind` of every payload, e.g. hop.recorded")
	workers := fs.Int("concurrency", 1, "submissions in flight at once; above 1 the log's order of the statements may differ from the files'")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait for each receipt")
	logKey := fs.String("log-key", "", "log verifier `key` (printed by tally serve); if given, every receipt is verified")
	asJSON := fs.Bool("json", false, "print each receipt as a JSON line instead of a summary line")
	bulk := fs.Int("bulk", 1, fmt.Sprintf("with --nats: statements per message, 1 to %d (bulk submissions)", client.MaxBulkEnvelopes))
	var nf natsFlags
	nf.add(fs, "submit over NATS at `URL` instead of HTTP")
	if err := fs.Parse(args); err != nil {
		return cmdUsageError(err)
	}
	switch {
	case *keyFile == "":
		return cmdUsageError(errors.New("submit: --key FILE is required"))
	case fs.NArg() == 0:
		return cmdUsageError(errors.New("submit: no input files (use - for standard input)"))
	case *httpURL != "" && nf.url != "":
		return cmdUsageError(errors.New("submit: give --http or --nats, not both"))
	case *workers < 1:
		return cmdUsageError(errors.New("submit: --concurrency must be at least 1"))
	case *bulk < 1 || *bulk > client.MaxBulkEnvelopes:
		return cmdUsageError(fmt.Errorf("submit: --bulk must be from 1 to %d", client.MaxBulkEnvelopes))
	case *bulk > 1 && nf.url == "":
		return cmdUsageError(errors.New("submit: --bulk needs --nats (the HTTP API takes one envelope per request)"))
	}
	if *kind != "" && !schemas.KnownKind(*kind) {
		return cmdUsageError(fmt.Errorf("submit: --kind %q is not a kind of the vocabulary (%v)", *kind, schemas.Kinds()))
	}
	key, err := client.LoadKey(*keyFile)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	var stmts []submitStatement
	for _, name := range fs.Args() {
		s, err := submitReadStatements(name, *kind)
		if err != nil {
			return &exitError{code: 1, err: fmt.Errorf("submit: %w", err)}
		}
		stmts = append(stmts, s...)
	}

	var sub client.Submitter
	var natsSub *client.NATS
	if nf.url != "" {
		nc, err := nf.connect(nf.url, "tally-submit", slog.New(slog.DiscardHandler))
		if err != nil {
			return fmt.Errorf("submit: %w", err)
		}
		defer nc.Close()
		natsSub = &client.NATS{Conn: nc, Timeout: *timeout}
		sub = natsSub
	} else {
		base := *httpURL
		if base == "" {
			base = "http://127.0.0.1:8080"
		}
		sub = &client.HTTP{BaseURL: base}
	}

	// Sign everything first: a bad payload stops the run before anything
	// is submitted.
	envs := make([]schemas.Envelope, len(stmts))
	for i, s := range stmts {
		env, err := client.Sign(s.kind, s.payload, key)
		if err != nil {
			return &exitError{code: 1, err: fmt.Errorf("submit: %s: %w", s.where, err)}
		}
		envs[i] = env
	}

	results := make([]submitResult, len(stmts))
	prog := newSubmitProgress(stderr, len(stmts))
	finish := func(i int, r *client.Receipt, err error) {
		if err == nil && *logKey != "" {
			if canon, cerr := envs[i].Canonical(); cerr != nil {
				err = cerr
			} else if verr := client.VerifyReceipt(r, *logKey, canon); verr != nil {
				err = verr
			}
		}
		results[i] = submitResult{receipt: r, err: err}
		prog.done(err)
	}
	// A job is statements [lo, lo+bulk): one message.
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(*workers, len(stmts)) {
		wg.Go(func() {
			for lo := range jobs {
				hi := min(lo+*bulk, len(stmts))
				sctx, cancel := context.WithTimeout(ctx, *timeout)
				if *bulk == 1 {
					r, err := sub.Submit(sctx, envs[lo])
					finish(lo, r, err)
				} else {
					res, err := natsSub.SubmitBulk(sctx, envs[lo:hi])
					for i := lo; i < hi; i++ {
						if err != nil {
							finish(i, nil, err)
						} else {
							finish(i, res[i-lo].Receipt, res[i-lo].Err)
						}
					}
				}
				cancel()
			}
		})
	}
	for lo := 0; lo < len(stmts); lo += *bulk {
		if ctx.Err() != nil {
			break
		}
		jobs <- lo
	}
	close(jobs)
	wg.Wait()
	prog.finish()

	var failed, rejected int
	for i, r := range results {
		s := stmts[i]
		switch {
		case r.err == nil && r.receipt == nil:
			failed++
			fmt.Fprintf(stderr, "%s: not submitted (interrupted)\n", s.where)
		case r.err != nil:
			var rej *client.RejectedError
			if errors.As(r.err, &rej) {
				rejected++
				fmt.Fprintf(stderr, "%s: rejected\n", s.where)
				for _, reason := range rej.Rejection.Reasons {
					path := reason.Path
					if path == "" {
						path = "(envelope)"
					}
					fmt.Fprintf(stderr, "    %s: %s [%s]\n", path, reason.Message, reason.Rule)
				}
			} else {
				failed++
				fmt.Fprintf(stderr, "%s: %v\n", s.where, r.err)
			}
		case *asJSON:
			b, _ := json.Marshal(r.receipt)
			fmt.Fprintf(stdout, "%s\n", b)
		default:
			note := ""
			if r.receipt.Duplicate {
				note = " (already in the log)"
			}
			verified := ""
			if *logKey != "" {
				verified = " verified"
			}
			fmt.Fprintf(stdout, "%s: %s seq %d entry %s%s%s\n", s.where, r.receipt.Kind, r.receipt.Seq, r.receipt.EntryHash, verified, note)
		}
	}
	if rejected+failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("submit: %d of %d not logged (%d rejected, %d failed)", rejected+failed, len(stmts), rejected, failed)}
	}
	return ctx.Err()
}

// submitReadStatements reads the JSON values of a file ("-": standard input).
func submitReadStatements(name, kind string) ([]submitStatement, error) {
	var r io.Reader
	if name == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	dec := json.NewDecoder(bufio.NewReader(r))
	var out []submitStatement
	for n := 1; ; n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s:%d: not JSON: %w", name, n, err)
		}
		s := submitStatement{where: fmt.Sprintf("%s:%d", name, n), kind: kind, payload: raw}
		if kind == "" {
			var wrapped struct {
				Kind    string          `json:"kind"`
				Payload json.RawMessage `json:"payload"`
			}
			d := json.NewDecoder(bytes.NewReader(raw))
			d.DisallowUnknownFields()
			if err := d.Decode(&wrapped); err != nil || wrapped.Kind == "" || len(wrapped.Payload) == 0 {
				return nil, fmt.Errorf("%s: without --kind each value must be {\"kind\": KIND, \"payload\": {...}}", s.where)
			}
			if !schemas.KnownKind(wrapped.Kind) {
				return nil, fmt.Errorf("%s: /kind %q is not a kind of the vocabulary (%v)", s.where, wrapped.Kind, schemas.Kinds())
			}
			s.kind, s.payload = wrapped.Kind, wrapped.Payload
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no JSON values", name)
	}
	return out, nil
}

// submitProgress shows a one-line counter on a terminal (and nothing otherwise).
type submitProgress struct {
	mu            sync.Mutex
	w             io.Writer
	tty           bool
	total, n, bad int
	last          time.Time
}

func newSubmitProgress(w io.Writer, total int) *submitProgress {
	f, ok := w.(*os.File)
	return &submitProgress{w: w, total: total, tty: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *submitProgress) done(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if err != nil {
		p.bad++
	}
	if p.tty && (time.Since(p.last) > 100*time.Millisecond || p.n == p.total) {
		p.last = time.Now()
		fmt.Fprintf(p.w, "\rsubmitted %d/%d, %d not logged", p.n, p.total, p.bad)
	}
}

func (p *submitProgress) finish() {
	if p.tty && p.n > 0 {
		fmt.Fprintln(p.w)
	}
}
