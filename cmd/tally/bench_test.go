package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// benchDecodeLine checks that out is exactly one JSON object on one line and
// returns its members.
func benchDecodeLine(t *testing.T, out string) map[string]any {
	t.Helper()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("want one JSON line, got %q", out)
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, out)
	}
	return m
}

// benchPositive checks that each named member is a number > 0.
func benchPositive(t *testing.T, m map[string]any, names ...string) {
	t.Helper()
	for _, n := range names {
		v, ok := m[n].(json.Number)
		if !ok {
			t.Errorf("%s: missing or not a number: %v", n, m[n])
			continue
		}
		if f, err := v.Float64(); err != nil || f <= 0 {
			t.Errorf("%s = %v, want a positive number", n, v)
		}
	}
}

func TestBenchLedger(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"bench", "ledger", "--records", "2000", "--batch", "100", "--size", "400", "--runs", "2", "--tmp", t.TempDir()}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench ledger: %v\n%s", err, stderr.String())
	}
	m := benchDecodeLine(t, stdout.String())
	benchPositive(t, m, "seconds", "events_per_sec", "baseline_seconds", "baseline_events_per_sec", "ratio", "peak_rss_mb", "baseline_peak_rss_mb", "generate_seconds")
	want := map[string]any{"bench": "ledger", "records": json.Number("2000"), "batch": json.Number("100"), "size": json.Number("400"), "runs": json.Number("2")}
	got := map[string]any{}
	for k := range want {
		got[k] = m[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("settings echoed (-want +got):\n%s", diff)
	}
	// Records are as large as asked, to within base64's 4-byte steps.
	if rb, _ := m["record_bytes"].(json.Number).Float64(); rb < 396 || rb > 400 {
		t.Errorf("record_bytes = %v, want 396…400", rb)
	}
	runs, _ := m["per_run"].([]any)
	if len(runs) != 2 {
		t.Fatalf("per_run has %d runs, want 2", len(runs))
	}
	for _, r := range runs {
		benchPositive(t, r.(map[string]any), "seconds", "events_per_sec", "baseline_seconds", "baseline_events_per_sec", "ratio", "peak_rss_mb")
	}
}

// A ledger written by the benchmark is a well-formed log: it passes verify.
func TestBenchLedgerDataPassesVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bench")
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"bench", "ledger", "--records", "700", "--batch", "64", "--runs", "1", "--baseline=false", "--data", dir}, &stdout, &stderr); err != nil {
		t.Fatalf("bench ledger: %v\n%s", err, stderr.String())
	}
	m := benchDecodeLine(t, stdout.String())
	if m["data"] != dir {
		t.Errorf("data = %v, want %s", m["data"], dir)
	}
	stdout.Reset()
	if err := run(t.Context(), []string{"verify", "--data", dir, "--json"}, &stdout, &stderr); err != nil {
		t.Fatalf("verify of the bench ledger: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	v := benchDecodeLine(t, stdout.String())
	if v["ok"] != true || v["size"] != json.Number("700") || v["index_entries"] != json.Number("2100") {
		t.Errorf("verify report: %s", stdout.String())
	}
	// The dir now holds a ledger: the benchmark refuses to write into it.
	err := run(t.Context(), []string{"bench", "ledger", "--records", "10", "--data", dir}, &stdout, &stderr)
	if code := verifyExitCode(err); code != 2 {
		t.Errorf("bench into a used dir: %v (exit %d), want exit 2", err, code)
	}
}

func TestBenchProofs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "proofs")
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "proofs", "--records", "3000", "--samples", "300", "--data", dir}
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("bench proofs: %v\n%s", err, stderr.String())
	}
	m := benchDecodeLine(t, stdout.String())
	benchPositive(t, m, "inclusion_p50_us", "inclusion_p99_us", "consistency_p50_us", "consistency_p99_us", "build_seconds")
	if m["records"] != json.Number("3000") || m["samples"] != json.Number("300") || m["reused"] != false {
		t.Errorf("bench proofs: %s", stdout.String())
	}
	// Again on the same dir: the log is reused, not rebuilt.
	stdout.Reset()
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("bench proofs again: %v\n%s", err, stderr.String())
	}
	if m := benchDecodeLine(t, stdout.String()); m["reused"] != true || m["records"] != json.Number("3000") {
		t.Errorf("bench proofs on an existing log: %s", stdout.String())
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench"},
		{"bench", "nothing"},
		{"bench", "ledger", "--records", "0"},
		{"bench", "proofs", "--samples", "-1"},
		{"bench", "ledger", "--no-such-flag"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), args, &stdout, &stderr)
		if code := verifyExitCode(err); code != 2 {
			t.Errorf("%q: %v (exit %d), want exit 2", args, err, code)
		}
	}
}

