package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tally-ledger/tally/schemas"
)

func init() {
	register(command{name: "validate", summary: "check statements offline against the vocabulary", run: runValidate})
}

// validateResult is what `tally validate --json` reports for one file.
type validateResult struct {
	File     string            `json:"file"`
	Form     string            `json:"form"` // "envelope", "payload", or "" when unreadable
	Kind     string            `json:"kind,omitempty"`
	Valid    bool              `json:"valid"`
	Problems []validateProblem `json:"problems"`
}

// validateProblem is a schemas.Problem and what its path points into: the
// "payload", the "envelope" around it, or the "file" itself.
type validateProblem struct {
	In string `json:"in"`
	schemas.Problem
}

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tally validate [--json] [--kind KIND] FILE...")
		fmt.Fprintln(stderr, "\nChecks statements offline against the vocabulary, without a ledger and without")
		fmt.Fprintln(stderr, "verifying signatures. A FILE is a DSSE envelope (its kind comes from its")
		fmt.Fprintln(stderr, "payloadType and its payload must be RFC 8785 canonical JSON) or a bare payload")
		fmt.Fprintln(stderr, "(its kind given by --kind; any JSON layout, since signing canonicalizes it).")
		fmt.Fprintln(stderr, "Prints FILE: PATH: message for each problem, PATH a JSON Pointer; exits 1 if")
		fmt.Fprintln(stderr, "any file is invalid.")
		fmt.Fprintf(stderr, "\nkinds: %s\n\nflags:\n", strings.Join(schemas.Kinds(), ", "))
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print a JSON report instead of lines")
	kind := fs.String("kind", "", "event `kind` of bare payloads, e.g. hop.recorded")
	// Flags may follow file names: parse, take a file, parse the rest.
	var files []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return &exitError{code: 2, err: err}
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) == 0 {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("validate: no FILE given")}
	}
	if *kind != "" && !schemas.KnownKind(*kind) {
		return &exitError{code: 2, err: fmt.Errorf("validate: unknown --kind %q (want one of %s)", *kind, strings.Join(schemas.Kinds(), ", "))}
	}

	results := make([]validateResult, 0, len(files))
	invalid := 0
	for _, name := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := validateFile(name, *kind)
		if !r.Valid {
			invalid++
		}
		results = append(results, r)
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(struct {
			Valid bool             `json:"valid"`
			Files []validateResult `json:"files"`
		}{invalid == 0, results}); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			if r.Valid {
				fmt.Fprintf(stdout, "%s: ok (%s %s)\n", r.File, r.Kind, r.Form)
				continue
			}
			for _, p := range r.Problems {
				path := p.Path
				if path == "" {
					path = "(root)"
				}
				fmt.Fprintf(stdout, "%s: %s: %s\n", r.File, path, p.Message)
			}
		}
	}
	if invalid > 0 {
		return &exitError{code: 1, err: fmt.Errorf("validate: %d of %d files invalid", invalid, len(files))}
	}
	return nil
}

// validateFile checks one file. It never fails: whatever is wrong, down to
// an unreadable file, is a problem in the result.
func validateFile(name, kind string) validateResult {
	r := validateResult{File: name}
	data, err := readLimited(name, schemas.MaxEnvelopeSize)
	if err != nil {
		r.Problems = []validateProblem{{In: "file", Problem: schemas.Problem{Rule: "read", Message: err.Error()}}}
		return r
	}
	if looksLikeEnvelope(data) {
		r.Form = "envelope"
		env, err := schemas.DecodeEnvelope(data)
		if err != nil {
			var ee *schemas.EnvelopeError
			if errors.As(err, &ee) {
				r.Problems = wrapProblems("envelope", ee.Problems)
			} else {
				r.Problems = []validateProblem{{In: "envelope", Problem: schemas.Problem{Rule: "envelope", Message: err.Error()}}}
			}
			return r
		}
		r.Kind, _ = schemas.KindOf(env.PayloadType)
		if kind != "" && kind != r.Kind {
			r.Problems = append(r.Problems, validateProblem{In: "envelope", Problem: schemas.Problem{Path: "/payloadType", Rule: "kind",
				Message: fmt.Sprintf("payloadType names kind %q, not the %q given by --kind", r.Kind, kind)}})
		}
		_, problems := schemas.ValidateEnvelope(&env)
		r.Problems = append(r.Problems, wrapProblems("payload", problems)...)
	} else {
		r.Form = "payload"
		r.Kind = kind
		if kind == "" {
			r.Problems = []validateProblem{{In: "file", Problem: schemas.Problem{Rule: "kind",
				Message: fmt.Sprintf("a bare payload does not say its kind: give --kind (one of %s), or validate the signed envelope", strings.Join(schemas.Kinds(), ", "))}}}
			return r
		}
		_, problems := schemas.ValidatePayload(kind, data)
		r.Problems = wrapProblems("payload", problems)
	}
	r.Valid = len(r.Problems) == 0
	if r.Problems == nil {
		r.Problems = []validateProblem{}
	}
	return r
}

func wrapProblems(in string, ps []schemas.Problem) []validateProblem {
	out := make([]validateProblem, 0, len(ps))
	for _, p := range ps {
		out = append(out, validateProblem{In: in, Problem: p})
	}
	return out
}

// readLimited reads a file of at most limit bytes; a larger one is refused
// without being read whole.
func readLimited(name string, limit int) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, fmt.Errorf("file is larger than the %d bytes a statement may take", limit)
	}
	return data, nil
}

// looksLikeEnvelope tells an envelope from a bare payload: an envelope is an
// object with a payloadType or signatures member, which no payload has.
func looksLikeEnvelope(data []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return false
	}
	_, hasType := top["payloadType"]
	_, hasSigs := top["signatures"]
	return hasType || hasSigs
}
