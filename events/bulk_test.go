package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// TestBulkSubmission sends statements in bulk submissions through the
// admission rules: each line is judged on its own, in order, seeing the
// lines before it; the answer comes in parts that the client puts back
// together, and every receipt verifies.
func TestBulkSubmission(t *testing.T) {
	// Small answer parts, so that a bulk answer takes several.
	nc, l, m := admissionIngest(t, events.IngestOptions{AnswerBytes: 8 << 10})
	sub := &client.NATS{Conn: nc}

	coop, trader := newKey(t), newKey(t)
	hop1 := admitHop(t, "hop-1", "kolwezi-coop", "musompo-trader", "lot-1", "2000", coop)
	envs := []schemas.Envelope{
		admitParty(t, "kolwezi-coop", "miner", coop),
		admitParty(t, "musompo-trader", "trader", trader),
		hop1, // needs both parties, registered by the lines before it
		admitHop(t, "hop-2", "musompo-trader", "kolwezi-coop", "lot-2", "1500", trader,
			schemas.Input{Lot: "lot-1", Quantity: schemas.Quantity{Amount: "1500", Unit: "KGM"}}),
		// lot-1 has 500 left after hop-2.
		admitHop(t, "hop-3", "musompo-trader", "kolwezi-coop", "lot-3", "600", trader,
			schemas.Input{Lot: "lot-1", Quantity: schemas.Quantity{Amount: "600", Unit: "KGM"}}),
		hop1, // again, within the same submission
	}
	for i := range 8 { // enough receipts for several 8 KiB parts
		envs = append(envs, admitHop(t, fmt.Sprintf("hop-x%d", i), "kolwezi-coop", "musompo-trader", fmt.Sprintf("lot-x%d", i), "10", coop))
	}
	res, err := sub.SubmitBulk(t.Context(), envs)
	if err != nil {
		t.Fatalf("SubmitBulk: %v", err)
	}
	if len(res) != len(envs) {
		t.Fatalf("%d results for %d envelopes", len(res), len(envs))
	}
	wantSeq := map[int]uint64{0: 0, 1: 1, 2: 2, 3: 3, 5: 2}
	for i := 6; i < len(envs); i++ {
		wantSeq[i] = uint64(i - 2)
	}
	for i, r := range res {
		if i == 4 {
			var rej *client.RejectedError
			if !errors.As(r.Err, &rej) {
				t.Fatalf("line 5: got %v, want a rejection", r.Err)
			}
			d, _ := envs[i].Digest()
			got := []string{}
			for _, x := range rej.Rejection.Reasons {
				got = append(got, x.Path+" "+x.Rule)
			}
			if diff := cmp.Diff([]string{"/payload/inputs/0/quantity double_spend"}, got); diff != "" || rej.Rejection.Digest != hexOf(d) {
				t.Errorf("line 5 rejection %s (-want +got):\n%s", rej.Rejection.Digest, diff)
			}
			continue
		}
		if r.Err != nil {
			t.Fatalf("line %d: %v", i+1, r.Err)
		}
		if r.Receipt.Seq != wantSeq[i] || r.Receipt.Duplicate != (i == 5) {
			t.Errorf("line %d: seq %d duplicate %v, want seq %d duplicate %v", i+1, r.Receipt.Seq, r.Receipt.Duplicate, wantSeq[i], i == 5)
		}
		canon, _ := envs[i].Canonical()
		if err := client.VerifyReceipt(r.Receipt, l.VerifierKey(), canon); err != nil {
			t.Errorf("line %d: receipt does not verify: %v", i+1, err)
		}
	}

	// The answer was stored in parts, each within the bound, covering
	// every line once.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	receipts, err := js.Stream(t.Context(), events.StreamReceipts)
	if err != nil {
		t.Fatal(err)
	}
	body := bulkBody(t, envs)
	parts := 0
	for first := 0; first < len(envs); parts++ {
		msg, err := receipts.GetLastMsgForSubject(t.Context(), events.BulkPartSubject(events.BulkDigest(body), first))
		if err != nil {
			t.Fatalf("part from line %d: %v", first, err)
		}
		var part events.BulkOutcome
		if err := json.Unmarshal(msg.Data, &part); err != nil || part.First != first || len(part.Outcomes) == 0 {
			t.Fatalf("part from line %d: first %d, %d outcomes, %v", first, part.First, len(part.Outcomes), err)
		}
		if len(msg.Data) > 8<<10 || msg.Header.Get(events.HeaderBulkLines) != fmt.Sprint(len(envs)) {
			t.Errorf("part from line %d: %d bytes, lines %q", first, len(msg.Data), msg.Header.Get(events.HeaderBulkLines))
		}
		first += len(part.Outcomes)
	}
	if parts < 2 {
		t.Errorf("the answer took %d part(s); the test wants several", parts)
	}

	// Ledger order goes on after the bulk: a single submission follows.
	after, err := sub.Submit(t.Context(), admitHop(t, "hop-4", "kolwezi-coop", "musompo-trader", "lot-4", "10", coop))
	if err != nil || after.Seq != uint64(len(envs)-2) {
		t.Fatalf("single submission after the bulk: %v, %v; want seq %d", after, err, len(envs)-2)
	}

	// Resubmitting the whole bulk is answered from the log: nothing new.
	again, err := sub.SubmitBulk(t.Context(), envs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again {
		if i == 4 {
			if r.Err == nil {
				t.Errorf("line 5 admitted on resubmission")
			}
			continue
		}
		if r.Err != nil || !r.Receipt.Duplicate || r.Receipt.Seq != wantSeq[i] {
			t.Errorf("resubmitted line %d: %+v", i+1, r)
		}
	}
	if got := l.Head().Size; got != uint64(len(envs)-1) {
		t.Errorf("ledger holds %d entries, want %d", got, len(envs)-1)
	}
	if got := value(m.Submissions.WithLabelValues("committed")); got != float64(len(envs)-1) {
		t.Errorf("committed submissions %v, want %d", got, len(envs)-1)
	}
}

// TestBulkRefusedAndMalformedLines: a message that is not a bulk
// submission is refused as a whole with its reasons and kept in
// TALLY_REJECTED; a line that is not an envelope is rejected on its own
// while the other lines are admitted.
func TestBulkRefusedAndMalformedLines(t *testing.T) {
	nc, l, m := admissionIngest(t, events.IngestOptions{})
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	good := admitParty(t, "kolwezi-coop", "miner", key)
	canon, _ := good.Canonical()

	// publish sends body as a bulk submission and returns the first part
	// of its answer.
	publish := func(body []byte) (*nats.Msg, events.BulkOutcome) {
		t.Helper()
		parts := make(chan *nats.Msg, 16)
		s, err := nc.ChanSubscribe(events.SubjectReceiptPrefix+events.BulkDigest(body)+".>", parts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Unsubscribe()
		if _, err := js.Publish(t.Context(), events.SubjectSubmitBulk, body); err != nil {
			t.Fatal(err)
		}
		select {
		case msg := <-parts:
			var b events.BulkOutcome
			if err := json.Unmarshal(msg.Data, &b); err != nil {
				t.Fatal(err)
			}
			return msg, b
		case <-time.After(20 * time.Second):
			t.Fatal("no answer")
		}
		return nil, events.BulkOutcome{}
	}

	refused := []struct {
		name string
		body []byte
		rule string
	}{
		{"empty", nil, "bulk_empty"},
		{"empty line", append(append(append([]byte{}, canon...), "\n\n"...), canon...), "bulk_empty_line"},
		{"too many lines", bytes.Repeat(append(append([]byte{}, canon...), '\n'), events.MaxBulkEnvelopes+1), "bulk_max_lines"},
	}
	for _, c := range refused {
		msg, b := publish(c.body)
		if b.Rejection == nil || len(b.Rejection.Reasons) != 1 || b.Rejection.Reasons[0].Rule != c.rule || b.Rejection.Reasons[0].Message == "" {
			t.Errorf("%s: answer %s, want a refusal for %s", c.name, msg.Data, c.rule)
		}
		if msg.Header.Get(events.HeaderBulkLines) != "0" {
			t.Errorf("%s: %s %q, want 0", c.name, events.HeaderBulkLines, msg.Header.Get(events.HeaderBulkLines))
		}
	}
	if l.Head().Size != 0 {
		t.Fatalf("refused bulk submissions logged %d entries", l.Head().Size)
	}

	// A line that is not an envelope, between two that are.
	trader := admitParty(t, "musompo-trader", "trader", newKey(t))
	hopCanon, _ := trader.Canonical()
	body := []byte(string(canon) + "\nhello\r\n" + string(hopCanon) + "\n")
	_, b := publish(body)
	if b.Rejection != nil || len(b.Outcomes) != 3 {
		t.Fatalf("answer: %+v", b)
	}
	if b.Outcomes[0].Receipt == nil || b.Outcomes[0].Receipt.Seq != 0 || b.Outcomes[2].Receipt == nil || b.Outcomes[2].Receipt.Seq != 1 {
		t.Errorf("valid lines: %+v, %+v; want seqs 0 and 1", b.Outcomes[0], b.Outcomes[2].Rejection)
	}
	if r := b.Outcomes[1].Rejection; r == nil || r.Digest != "" || len(r.Reasons) != 1 || r.Reasons[0].Rule != "json" {
		t.Errorf("line 2: %+v, want a json rejection", b.Outcomes[1])
	}

	// Everything refused or rejected is kept with its reasons.
	rejected, err := js.Stream(t.Context(), events.StreamRejected)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "rejections stored", func() bool {
		info, err := rejected.Info(t.Context())
		return err == nil && info.State.Msgs == uint64(len(refused)+1)
	})
	var got []string
	for i := range len(refused) + 1 {
		msg, err := rejected.GetMsg(t.Context(), uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		var r events.Rejected
		if err := json.Unmarshal(msg.Data, &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s seq=%d line=%d %s %q", strings.SplitN(msg.Subject, ".", 4)[2], r.StreamSeq, r.BulkLine, r.Reasons[0].Rule, r.Data))
	}
	want := []string{
		fmt.Sprintf("bulk seq=1 line=0 bulk_empty %q", ""),
		fmt.Sprintf("bulk seq=2 line=0 bulk_empty_line %q", refused[1].body),
		fmt.Sprintf("bulk seq=3 line=0 bulk_max_lines %q", refused[2].body),
		`malformed seq=4 line=2 json "hello"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TALLY_REJECTED (-want +got):\n%s", diff)
	}
	waitFor(t, 5*time.Second, "metrics", func() bool { return value(m.Submissions.WithLabelValues("rejected")) == 4 })
	if got := value(m.Rejects.WithLabelValues("bulk_max_lines")); got != 1 {
		t.Errorf("rejects{rule=bulk_max_lines} = %v, want 1", got)
	}
}

// admissionIngest runs an ingest loop with the admission rules on an
// embedded server and a fresh ledger.
func admissionIngest(t *testing.T, o events.IngestOptions) (*nats.Conn, *ledger.Log, *events.Metrics) {
	t.Helper()
	emb := startNATS(t, "", 0)
	nc := connect(t, emb.ClientURL())
	l, proc := admissionProcessor(t)
	o.Metrics = events.NewMetrics(nil)
	runIngest(t, nc, proc, o)
	return nc, l, o.Metrics
}

// bulkBody is the body SubmitBulk publishes for envs.
func bulkBody(t *testing.T, envs []schemas.Envelope) []byte {
	var b bytes.Buffer
	for i, e := range envs {
		c, err := e.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.Write(c)
	}
	return b.Bytes()
}

// TestBulkAnswerReadFromStore: a submitter that missed the live answer
// (here: stored before it subscribed) reads the stored parts, part by
// part, from TALLY_RECEIPTS.
func TestBulkAnswerReadFromStore(t *testing.T) {
	emb := startNATS(t, "", 0)
	nc := connect(t, emb.ClientURL())
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := events.SetupStreams(t.Context(), js, events.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	envs := []schemas.Envelope{admitParty(t, "a", "miner", key), admitParty(t, "b", "trader", key), admitParty(t, "c", "trader", key)}
	digest := events.BulkDigest(bulkBody(t, envs))
	// No ledger runs: the answer is stored in advance, in two parts, under
	// a stream sequence above the one the submission will get.
	for _, part := range []events.BulkOutcome{
		{First: 0, Outcomes: []events.Outcome{{Receipt: &events.Receipt{Seq: 7}}, {Rejection: &events.Rejection{Reasons: []events.Reason{{Path: "/payload/id", Rule: "r", Message: "m"}}}}}},
		{First: 2, Outcomes: []events.Outcome{{Receipt: &events.Receipt{Seq: 8}}}},
	} {
		body, _ := json.Marshal(part)
		msg := nats.NewMsg(events.BulkPartSubject(digest, part.First))
		msg.Header.Set(events.HeaderSubmissionSeq, "100")
		msg.Header.Set(events.HeaderBulkLines, "3")
		msg.Data = body
		if _, err := js.PublishMsg(t.Context(), msg); err != nil {
			t.Fatal(err)
		}
	}
	sub := &client.NATS{Conn: nc, PollInterval: 50 * time.Millisecond}
	res, err := sub.SubmitBulk(t.Context(), envs)
	if err != nil {
		t.Fatal(err)
	}
	var rej *client.RejectedError
	if len(res) != 3 || res[0].Receipt == nil || res[0].Receipt.Seq != 7 || !errors.As(res[1].Err, &rej) ||
		rej.Rejection.Reasons[0].Rule != "r" || res[2].Receipt == nil || res[2].Receipt.Seq != 8 {
		t.Errorf("results %+v", res)
	}
}
