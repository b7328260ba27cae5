package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/schemas"
)

func init() {
	register(command{name: "keygen", summary: "create a producer signing key", run: runKeygen})
}

func runKeygen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tally keygen --out FILE [--party ID]")
		fmt.Fprintln(stderr, "\nCreates an Ed25519 signing key in FILE (mode 0600; never overwritten) and prints")
		fmt.Fprintln(stderr, "its key id and public key. With --party, also prints a party.registered")
		fmt.Fprintln(stderr, "statement to complete and submit, which registers the key for that party.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "key `file` to create")
	party := fs.String("party", "", "party `id` (slug) the key is for")
	if err := fs.Parse(args); err != nil {
		return cmdUsageError(err)
	}
	if fs.NArg() > 0 {
		return cmdUsageError(fmt.Errorf("keygen: unexpected arguments %q", fs.Args()))
	}
	if *out == "" {
		return cmdUsageError(errors.New("keygen: --out FILE is required"))
	}
	key, err := client.GenerateKey()
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if err := client.SaveKey(*out, key); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	fmt.Fprintf(stdout, "key written to %s (mode 0600)\n", *out)
	fmt.Fprintf(stdout, "key id      %s\n", key.ID)
	fmt.Fprintf(stdout, "public key  %s\n", key.PublicKeyString())
	if *party != "" {
		tmpl, err := json.Marshal(schemas.PartyRegistered{
			ID:      *party,
			Name:    "FILL IN: the party's name",
			Role:    "FILL IN: one of the vocabulary's roles",
			Country: "FILL IN: ISO 3166-1 alpha-2",
			OrgForm: "FILL IN: one of the organisational forms",
			Keys:    []string{key.PublicKeyString()},
		})
		if err != nil {
			return fmt.Errorf("keygen: %w", err)
		}
		fmt.Fprintf(stdout, "\nTo register party %s with this key, complete this statement into a file and run\n", *party)
		fmt.Fprintf(stdout, "  tally submit --key %s --kind %s FILE\n\n%s\n", *out, schemas.KindPartyRegistered, tmpl)
	}
	return nil
}
