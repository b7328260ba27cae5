package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tally-ledger/tally/schemas"
)

func init() {
	register(command{name: "example", summary: "print a valid example statement of a kind", run: runExample})
}

func runExample(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tally example [--envelope] KIND")
		fmt.Fprintln(stderr, "\nPrints a valid example payload of KIND as canonical JSON (RFC 8785): a cobalt")
		fmt.Fprintln(stderr, "miners' cooperative in Kolwezi and its trader. The figures are invented.")
		fmt.Fprintln(stderr, "With --envelope, prints it signed in a DSSE envelope by the example key of the")
		fmt.Fprintln(stderr, "party that would sign it (a published, deterministic key: never a real one).")
		fmt.Fprintf(stderr, "\nkinds: %s\n\nflags:\n", strings.Join(schemas.Kinds(), ", "))
		fs.PrintDefaults()
	}
	envelope := fs.Bool("envelope", false, "print a signed DSSE envelope instead of the bare payload")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &exitError{code: 2, err: err}
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("example: give exactly one KIND")}
	}
	kind := fs.Arg(0)
	if !schemas.KnownKind(kind) {
		return &exitError{code: 2, err: fmt.Errorf("example: unknown kind %q (want one of %s)", kind, strings.Join(schemas.Kinds(), ", "))}
	}
	var out []byte
	var err error
	if *envelope {
		var e schemas.Envelope
		if e, err = schemas.ExampleEnvelope(kind); err == nil {
			out, err = e.Canonical()
		}
	} else {
		out, err = schemas.Example(kind)
	}
	if err != nil {
		return fmt.Errorf("example: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}
