package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/tally-ledger/tally/internal/provenance"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/reference"
	"github.com/tally-ledger/tally/schemas"
)

// A tiny ledger (a few chains after the parties' registrations), measured
// at two sizes, checked against admission, kept and then reused.
func TestBenchScore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "score")
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "score", "--entries", "340", "--small", "280", "--samples", "2", "--runs", "2", "--batch", "64", "--check", "--data", dir}
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("bench score: %v\n%s", err, stderr.String())
	}
	m := benchDecodeLine(t, stdout.String())
	benchPositive(t, m, "entries", "chains", "parties", "heap_inuse_mb", "peak_rss_mb", "warm_over_read", "build_seconds", "build_entries_per_sec", "size_growth", "heap_inuse_growth", "heap_live_growth")
	for _, k := range []string{"cold", "warm", "read_baseline"} {
		lat, ok := m[k].(map[string]any)
		if !ok {
			t.Fatalf("%s: missing: %s", k, stdout.String())
		}
		benchPositive(t, lat, "p50_ms", "p99_ms")
	}
	if m["bench"] != "score" || m["hops"] != json.Number("12") || m["samples"] != json.Number("2") || m["runs"] != json.Number("2") ||
		m["admission_checked"] != true || m["reused"] != false || m["data"] != dir {
		t.Errorf("bench score: %s", stdout.String())
	}
	if n, _ := m["entries"].(json.Number).Int64(); n < 340 {
		t.Errorf("entries = %d, want at least 340", n)
	}
	sizes, _ := m["sizes"].([]any)
	if len(sizes) != 2 {
		t.Fatalf("sizes: %d, want 2 (--small, then --entries)", len(sizes))
	}
	for i, s := range sizes {
		s := s.(map[string]any)
		benchPositive(t, s, "entries", "chains", "store_mb", "heap_inuse_mb", "peak_rss_mb", "heap_live_mb")
		// A ledger this small is still all in Pebble's memtable: the
		// block cache may hold nothing.
		if _, ok := s["block_cache_mb"].(json.Number); !ok {
			t.Errorf("size %d: block_cache_mb missing", i)
		}
		runs, _ := s["per_run"].([]any)
		if len(runs) != 2 {
			t.Errorf("size %d: %d runs, want 2", i, len(runs))
		}
		for _, r := range runs {
			if h := r.(map[string]any)["hops"]; h != json.Number("12") {
				t.Errorf("size %d: a run scored chains of %v hops, want 12", i, h)
			}
		}
	}
	if n, _ := sizes[0].(map[string]any)["entries"].(json.Number).Int64(); n < 280 || n >= 340 {
		t.Errorf("the small size has %d entries, want 280…339", n)
	}

	// The kept ledger passes the audit: its index keys are the ones the
	// ingest path writes (verifier.DomainIndex).
	var vout bytes.Buffer
	if err := run(t.Context(), []string{"verify", "--data", dir, "--json"}, &vout, &stderr); err != nil {
		t.Fatalf("verify of the bench ledger: %v\n%s\n%s", err, vout.String(), stderr.String())
	}
	if v := benchDecodeLine(t, vout.String()); v["ok"] != true || v["size"] != m["entries"] {
		t.Errorf("verify report: %s", vout.String())
	}

	// Every chain on the kept ledger is 12 hops, each consuming the lot
	// the one before it output, from the first seller to the consumer.
	l, err := ledger.Open(dir, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	finals, err := l.ByIndex(schemas.TermParty, []byte(schemas.EndConsumer), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := m["chains"].(json.Number).Int64(); len(finals) != int(want) || len(finals) < 5 {
		t.Errorf("%d final sales on the ledger, the benchmark reports %d (want at least 5: 2 runs × 2 samples at each size, and one to warm up)", len(finals), want)
	}
	bundled, err := reference.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	rd := provenance.New(l, bundled)
	for _, seq := range finals {
		b, err := l.RecordBytes(seq)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := scoreBenchDecode(b)
		if err != nil {
			t.Fatal(err)
		}
		lot := ev.(*schemas.HopRecorded).Output.Lot
		p, err := rd.Lot(t.Context(), lot)
		if err != nil {
			t.Fatalf("lot %s: %v", lot, err)
		}
		if len(p.Hops) != 12 || len(p.Notes) > 0 {
			t.Errorf("lot %s: %d hops, notes %q; want 12 hops and no notes", lot, len(p.Hops), p.Notes)
			continue
		}
		for i, h := range p.Hops {
			switch {
			case i == 0 && len(h.Inputs) != 0:
				t.Errorf("lot %s: first hop %s has inputs %v", lot, h.ID, h.Inputs)
			case i > 0 && (len(h.Inputs) != 1 || h.Inputs[0].Hop != p.Hops[i-1].ID):
				t.Errorf("lot %s: hop %s consumes %v, want the output of %s", lot, h.ID, h.Inputs, p.Hops[i-1].ID)
			}
		}
		cs, err := rd.LotScore(t.Context(), lot)
		if err != nil || len(cs.Hops) != 12 {
			t.Errorf("lot %s: score with %d hops, %v", lot, len(cs.Hops), err)
		}
	}
	l.Close()

	// The ledger is kept: a second run reuses it, measured at its size.
	stdout.Reset()
	args = []string{"bench", "score", "--samples", "2", "--runs", "1", "--data", dir}
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("bench score again: %v\n%s", err, stderr.String())
	}
	again := benchDecodeLine(t, stdout.String())
	if again["reused"] != true || again["entries"] != m["entries"] || len(again["sizes"].([]any)) != 1 {
		t.Errorf("bench score on an existing ledger: %s", stdout.String())
	}
}

func TestBenchScoreUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "score", "--hops", "0"},
		{"bench", "score", "--hops", "65"},
		{"bench", "score", "--samples", "0"},
		{"bench", "score", "--small", "-1"},
		{"bench", "score", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), args, &stdout, &stderr)
		if code := verifyExitCode(err); code != 2 {
			t.Errorf("%q: %v (exit %d), want exit 2", args, err, code)
		}
	}
}
