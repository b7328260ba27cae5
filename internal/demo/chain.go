package demo

import (
	"bytes"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/tally-ledger/tally/schemas"
)

// chainJSON is the demo chain. Parties carry no keys (Key derives them) and
// attestations name their hop by id (the digest of the hop's envelope is
// filled in when the hop is signed); everything else is the payload as
// signed.
//
//go:embed data/chain.json
var chainJSON []byte

// chain is data/chain.json decoded.
type chain struct {
	About        string                `json:"about"`
	Parties      []party               `json:"parties"`
	Hops         []schemas.HopRecorded `json:"hops"`
	Attestations []attestation         `json:"attestations"`
	Benchmarks   []benchmark           `json:"benchmarks"`
}

// party is a party.registered payload without its keys.
type party struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	Country string `json:"country"`
	Region  string `json:"region,omitempty"`
	OrgForm string `json:"org_form"`
}

// attestation is an attestation.recorded payload whose subject is named by
// hop id only, with a reference (Ref) for SOURCES.md.
type attestation struct {
	Ref string `json:"ref"`
	Hop string `json:"hop"`
	schemas.AttestationRecorded
}

// benchmark is a benchmark.published payload with a reference for
// SOURCES.md.
type benchmark struct {
	Ref string `json:"ref"`
	schemas.BenchmarkPublished
}

// loadChain decodes the embedded chain strictly: an unknown member is a
// typo that would otherwise silently drop a figure.
func loadChain() (*chain, error) {
	dec := json.NewDecoder(bytes.NewReader(chainJSON))
	dec.DisallowUnknownFields()
	var c chain
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: data/chain.json: %v", ErrData, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data/chain.json: trailing data after the chain", ErrData)
	}
	return &c, nil
}

func (c *chain) partyIDs() []string {
	ids := make([]string, len(c.Parties))
	for i, p := range c.Parties {
		ids[i] = p.ID
	}
	return ids
}

// statement is one signed demo statement.
type statement struct {
	label string // kind, subject and signer, for messages
	env   schemas.Envelope
}

// statements builds, validates and signs every statement of the chain in
// submission order: parties, hops upstream to downstream, attestations,
// benchmarks. Each is validated with the vocabulary's rules before it is
// signed, so a mistake in the data fails here, naming the statement and
// the field, rather than at the ledger.
func (c *chain) statements() ([]statement, error) {
	out := make([]statement, 0, len(c.Parties)+len(c.Hops)+len(c.Attestations)+len(c.Benchmarks))
	add := func(kind, subject, signer string, ev schemas.Event) (schemas.Envelope, error) {
		label := fmt.Sprintf("%s %s, signed by %s", kind, subject, signer)
		if problems := schemas.Validate(ev); len(problems) > 0 {
			msgs := make([]string, len(problems))
			for i, p := range problems {
				msgs[i] = p.Message
			}
			return schemas.Envelope{}, fmt.Errorf("%w: %s: %s", ErrData, label, strings.Join(msgs, "; "))
		}
		env, err := schemas.Sign(kind, ev, Key(signer))
		if err != nil {
			return schemas.Envelope{}, fmt.Errorf("%w: %s: %w", ErrData, label, err)
		}
		out = append(out, statement{label: label, env: env})
		return env, nil
	}

	for _, p := range c.Parties {
		ev := &schemas.PartyRegistered{
			ID: p.ID, Name: p.Name, Role: p.Role, Country: p.Country, Region: p.Region, OrgForm: p.OrgForm,
			Keys: []string{schemas.EncodePublicKey(publicKey(p.ID))},
		}
		if _, err := add(schemas.KindPartyRegistered, p.ID, p.ID, ev); err != nil {
			return nil, err
		}
	}

	digests := make(map[string]string, len(c.Hops))
	for i := range c.Hops {
		h := &c.Hops[i]
		env, err := add(schemas.KindHopRecorded, h.ID, h.Seller, h)
		if err != nil {
			return nil, err
		}
		d, err := env.Digest()
		if err != nil {
			return nil, fmt.Errorf("%w: hop %s: %w", ErrData, h.ID, err)
		}
		if _, dup := digests[h.ID]; dup {
			return nil, fmt.Errorf("%w: hop id %s is used twice", ErrData, h.ID)
		}
		digests[h.ID] = hex.EncodeToString(d[:])
	}

	for _, a := range c.Attestations {
		digest, ok := digests[a.Hop]
		if !ok {
			return nil, fmt.Errorf("%w: attestation %s names hop %q, which the chain does not record", ErrData, a.Ref, a.Hop)
		}
		ev := a.AttestationRecorded
		ev.Subject = schemas.Subject{Hop: a.Hop, Digest: digest}
		if _, err := add(schemas.KindAttestationRecorded, a.Claim+" on "+a.Hop, a.Attester, &ev); err != nil {
			return nil, err
		}
	}

	for _, b := range c.Benchmarks {
		ev := b.BenchmarkPublished
		subject := fmt.Sprintf("%s %s %s %d", ev.Measure, ev.Country, ev.Region, ev.Year)
		if _, err := add(schemas.KindBenchmarkPublished, subject, ev.Publisher, &ev); err != nil {
			return nil, err
		}
	}
	return out, nil
}
