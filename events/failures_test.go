package events_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/schemas"
)

// flakyProcessor fails one batch in 20 before processing it and one in 10
// after committing it (the retried batch is then answered from the log).
type flakyProcessor struct {
	*events.AdmissionProcessor
	calls atomic.Int64
	mu    sync.Mutex
	rng   *rand.Rand
}

func (f *flakyProcessor) Process(ctx context.Context, b []events.Submission) ([]events.Outcome, error) {
	f.calls.Add(1)
	f.mu.Lock()
	x := f.rng.Float64()
	d := time.Duration(f.rng.IntN(5)) * time.Millisecond
	f.mu.Unlock()
	time.Sleep(d)
	if x < 0.05 {
		return nil, errors.New("before")
	}
	outs, err := f.AdmissionProcessor.Process(ctx, b)
	if err == nil && x < 0.15 {
		return nil, errors.New("after commit")
	}
	return outs, err
}

// stressMsg is one published message: an envelope, or a bulk submission.
type stressMsg struct {
	seq  uint64
	bulk bool
	envs []schemas.Envelope
	body []byte
}

// TestIngestUnderFailures drives the ingest stages through failures: a
// processor that fails before and after its commits, small batches and
// answer parts, the consumer deleted every 40 messages, single and bulk
// submissions mixed. Throughout, no message is acknowledged before its
// answer is stored; at the end the ledger holds every statement once, in
// stream order.
func TestIngestUnderFailures(t *testing.T) {
	emb := startNATS(t, "", 0)
	nc := connect(t, emb.ClientURL())
	l, ap := admissionProcessor(t)
	p := &flakyProcessor{AdmissionProcessor: ap, rng: rand.New(rand.NewPCG(1, 2))}
	ing, _ := runIngest(t, nc, p, events.IngestOptions{BatchSize: 16, AnswerBytes: 3000})
	js, _ := jetstream.New(nc)

	const N = 2500
	var all []schemas.Envelope
	for i := range N {
		all = append(all, admitParty(t, fmt.Sprintf("p-%d", i), "miner", newKey(t)))
	}
	var msgs []*stressMsg
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < N; {
		n := 1
		if rng.IntN(2) == 0 {
			n = 2 + rng.IntN(12)
		}
		n = min(n, N-i)
		m := &stressMsg{envs: all[i : i+n], bulk: n > 1 || rng.IntN(3) == 0}
		if m.bulk {
			m.body = bulkBody(t, m.envs)
		} else {
			m.body, _ = m.envs[0].Canonical()
		}
		msgs = append(msgs, m)
		i += n
	}

	var stop atomic.Bool
	var violations []string
	var vmu sync.Mutex
	var last atomic.Uint64
	checked := map[uint64]bool{}
	bySeq := sync.Map{}
	var wg sync.WaitGroup
	wg.Go(func() {
		rs, err := js.Stream(context.Background(), events.StreamReceipts)
		if err != nil {
			t.Error(err)
			return
		}
		for !stop.Load() {
			time.Sleep(5 * time.Millisecond)
			c, err := js.Consumer(context.Background(), events.StreamSubmissions, events.DefaultDurable)
			if err != nil {
				continue
			}
			floor := c.CachedInfo().AckFloor.Stream
			for s := uint64(1); s <= floor && s <= last.Load(); s++ {
				if checked[s] {
					continue
				}
				v, ok := bySeq.Load(s)
				if !ok {
					continue
				}
				m := v.(*stressMsg)
				var subj string
				if m.bulk {
					subj = events.BulkPartSubject(events.BulkDigest(m.body), 0)
				} else {
					d, _ := m.envs[0].Digest()
					subj = events.SubjectReceiptPrefix + hexOf(d)
				}
				sm, err := rs.GetLastMsgForSubject(context.Background(), subj)
				if err != nil {
					vmu.Lock()
					violations = append(violations, fmt.Sprintf("seq %d acked (floor %d) but no stored answer on %s: %v", s, floor, subj, err))
					vmu.Unlock()
					checked[s] = true
					continue
				}
				got, _ := strconv.ParseUint(sm.Header.Get(events.HeaderSubmissionSeq), 10, 64)
				if got < s {
					vmu.Lock()
					violations = append(violations, fmt.Sprintf("seq %d acked but stored answer is for %d", s, got))
					vmu.Unlock()
				}
				checked[s] = true
			}
		}
	})

	// Publish, with a few consumer deletions along the way.
	for i, m := range msgs {
		ack, err := js.Publish(t.Context(), func() string {
			if m.bulk {
				return events.SubjectSubmitBulk
			}
			return events.SubjectSubmitPrefix + schemas.KindPartyRegistered
		}(), m.body)
		if err != nil {
			t.Fatal(err)
		}
		m.seq = ack.Sequence
		bySeq.Store(m.seq, m)
		last.Store(m.seq)
		if i%40 == 39 {
			_ = js.DeleteConsumer(t.Context(), events.StreamSubmissions, events.DefaultDurable)
		}
		if i%7 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	waitFor(t, 60*time.Second, "all answered", func() bool { return ing.Position() == msgs[len(msgs)-1].seq })
	time.Sleep(200 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	for _, v := range violations {
		t.Error(v)
	}
	if got := l.Head().Size; got != N {
		t.Fatalf("ledger size %d, want %d", got, N)
	}
	for i, e := range all {
		rec, err := l.Get(uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := e.Canonical()
		if !bytes.Equal(rec.Envelope, c) {
			t.Fatalf("record %d out of order", i)
		}
	}
	t.Logf("process calls %d, messages %d", p.calls.Load(), len(msgs))
}
