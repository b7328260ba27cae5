package events_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/schemas"
)

// submitAll submits envs concurrently over nc and returns the receipts in
// order; every receipt must verify against the log's key.
func submitAll(t *testing.T, nc *nats.Conn, envs []schemas.Envelope, vkey string) []*client.Receipt {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sub := &client.NATS{Conn: nc, PollInterval: 200 * time.Millisecond}
	receipts := make([]*client.Receipt, len(envs))
	errs := make([]error, len(envs))
	var wg sync.WaitGroup
	for i := range envs {
		wg.Go(func() { receipts[i], errs[i] = sub.Submit(ctx, envs[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("submission %d: %v", i, err)
		}
		canon, _ := envs[i].Canonical()
		if err := client.VerifyReceipt(receipts[i], vkey, canon); err != nil {
			t.Fatalf("receipt %d does not verify: %v", i, err)
		}
	}
	return receipts
}

func TestIngestReceiptsOverNATS(t *testing.T) {
	emb := startNATS(t, "", 0)
	nc := connect(t, emb.ClientURL())
	l := openLedger(t)
	m := events.NewMetrics(nil)
	runIngest(t, nc, &events.LedgerProcessor{Log: l}, events.IngestOptions{Metrics: m})

	feed := make(chan *nats.Msg, 64)
	fsub, err := nc.ChanSubscribe(events.SubjectCommittedPrefix+">", feed)
	if err != nil {
		t.Fatal(err)
	}
	defer fsub.Unsubscribe()

	key := newKey(t)
	const n = 20
	envs := make([]schemas.Envelope, n)
	for i := range envs {
		envs[i], _ = signedParty(t, i, key)
	}
	receipts := submitAll(t, nc, envs, l.VerifierKey())

	seen := map[uint64]bool{}
	for i, r := range receipts {
		if r.Duplicate {
			t.Errorf("receipt %d: duplicate on first submission", i)
		}
		if r.Kind != schemas.KindPartyRegistered {
			t.Errorf("receipt %d: kind %q", i, r.Kind)
		}
		if seen[r.Seq] {
			t.Errorf("receipt %d: seq %d given twice", i, r.Seq)
		}
		seen[r.Seq] = true
	}
	if got := l.Head().Size; got != n {
		t.Fatalf("ledger size %d, want %d", got, n)
	}

	// A repeated submission is answered with the original receipt.
	again, err := client.SubmitNATS(t.Context(), nc, envs[3])
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Seq != receipts[3].Seq || again.EntryHash != receipts[3].EntryHash {
		t.Errorf("resubmission: got seq %d dup %v entry %s, want the original seq %d entry %s",
			again.Seq, again.Duplicate, again.EntryHash, receipts[3].Seq, receipts[3].EntryHash)
	}
	canon, _ := envs[3].Canonical()
	if err := client.VerifyReceipt(again, l.VerifierKey(), canon); err != nil {
		t.Errorf("duplicate receipt does not verify: %v", err)
	}
	if got := l.Head().Size; got != n {
		t.Errorf("ledger size %d after a resubmission, want %d", got, n)
	}

	// The committed feed carried every new entry, once.
	got := map[uint64]bool{}
	for len(got) < n {
		select {
		case msg := <-feed:
			var c events.Committed
			if err := json.Unmarshal(msg.Data, &c); err != nil {
				t.Fatal(err)
			}
			if msg.Subject != events.SubjectCommittedPrefix+schemas.KindPartyRegistered {
				t.Errorf("feed subject %s", msg.Subject)
			}
			got[c.Seq] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("committed feed: %d of %d entries", len(got), n)
		}
	}

	// Metrics are counted once outcomes are confirmed, just after the
	// submitter may have seen them.
	waitFor(t, 5*time.Second, "metrics", func() bool { return value(m.ReceiptSeconds) == n+1 })
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"committed", value(m.Submissions.WithLabelValues("committed")), n},
		{"duplicate", value(m.Submissions.WithLabelValues("duplicate")), 1},
		{"rejected", value(m.Submissions.WithLabelValues("rejected")), 0},
	} {
		if c.got != c.want {
			t.Errorf("submissions{result=%q} = %v, want %v", c.name, c.got, c.want)
		}
	}
	if value(m.BatchSize) < 1 || value(m.CommitSeconds) < 1 || value(m.ReceiptSeconds) != n+1 {
		t.Errorf("histograms observed %v batches, %v commits, %v receipts", value(m.BatchSize), value(m.CommitSeconds), value(m.ReceiptSeconds))
	}
}

func TestIngestRejectsMalformedAndContinues(t *testing.T) {
	emb := startNATS(t, "", 0)
	nc := connect(t, emb.ClientURL())
	l := openLedger(t)
	m := events.NewMetrics(nil)
	runIngest(t, nc, &events.LedgerProcessor{Log: l}, events.IngestOptions{Metrics: m})
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	key := newKey(t)
	good, _ := signedParty(t, 1, key)
	validEnv, _ := good.Canonical()
	cases := []struct {
		name string
		data string
		want []events.Reason // path and rule only
	}{
		{"not JSON", "hello", []events.Reason{{Path: "", Rule: "json"}}},
		{"unknown member", strings.Replace(string(validEnv), `"payload":`, `"extra":1,"payload":`, 1), []events.Reason{{Path: "/extra", Rule: "unknown_field"}}},
		{"no signatures", `{"payload":"e30=","payloadType":"application/vnd.tally.party.registered.v1+json","signatures":[]}`, []events.Reason{{Path: "/signatures", Rule: "min"}}},
		{"bad base64", `{"payload":"!!","payloadType":"application/vnd.tally.party.registered.v1+json","signatures":[` + sigJSON(good) + `]}`, []events.Reason{{Path: "/payload", Rule: "base64"}}},
	}
	for _, c := range cases {
		if _, err := js.Publish(t.Context(), events.SubjectSubmitPrefix+"party.registered", []byte(c.data)); err != nil {
			t.Fatalf("%s: publish: %v", c.name, err)
		}
	}
	// Ingest goes on: a valid submission after the bad ones is committed.
	r, err := client.SubmitNATS(t.Context(), nc, good)
	if err != nil {
		t.Fatalf("valid submission after malformed ones: %v", err)
	}
	if err := client.VerifyReceipt(r, l.VerifierKey(), validEnv); err != nil {
		t.Fatal(err)
	}
	if r.Seq != 0 {
		t.Errorf("seq %d, want 0 (nothing malformed enters the log)", r.Seq)
	}

	// Every malformed message is kept, with its reasons, in TALLY_REJECTED.
	// (The valid submission's receipt may come before the rejections of
	// the same batch are stored.)
	stream, err := js.Stream(t.Context(), events.StreamRejected)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "rejections stored", func() bool {
		info, err := stream.Info(t.Context())
		return err == nil && info.State.Msgs == uint64(len(cases))
	})
	waitFor(t, 5*time.Second, "metrics", func() bool { return value(m.ReceiptSeconds) == float64(len(cases)+1) })
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg, err := stream.GetMsg(t.Context(), uint64(i+1))
			if err != nil {
				t.Fatal(err)
			}
			var rej events.Rejected
			if err := json.Unmarshal(msg.Data, &rej); err != nil {
				t.Fatal(err)
			}
			if rej.StreamSeq != uint64(i+1) || string(rej.Data) != c.data {
				t.Errorf("rejected message: stream seq %d data %q, want %d %q", rej.StreamSeq, rej.Data, i+1, c.data)
			}
			var got []events.Reason
			for _, r := range rej.Reasons {
				if r.Message == "" {
					t.Errorf("reason %s/%s without a message", r.Path, r.Rule)
				}
				got = append(got, events.Reason{Path: r.Path, Rule: r.Rule})
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
	if got := value(m.Submissions.WithLabelValues("rejected")); got != float64(len(cases)) {
		t.Errorf("rejected submissions %v, want %d", got, len(cases))
	}
	if got := value(m.Rejects.WithLabelValues("json")); got != 1 {
		t.Errorf("rejects{rule=json} = %v, want 1", got)
	}
}

func sigJSON(env schemas.Envelope) string {
	b, _ := json.Marshal(env.Signatures[0])
	return string(b)
}

func TestIngestRejectionReachesSubmitter(t *testing.T) {
	emb := startNATS(t, "", 0)
	nc := connect(t, emb.ClientURL())
	l := openLedger(t)
	// Admission rejects party ids ending in "-banned".
	admit := events.AdmitterFunc(func(_ context.Context, batch []events.Candidate) ([][]events.Reason, error) {
		out := make([][]events.Reason, len(batch))
		for i, c := range batch {
			if strings.Contains(string(c.Payload), `-banned"`) {
				out[i] = []events.Reason{{Path: "/payload/id", Rule: "banned", Message: "this party may not register"}}
			}
		}
		return out, nil
	})
	runIngest(t, nc, &events.LedgerProcessor{Log: l, Admission: admit}, events.IngestOptions{})
	key := newKey(t)

	t.Run("admission", func(t *testing.T) {
		p := partyPayload(7, key)
		p = []byte(strings.Replace(string(p), `"coop-7"`, `"coop-7-banned"`, 1))
		env, err := client.Sign(schemas.KindPartyRegistered, p, key)
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.SubmitNATS(t.Context(), nc, env)
		var rej *client.RejectedError
		if !errors.As(err, &rej) || !errors.Is(err, client.ErrRejected) {
			t.Fatalf("got %v, want a rejection", err)
		}
		want := []client.Reason{{Path: "/payload/id", Rule: "banned", Message: "this party may not register"}}
		if diff := cmp.Diff(want, rej.Rejection.Reasons); diff != "" {
			t.Errorf("reasons (-want +got):\n%s", diff)
		}
		d, _ := env.Digest()
		if rej.Rejection.Digest != hexOf(d) {
			t.Errorf("rejection digest %s, want %s", rej.Rejection.Digest, hexOf(d))
		}
	})

	t.Run("non-canonical payload", func(t *testing.T) {
		body := []byte(`{ "id": "coop-x" }`)
		env := schemas.Envelope{Payload: base64.StdEncoding.EncodeToString(body), PayloadType: schemas.PayloadType(schemas.KindPartyRegistered)}
		sig := ed25519.Sign(key.Private, schemas.PAE(env.PayloadType, body))
		env.Signatures = []schemas.Signature{{KeyID: key.ID, Sig: base64.StdEncoding.EncodeToString(sig)}}
		_, err := client.SubmitNATS(t.Context(), nc, env)
		var rej *client.RejectedError
		if !errors.As(err, &rej) {
			t.Fatalf("got %v, want a rejection", err)
		}
		if len(rej.Rejection.Reasons) != 1 || rej.Rejection.Reasons[0].Rule != events.RuleCanonical || rej.Rejection.Reasons[0].Path != "/payload" {
			t.Errorf("reasons %+v, want /payload canonical", rej.Rejection.Reasons)
		}
	})

	t.Run("payload over the vocabulary's limit", func(t *testing.T) {
		// Not of Tally's strict envelope form, but it has a digest: the
		// submitter is answered instead of left waiting.
		big := []byte(`{"id":"` + strings.Repeat("x", schemas.MaxPayloadSize) + `"}`)
		env, err := client.Sign(schemas.KindPartyRegistered, big, key)
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.SubmitNATS(t.Context(), nc, env)
		var rej *client.RejectedError
		if !errors.As(err, &rej) {
			t.Fatalf("got %v, want a rejection", err)
		}
		if len(rej.Rejection.Reasons) == 0 || rej.Rejection.Reasons[0].Rule != "max_size" {
			t.Errorf("reasons %+v, want max_size", rej.Rejection.Reasons)
		}
	})

	if l.Head().Size != 0 {
		t.Errorf("ledger holds %d entries, want 0", l.Head().Size)
	}
}

func TestIngestRetriesFailedBatches(t *testing.T) {
	emb := startNATS(t, "", 0)
	nc := connect(t, emb.ClientURL())
	l := openLedger(t)
	m := events.NewMetrics(nil)
	lp := &events.LedgerProcessor{Log: l}
	// The first call commits and then fails (as if the process died after
	// the fsync), the second fails before doing anything; the batch must
	// come again, unacknowledged, and be answered without a second copy.
	var calls atomic.Int32
	p := events.ProcessorFunc(func(ctx context.Context, b []events.Submission) ([]events.Outcome, error) {
		switch calls.Add(1) {
		case 1:
			if _, err := lp.Process(ctx, b); err != nil {
				return nil, err
			}
			return nil, errors.New("disk on fire after the commit")
		case 2:
			return nil, errors.New("disk on fire")
		}
		return lp.Process(ctx, b)
	})
	runIngest(t, nc, p, events.IngestOptions{Metrics: m})
	key := newKey(t)
	env, canon := signedParty(t, 1, key)
	r, err := client.SubmitNATS(t.Context(), nc, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.VerifyReceipt(r, l.VerifierKey(), canon); err != nil {
		t.Fatal(err)
	}
	if l.Head().Size != 1 || r.Seq != 0 {
		t.Errorf("ledger size %d, receipt seq %d; want one entry at 0", l.Head().Size, r.Seq)
	}
	if got := value(m.ProcessErrors); got != 2 {
		t.Errorf("process errors %v, want 2", got)
	}
}

func TestIngestBackpressure(t *testing.T) {
	emb := startNATS(t, "", 0)
	nc := connect(t, emb.ClientURL())
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// No ingest loop: the stream fills up.
	if err := events.SetupStreams(t.Context(), js, events.StreamOptions{MaxMsgs: 3}); err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	for i := range 4 {
		env, _ := signedParty(t, i, key)
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		_, err := client.SubmitNATS(ctx, nc, env)
		cancel()
		want := client.ErrTimeout // accepted, never answered
		if i == 3 {
			want = client.ErrBusy
		}
		if !errors.Is(err, want) {
			t.Errorf("submission %d: got %v, want %v", i, err, want)
		}
	}
}

func TestIngestResumesWhereItStopped(t *testing.T) {
	emb := startNATS(t, "", 0)
	nc := connect(t, emb.ClientURL())
	l := openLedger(t)
	_, stop := runIngest(t, nc, &events.LedgerProcessor{Log: l}, events.IngestOptions{})
	key := newKey(t)
	first := make([]schemas.Envelope, 5)
	for i := range first {
		first[i], _ = signedParty(t, i, key)
	}
	submitAll(t, nc, first, l.VerifierKey())
	stop()

	// Submissions arrive while no loop runs.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var later [][]byte
	for i := 5; i < 12; i++ {
		_, canon := signedParty(t, i, key)
		later = append(later, canon)
		if _, err := js.Publish(t.Context(), events.SubjectSubmitPrefix+schemas.KindPartyRegistered, canon); err != nil {
			t.Fatal(err)
		}
	}
	ing, _ := runIngest(t, nc, &events.LedgerProcessor{Log: l}, events.IngestOptions{})
	waitFor(t, 10*time.Second, "the backlog to be committed", func() bool { return l.Head().Size == 12 })
	// In stream order, each exactly once.
	for i, want := range later {
		rec, err := l.Get(uint64(5 + i))
		if err != nil {
			t.Fatal(err)
		}
		if string(rec.Envelope) != string(want) {
			t.Errorf("record %d is not the %dth submission", 5+i, 5+i)
		}
	}
	waitFor(t, 5*time.Second, "position", func() bool { return ing.Position() == 12 })
}

func hexOf(d [32]byte) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 64)
	for i, c := range d {
		b[2*i], b[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(b)
}