// bench ingest, embedded: every hop gets a receipt, every figure is there,
// the transport ceiling included; without it, none of its fields.
func TestBenchIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two embedded NATS servers")
	}
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"bench", "ingest", "--events", "300", "--publishers", "4", "--sellers", "3", "--tmp", t.TempDir()}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench ingest: %v\n%s", err, stderr.String())
	}
	m := benchDecodeLine(t, stdout.String())
	benchPositive(t, m, "seconds", "events_per_sec", "p50_ms", "p99_ms", "verify_ceiling_events_per_sec", "cpu_us_per_event",
		"transport_ceiling_events_per_sec", "transport_cpu_us_per_event", "transport_p99_ms", "ratio_to_transport_ceiling")
	if m["mode"] != "embedded" || m["receipts"] != json.Number("300") || m["rejected"] != json.Number("0") || m["missing"] != json.Number("0") {
		t.Errorf("mode %v, receipts %v, rejected %v, missing %v; want embedded, 300, 0, 0", m["mode"], m["receipts"], m["rejected"], m["missing"])
	}

	stdout.Reset()
	if err := run(t.Context(), []string{"bench", "ingest", "--events", "50", "--publishers", "2", "--sellers", "2", "--transport=false", "--tmp", t.TempDir()}, &stdout, &stderr); err != nil {
		t.Fatalf("bench ingest --transport=false: %v\n%s", err, stderr.String())
	}
	m = benchDecodeLine(t, stdout.String())
	if _, ok := m["transport_ceiling_events_per_sec"]; ok || m["receipts"] != json.Number("50") {
		t.Errorf("--transport=false: transport ceiling %v, receipts %v", m["transport_ceiling_events_per_sec"], m["receipts"])
	}
	// Bulk submissions: 250 hops in messages of 16 (the last holds 10),
	// every one answered with its own receipt, and the transport ceiling
	// measured the same way.
	stdout.Reset()
	heap := filepath.Join(t.TempDir(), "heap.prof")
	if err := run(t.Context(), []string{"bench", "ingest", "--events", "250", "--bulk", "16", "--publishers", "3", "--sellers", "3", "--memprofile", heap, "--tmp", t.TempDir()}, &stdout, &stderr); err != nil {
		t.Fatalf("bench ingest --bulk 16: %v\n%s", err, stderr.String())
	}
	// A pprof profile is gzipped protocol buffers.
	if b, err := os.ReadFile(heap); err != nil || len(b) < 64 || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Errorf("--memprofile wrote %d bytes (%v), not a profile", len(b), err)
	}
	m = benchDecodeLine(t, stdout.String())
	benchPositive(t, m, "seconds", "events_per_sec", "p99_ms", "transport_ceiling_events_per_sec")
	if m["bulk"] != json.Number("16") || m["receipts"] != json.Number("250") || m["duplicates"] != json.Number("0") || m["missing"] != json.Number("0") {
		t.Errorf("--bulk 16: bulk %v, receipts %v, duplicates %v, missing %v; want 16, 250, 0, 0", m["bulk"], m["receipts"], m["duplicates"], m["missing"])
	}
}
