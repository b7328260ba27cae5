package events

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// IngestOptions configure an Ingester. The zero value gives the defaults.
type IngestOptions struct {
	// Durable is the consumer name; default DefaultDurable. Every ledger
	// replica consuming the stream needs its own.
	Durable string
	// BatchSize caps the submissions handed to one Process call; default
	// DefaultBatchSize.
	BatchSize int
	// Streams sizes the streams the Ingester creates or updates.
	Streams StreamOptions
	// Logger; nil → slog.Default().
	Logger *slog.Logger
	// Metrics; nil → unregistered metrics.
	Metrics *Metrics
	// PullExpiry is how long one pull request waits on the server (at
	// least 1s); heartbeats run at half of it, so it also bounds how soon a
	// silently broken subscription is noticed. Default 5s.
	PullExpiry time.Duration
	// LagInterval is how often the consumer's lag is polled; default 5s.
	LagInterval time.Duration
	// PublishTimeout bounds one attempt to publish a batch's outcomes;
	// default 10s. Failed attempts are retried until they succeed or the
	// context ends.
	PublishTimeout time.Duration
	// BufferBytes bounds the bytes of submissions held in memory between
	// the subscription and their acknowledgement (queued for a batch or
	// being processed); default 64 MiB. The client library's own buffer
	// is bounded to a quarter of it. Together with BatchSize and
	// MaxAckPending this bounds the loop's memory whatever the load.
	BufferBytes int
	// AnswerBytes bounds one message answering a bulk submission (longer
	// answers go in several parts); default, and at most, the connection's
	// largest message less 8 KiB for headers.
	AnswerBytes int
}

// Ingester is the ingest loop: it reads the TALLY stream in order through a
// durable pull consumer, hands batches to a Processor, and after each
// commit publishes the outcomes and acknowledges the batch.
type Ingester struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	proc Processor
	o    IngestOptions
	log  *slog.Logger
	m    *Metrics

	running  atomic.Bool
	position atomic.Uint64 // stream seq of the last submission answered

	// Loop state, owned by Run's goroutine; during a session done is
	// written by its answering stage, and read only after the session's
	// stages have ended.
	done       uint64 // stream seq of the last submission answered
	taken      uint64 // stream seq of the last submission taken into a batch (≥ done)
	positioned bool   // done is known (the consumer was reset once)
	nextDelivr uint64 // expected consumer (delivery) sequence of the next message
}

// errOrder reports a lost delivery: processing past it would break the
// rule that the ledger's order is the stream's order.
var errOrder = errors.New("delivery lost; consumer reset to restore stream order")

// NewIngester prepares an ingest loop on nc that feeds p.
func NewIngester(nc *nats.Conn, p Processor, o IngestOptions) (*Ingester, error) {
	if nc == nil || p == nil {
		return nil, fmt.Errorf("%w: NewIngester needs a connection and a processor", ErrSetup)
	}
	o.Durable = cmp.Or(o.Durable, DefaultDurable)
	o.BatchSize = cmp.Or(o.BatchSize, DefaultBatchSize)
	o.PullExpiry = cmp.Or(o.PullExpiry, 5*time.Second)
	o.LagInterval = cmp.Or(o.LagInterval, 5*time.Second)
	o.PublishTimeout = cmp.Or(o.PublishTimeout, 10*time.Second)
	o.BufferBytes = cmp.Or(o.BufferBytes, 64<<20)
	if o.BufferBytes/4 < maxMessageBytes {
		return nil, fmt.Errorf("%w: BufferBytes %d is below 4 times the largest message (%d)", ErrSetup, o.BufferBytes, maxMessageBytes)
	}
	if o.PullExpiry < time.Second {
		return nil, fmt.Errorf("%w: PullExpiry %v is below 1s", ErrSetup, o.PullExpiry)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(4*o.BatchSize),
		jetstream.WithPublishAsyncTimeout(o.PublishTimeout))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	m := o.Metrics
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Ingester{nc: nc, js: js, proc: p, o: o, log: log.With("component", "ingest"), m: m}, nil
}

// Running reports whether the loop is consuming (its consumer is set up
// and subscribed).
func (g *Ingester) Running() bool { return g.running.Load() }

// Position is the stream sequence of the last submission whose outcome was
// published (0 before the first).
func (g *Ingester) Position() uint64 { return g.position.Load() }

// Run consumes until ctx ends, then returns nil. Connection loss, NATS
// restarts and lost deliveries are survived: the loop sets its consumer up
// again where its last commit ended. It returns an error only when the
// Processor breaks its contract, which retrying cannot fix.
func (g *Ingester) Run(ctx context.Context) error {
	lagCtx, stopLag := context.WithCancel(ctx)
	defer stopLag()
	go g.pollLag(lagCtx)

	wait := 100 * time.Millisecond
	for {
		progressed, err := g.session(ctx)
		g.running.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case errors.Is(err, ErrProcessor):
			return err
		case errors.Is(err, errOrder):
			g.m.Resets.Inc()
			g.log.Warn("restarting consumer", "reason", err, "resume_at", g.done+1)
			continue
		}
		if progressed {
			wait = 100 * time.Millisecond
		}
		g.log.Warn("ingest interrupted; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// session sets up streams and consumer, positions the consumer and
// consumes until an error. progressed reports whether a batch was answered.
func (g *Ingester) session(ctx context.Context) (progressed bool, err error) {
	if err := SetupStreams(ctx, g.js, g.o.Streams); err != nil {
		return false, err
	}
	cons, err := g.reposition(ctx)
	if err != nil {
		return false, err
	}

	// The handler runs on the subscription's goroutine; blocking it while
	// a batch commits is the flow control: the client library buffers at
	// most BufferBytes/4 (pull requests are bounded in bytes), and the
	// messages queued or in processing are bounded by the byte budget.
	msgs := make(chan jetstream.Msg, g.o.BatchSize)
	fatal := make(chan error, 1)
	stop := make(chan struct{})
	budget := newByteBudget(g.o.BufferBytes - g.o.BufferBytes/4)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if !budget.acquire(len(m.Data()), stop) {
			return
		}
		select {
		case msgs <- m:
		case <-stop:
		}
	},
		jetstream.PullMaxBytes(g.o.BufferBytes/4),
		jetstream.PullExpiry(g.o.PullExpiry),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if terminal(err) {
				select {
				case fatal <- err:
				default:
				}
				return
			}
			g.log.Debug("consume", "err", err)
		}))
	if err != nil {
		return false, fmt.Errorf("%w: consume: %w", ErrSetup, err)
	}
	defer func() {
		close(stop)
		// Stop unsubscribes before the next session resets the consumer,
		// so the server drops the old pull requests instead of delivering
		// into a dead inbox.
		cc.Stop()
		select {
		case <-cc.Closed():
		case <-time.After(5 * time.Second):
			g.log.Warn("subscription did not close within 5s")
		}
	}()
	g.running.Store(true)
	g.log.Info("consuming", "stream", StreamSubmissions, "consumer", g.o.Durable, "from", g.done+1)

	// Three stages, each on its own goroutine, hand batches on in order:
	// this one takes a batch from the subscription and does the work that
	// depends on nothing but the submissions (Preparer); the next processes
	// it (admission, append, fsync); the last answers it (outcomes
	// published and stored, messages acknowledged). So the next batch is
	// prepared while one commits, and one is answered meanwhile. A batch is
	// answered only after it is committed, as before; a failure in a stage
	// ends the session, which resumes after the last batch answered
	// (batches committed but not answered come again and are answered from
	// the log).
	g.taken = g.done
	var answered atomic.Bool
	// failed stops every stage at the first failure: nothing more is
	// committed that could not be answered in this session.
	var failed atomic.Bool
	stageErr := make(chan error, 2)
	toProcess := make(chan answerJob)   // handed over when the stage is free
	toAnswer := make(chan answerJob, 1) // one batch may wait to be answered
	var stages sync.WaitGroup
	stages.Go(func() {
		defer close(toAnswer)
		for j := range toProcess {
			if failed.Load() {
				continue
			}
			if len(j.subs) > 0 {
				outs, err := g.process(ctx, j.subs, j.batch)
				if err != nil {
					stageErr <- err
					failed.Store(true)
					continue
				}
				j.outs = outs
			}
			toAnswer <- j
		}
	})
	stages.Go(func() {
		for j := range toAnswer {
			if failed.Load() {
				continue
			}
			if err := g.answer(ctx, j); err != nil {
				stageErr <- err
				failed.Store(true)
				continue
			}
			budget.release(j.bytes)
			if len(j.msgs) > 0 {
				answered.Store(true)
			}
		}
	})
	defer func() {
		close(toProcess)
		stages.Wait()
		progressed = progressed || answered.Load()
	}()

	for {
		// Block for the first message, then take whatever else is already
		// buffered: one message under light load (lowest latency), full
		// batches under heavy load (messages pile up while the previous
		// batch commits: group commit).
		batch := make([]jetstream.Msg, 0, min(g.o.BatchSize, 64))
		select {
		case <-ctx.Done():
			return progressed, ctx.Err()
		case err := <-fatal:
			return progressed, err
		case err := <-stageErr:
			return progressed, err
		case m := <-msgs:
			batch = append(batch, m)
		}
		// Bulk submissions count by their envelopes: a batch holds about
		// BatchSize envelopes (at most one bulk message more).
		size := envelopes(batch[0])
	fill:
		for size < g.o.BatchSize {
			select {
			case m := <-msgs:
				batch = append(batch, m)
				size += envelopes(m)
			default:
				break fill
			}
		}
		j, orderErr := g.take(batch)
		if j.last == nil {
			budget.release(j.bytes)
		} else {
			g.prepare(j.subs)
			select {
			case toProcess <- j:
			case err := <-stageErr:
				return progressed, err
			}
		}
		if orderErr != nil {
			return progressed, orderErr
		}
	}
}

// terminal reports consume errors after which the subscription is dead and
// the session must be set up again.
func terminal(err error) bool {
	return errors.Is(err, jetstream.ErrConsumerDeleted) ||
		errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, jetstream.ErrBadRequest) ||
		errors.Is(err, nats.ErrConnectionClosed)
}

// reposition resets the consumer so that its next delivery is the first
// submission not yet answered, in stream order. The first time it goes
// back to the consumer's ack floor (what a previous process committed and
// acknowledged; unacknowledged messages come again at once, in order,
// instead of after AckWait behind newer ones); later, to the loop's own
// position. Servers older than 2.14 have no consumer reset; there the
// consumer is deleted and created again at that position.
func (g *Ingester) reposition(ctx context.Context) (jetstream.Consumer, error) {
	if g.positioned {
		if info, err := g.js.Stream(ctx, StreamSubmissions); err == nil && info.CachedInfo().State.LastSeq < g.done {
			// The stream was recreated (its store lost): sequences start
			// over, and the ledger's dedupe answers anything seen before.
			g.log.Warn("stream sequence went back; was the stream recreated?", "last_seq", info.CachedInfo().State.LastSeq, "position", g.done)
			g.done = 0
		}
	}
	cfg := ConsumerConfig(g.o.Durable, g.o.BatchSize)
	if !serverAtLeast(g.nc.ConnectedServerVersion(), 2, 14) {
		return g.recreate(ctx, cfg)
	}
	cons, err := g.js.CreateOrUpdateConsumer(ctx, StreamSubmissions, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: consumer %s: %w", ErrSetup, cfg.Durable, err)
	}
	var resp *jetstream.ConsumerResetResponse
	if !g.positioned {
		resp, err = g.js.ResetConsumer(ctx, StreamSubmissions, cfg.Durable)
	} else {
		resp, err = g.js.ResetConsumerToSequence(ctx, StreamSubmissions, cfg.Durable, g.done+1)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reset consumer %s: %w", ErrSetup, cfg.Durable, err)
	}
	if resp.ResetSeq > 0 {
		g.done = resp.ResetSeq - 1
	}
	g.positioned = true
	g.nextDelivr = resp.ConsumerInfo.Delivered.Consumer + 1
	g.position.Store(g.done)
	return cons, nil
}

// recreate positions the consumer on servers without consumer reset: it
// reads the ack floor (first time), deletes the consumer and creates it
// again to start at the position.
func (g *Ingester) recreate(ctx context.Context, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	old, err := g.js.Consumer(ctx, StreamSubmissions, cfg.Durable)
	switch {
	case err == nil:
		if !g.positioned {
			g.done = old.CachedInfo().AckFloor.Stream
		}
		if err := g.js.DeleteConsumer(ctx, StreamSubmissions, cfg.Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("%w: delete consumer %s: %w", ErrSetup, cfg.Durable, err)
		}
	case errors.Is(err, jetstream.ErrConsumerNotFound):
	default:
		return nil, fmt.Errorf("%w: consumer %s: %w", ErrSetup, cfg.Durable, err)
	}
	cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
	cfg.OptStartSeq = g.done + 1
	cons, err := g.js.CreateConsumer(ctx, StreamSubmissions, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: consumer %s: %w", ErrSetup, cfg.Durable, err)
	}
	g.positioned = true
	g.nextDelivr = cons.CachedInfo().Delivered.Consumer + 1
	g.position.Store(g.done)
	return cons, nil
}

// serverAtLeast reports whether a "major.minor.patch" server version is at
// least major.minor.
func serverAtLeast(version string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(version, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

// message is one message of a batch, and where its envelopes are among
// the batch's submissions.
type message struct {
	first, n int // subs[first:first+n]
	sub      Submission
	// bulk is the bulk digest of a bulk submission ("" for one envelope);
	// refused, the reasons a bulk message was refused as a whole.
	bulk    string
	refused []Reason
}

// answerJob is a batch on its way through the stages.
type answerJob struct {
	batch []jetstream.Msg
	msgs  []message // the messages not answered before
	subs  []Submission
	outs  []Outcome     // set by Process
	last  jetstream.Msg // acknowledging it acknowledges the batch
	bytes int           // of the batch's messages, for the byte budget
}

// take checks a batch's delivery order and turns its messages into
// submissions. The job's last is nil when nothing is to be processed or
// acknowledged; with a gap in the deliveries, the job holds the messages
// before it and the error says so.
func (g *Ingester) take(batch []jetstream.Msg) (answerJob, error) {
	subs := make([]Submission, 0, len(batch))
	msgs := make([]message, 0, len(batch))
	var last jetstream.Msg
	var orderErr error
	prev := g.taken
	j := answerJob{batch: batch}
	for _, m := range batch {
		j.bytes += len(m.Data())
	}
	for _, m := range batch {
		meta, err := m.Metadata()
		if err != nil || meta.Sequence.Consumer != g.nextDelivr {
			got := uint64(0)
			if err == nil {
				got = meta.Sequence.Consumer
			}
			orderErr = fmt.Errorf("%w (delivery %d, expected %d)", errOrder, got, g.nextDelivr)
			break
		}
		g.nextDelivr++
		last = m
		if meta.Sequence.Stream <= prev {
			// Already answered (a redelivery); the acknowledgement of this
			// batch covers it.
			continue
		}
		prev = meta.Sequence.Stream
		s := Submission{Data: m.Data(), ReceivedAt: meta.Timestamp, StreamSeq: meta.Sequence.Stream}
		msg := message{first: len(subs), sub: s}
		if m.Subject() != SubjectSubmitBulk {
			msg.n = 1
			subs = append(subs, s)
			msgs = append(msgs, msg)
			continue
		}
		msg.bulk = BulkDigest(s.Data)
		lines, reasons := SplitBulk(s.Data)
		msg.refused, msg.n = reasons, len(lines)
		for i, l := range lines {
			subs = append(subs, Submission{Data: l, ReceivedAt: s.ReceivedAt, StreamSeq: s.StreamSeq, BulkLine: i + 1})
		}
		msgs = append(msgs, msg)
	}
	j.msgs, j.subs, j.last = msgs, subs, last
	if len(msgs) > 0 {
		g.taken = msgs[len(msgs)-1].sub.StreamSeq
	}
	return j, orderErr
}

// prepare runs the Processor's Prepare, if it has one, on every core.
func (g *Ingester) prepare(subs []Submission) {
	p, ok := g.proc.(Preparer)
	if !ok {
		return
	}
	parallelFor(len(subs), 0, func(i int) { subs[i].Prepared = p.Prepare(subs[i]) })
}

// answer publishes a processed batch's outcomes, waits for the streams to
// store them, then acknowledges the batch.
func (g *Ingester) answer(ctx context.Context, j answerJob) error {
	if len(j.msgs) > 0 {
		// The batch is committed: finish answering it even if ctx ends,
		// so that a graceful stop does not leave it to be redelivered.
		actx := context.WithoutCancel(ctx)
		if err := g.publish(actx, ctx, j.msgs, j.subs, j.outs); err != nil {
			return err
		}
		g.done = j.msgs[len(j.msgs)-1].sub.StreamSeq
		g.position.Store(g.done)
	}
	g.ack(j.last)
	return nil
}

// envelopes is how many envelopes m holds (for a bulk submission, its
// lines, as SplitBulk counts them; at least 1).
func envelopes(m jetstream.Msg) int {
	if m.Subject() != SubjectSubmitBulk {
		return 1
	}
	d := bytes.TrimSuffix(m.Data(), []byte("\n"))
	return max(1, min(bytes.Count(d, []byte("\n"))+1, MaxBulkEnvelopes))
}

// process calls the Processor until it succeeds or ctx ends. The batch is
// retried as it is, never skipped or reordered: the stream order is the
// ledger order.
func (g *Ingester) process(ctx context.Context, subs []Submission, msgs []jetstream.Msg) ([]Outcome, error) {
	wait := 100 * time.Millisecond
	lastProgress := time.Now()
	for {
		start := time.Now()
		outs, err := g.proc.Process(ctx, subs)
		if err == nil {
			g.m.BatchSize.Observe(float64(len(subs)))
			g.m.CommitSeconds.Observe(time.Since(start).Seconds())
			if err := checkOutcomes(subs, outs); err != nil {
				return nil, err
			}
			return outs, nil
		}
		if errors.Is(err, ErrProcessor) {
			return nil, err
		}
		g.m.ProcessErrors.Inc()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		g.log.Error("processing batch failed; retrying", "err", err, "submissions", len(subs), "first_seq", subs[0].StreamSeq, "in", wait)
		// Keep the batch's messages ours while retrying: without this they
		// would be redelivered after AckWait.
		if time.Since(lastProgress) > DefaultAckWait/4 {
			for _, m := range msgs {
				_ = m.InProgress()
			}
			lastProgress = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// checkOutcomes holds the Processor to its contract.
func checkOutcomes(subs []Submission, outs []Outcome) error {
	if len(outs) != len(subs) {
		return fmt.Errorf("%w: %d outcomes for %d submissions", ErrProcessor, len(outs), len(subs))
	}
	for i, o := range outs {
		if (o.Receipt == nil) == (o.Rejection == nil) {
			return fmt.Errorf("%w: outcome %d (stream seq %d) must have exactly one of receipt and rejection", ErrProcessor, i, subs[i].StreamSeq)
		}
	}
	return nil
}

// publish sends every outcome through JetStream and waits until the
// streams have stored them all, retrying what failed. Only then may the
// batch be acknowledged: a receipt that is published but not yet stored
// could otherwise be lost together with the acknowledged submission. stop
// ends the retries (the batch is then redelivered and answered again).
func (g *Ingester) publish(ctx, stop context.Context, msgs []message, subs []Submission, outs []Outcome) error {
	var pending []*nats.Msg
	for _, msg := range msgs {
		seq := strconv.FormatUint(msg.sub.StreamSeq, 10)
		if msg.refused != nil {
			rej := &Rejection{Reasons: msg.refused}
			g.countRejects(rej)
			part, err := bulkPart(msg.bulk, seq, 0, BulkOutcome{Rejection: rej})
			if err != nil {
				return err
			}
			m, err := g.rejectedMsg(SubjectRejectedPrefix+"bulk."+msg.bulk, seq, "", rej, msg.sub)
			if err != nil {
				return err
			}
			pending = append(pending, part, m)
			continue
		}
		if msg.bulk != "" {
			parts, err := g.bulkParts(msg.bulk, seq, outs[msg.first:msg.first+msg.n])
			if err != nil {
				return err
			}
			pending = append(pending, parts...)
		}
		for i := msg.first; i < msg.first+msg.n; i++ {
			o := outs[i]
			if o.Receipt != nil {
				if msg.bulk == "" {
					m, err := outcomeMsg(SubjectReceiptPrefix+o.Receipt.Digest, seq, "receipt", o)
					if err != nil {
						return err
					}
					pending = append(pending, m)
				}
				continue
			}
			rej := o.Rejection
			g.countRejects(rej)
			if rej.Digest != "" && msg.bulk == "" {
				m, err := outcomeMsg(SubjectReceiptPrefix+rej.Digest, seq, "rejection", o)
				if err != nil {
					return err
				}
				pending = append(pending, m)
			}
			m, err := g.rejectedMsg(SubjectRejectedPrefix+cmp.Or(rej.Digest, "malformed"), seq, rej.Digest, rej, subs[i])
			if err != nil {
				return err
			}
			pending = append(pending, m)
		}
	}

	wait := 100 * time.Millisecond
	for attempt := 1; len(pending) > 0; attempt++ {
		pending = g.publishOnce(ctx, pending)
		if len(pending) == 0 {
			break
		}
		if stop.Err() != nil {
			return stop.Err()
		}
		g.log.Warn("publishing outcomes failed; retrying", "unconfirmed", len(pending), "attempt", attempt, "in", wait)
		select {
		case <-stop.Done():
			return stop.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}

	now := time.Now()
	for _, msg := range msgs {
		if msg.refused != nil {
			g.m.ReceiptSeconds.Observe(now.Sub(msg.sub.ReceivedAt).Seconds())
			g.m.Submissions.WithLabelValues("rejected").Inc()
		}
	}
	for i, o := range outs {
		g.m.ReceiptSeconds.Observe(now.Sub(subs[i].ReceivedAt).Seconds())
		switch {
		case o.Rejection != nil:
			g.m.Submissions.WithLabelValues("rejected").Inc()
		case o.Receipt.Duplicate:
			g.m.Submissions.WithLabelValues("duplicate").Inc()
		default:
			g.m.Submissions.WithLabelValues("committed").Inc()
			g.publishCommitted(o.Receipt, subs[i].Data)
		}
	}
	return nil
}

// publishOnce publishes msgs asynchronously and returns those the streams
// did not confirm.
func (g *Ingester) publishOnce(ctx context.Context, msgs []*nats.Msg) (failed []*nats.Msg) {
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		f, err := g.js.PublishMsgAsync(m)
		if err != nil {
			g.log.Debug("publish", "subject", m.Subject, "err", err)
			failed = append(failed, m)
			continue
		}
		futures[i] = f
	}
	timeout := time.NewTimer(g.o.PublishTimeout)
	defer timeout.Stop()
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			g.log.Debug("publish", "subject", msgs[i].Subject, "err", err)
			failed = append(failed, msgs[i])
		case <-timeout.C:
			failed = append(failed, msgs[i])
			// The timer fired once; everything not yet confirmed counts
			// as failed.
			for j := i + 1; j < len(futures); j++ {
				if futures[j] == nil {
					continue
				}
				select {
				case <-futures[j].Ok():
				default:
					failed = append(failed, msgs[j])
				}
			}
			return failed
		case <-ctx.Done():
			return append(failed, msgs[i:]...)
		}
	}
	return failed
}

// countRejects counts a rejection's reasons by rule.
func (g *Ingester) countRejects(rej *Rejection) {
	for _, r := range rej.Reasons {
		g.m.Rejects.WithLabelValues(r.Rule).Inc()
	}
}

// rejectedMsg is the TALLY_REJECTED message of a rejection. A submission
// too large to fit in one message beside its reasons (the connection's
// max_payload) is left out: it stays in the TALLY stream under StreamSeq.
func (g *Ingester) rejectedMsg(subject, seq, digest string, rej *Rejection, s Submission) (*nats.Msg, error) {
	r := Rejected{Rejection: *rej, StreamSeq: s.StreamSeq, BulkLine: s.BulkLine, ReceivedAt: s.ReceivedAt, Data: s.Data}
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode rejection: %w", err)
	}
	if limit := g.nc.MaxPayload(); limit > 0 && int64(len(body))+1024 > limit {
		r.Data, r.DataOmitted = nil, true
		if body, err = json.Marshal(r); err != nil {
			return nil, fmt.Errorf("encode rejection: %w", err)
		}
	}
	m := nats.NewMsg(subject)
	m.Header.Set(HeaderSubmissionSeq, seq)
	if digest != "" {
		m.Header.Set(HeaderDigest, digest)
	}
	m.Data = body
	return m, nil
}

// bulkParts are the messages answering a bulk submission: its outcomes in
// line order, cut into parts that each fit in one message.
func (g *Ingester) bulkParts(digest, seq string, outs []Outcome) ([]*nats.Msg, error) {
	limit := 1 << 20
	if mp := g.nc.MaxPayload(); mp > 0 {
		limit = int(mp)
	}
	limit -= 8 << 10 // headers
	if g.o.AnswerBytes > 0 {
		limit = min(limit, g.o.AnswerBytes)
	}
	var parts []*nats.Msg
	var body []byte
	first := 0
	flush := func(next int) {
		body = append(body, "]}"...)
		m := bulkMsg(digest, seq, first, len(outs), body)
		parts = append(parts, m)
		body, first = nil, next
	}
	for i, o := range outs {
		enc, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("encode outcome: %w", err)
		}
		if body != nil && len(body)+1+len(enc)+2 > limit { // ",", "]}"
			flush(i)
		}
		if body == nil {
			body = append(body, `{"first":`...)
			body = strconv.AppendInt(body, int64(first), 10)
			body = append(body, `,"outcomes":[`...)
		} else {
			body = append(body, ',')
		}
		body = append(body, enc...)
	}
	flush(len(outs))
	return parts, nil
}

// bulkPart is the message of one part b of a bulk answer.
func bulkPart(digest, seq string, lines int, b BulkOutcome) (*nats.Msg, error) {
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode bulk outcome: %w", err)
	}
	return bulkMsg(digest, seq, b.First, lines, body), nil
}

func bulkMsg(digest, seq string, first, lines int, body []byte) *nats.Msg {
	m := nats.NewMsg(BulkPartSubject(digest, first))
	m.Header.Set(HeaderSubmissionSeq, seq)
	m.Header.Set(HeaderBulkLines, strconv.Itoa(lines))
	m.Data = body
	return m
}

// outcomeMsg is the message carrying an outcome on tally.receipt.<digest>.
func outcomeMsg(subject, seq, kind string, o Outcome) (*nats.Msg, error) {
	body, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode outcome: %w", err)
	}
	m := nats.NewMsg(subject)
	m.Header.Set(HeaderSubmissionSeq, seq)
	m.Header.Set(HeaderOutcome, kind)
	m.Data = body
	return m, nil
}

// publishCommitted puts a new entry on the committed feed (core NATS, at
// most once: the ledger is the durable copy).
func (g *Ingester) publishCommitted(r *Receipt, data []byte) {
	// The envelope as logged (canonical JSON) when the receipt was built
	// from the record; otherwise the logged envelope the receipt names,
	// or the one submitted.
	env, canonical := []byte(r.logged), r.logged != nil
	if !canonical {
		if env = r.Envelope; env == nil {
			env = data
		}
	}
	body, err := encodeCommitted(r, env, canonical)
	if err != nil {
		g.log.Error("encode committed entry", "seq", r.Seq, "err", err)
		return
	}
	if err := g.nc.Publish(SubjectCommittedPrefix+r.Kind, body); err != nil {
		g.log.Warn("committed feed: entry not published", "seq", r.Seq, "err", err)
	}
}

// encodeCommitted is the JSON of Committed for r with envelope env (null
// if env is not JSON). The envelope is the last member: the small members
// are marshalled, and the envelope, often a kilobyte or more, is appended
// as it is if it is known to be canonical JSON, else with one compacting
// pass, instead of going through encoding/json's validation and
// reflection.
func encodeCommitted(r *Receipt, env []byte, canonical bool) ([]byte, error) {
	head, err := json.Marshal(Committed{
		Seq: r.Seq, Digest: r.Digest, Kind: r.Kind, ReceivedAt: r.ReceivedAt,
		EntryHash: r.EntryHash, ChainHash: r.ChainHash,
	})
	if err != nil {
		return nil, err
	}
	const null = `null}`
	if !bytes.HasSuffix(head, []byte(null)) {
		return nil, fmt.Errorf("committed entry: unexpected encoding %q", head)
	}
	var b bytes.Buffer
	b.Grow(len(head) + len(env))
	b.Write(head[:len(head)-len(null)])
	if canonical && len(env) > 0 {
		b.Write(env)
	} else if len(env) == 0 || json.Compact(&b, env) != nil {
		b.Truncate(len(head) - len(null))
		b.WriteString("null")
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// ack acknowledges m and, the consumer acknowledging cumulatively, every
// earlier message. It waits for the server's confirmation so the ack floor
// is known to have moved; a failure is only logged: the next batch's
// acknowledgement covers this one, and what is never acknowledged is
// delivered again and answered as a duplicate.
func (g *Ingester) ack(m jetstream.Msg) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.DoubleAck(ctx); err != nil {
		g.log.Warn("acknowledgement not confirmed", "err", err)
	}
}

// pollLag updates the consumer lag gauge until ctx ends.
func (g *Ingester) pollLag(ctx context.Context) {
	t := time.NewTicker(g.o.LagInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !g.nc.IsConnected() {
			continue
		}
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := g.js.Consumer(ictx, StreamSubmissions, g.o.Durable)
		cancel()
		if err != nil {
			continue
		}
		g.m.ConsumerLag.Set(float64(c.CachedInfo().NumPending))
	}
}

// byteBudget bounds the bytes of the messages the loop holds: the
// subscription's handler acquires a message's size before queueing it, and
// the loop releases a batch's sizes once the batch is answered. A message
// is always admitted when nothing is held, so one larger than the budget
// cannot stall the loop.
type byteBudget struct {
	mu    sync.Mutex
	used  int
	max   int
	freed chan struct{}
}

func newByteBudget(max int) *byteBudget {
	return &byteBudget{max: max, freed: make(chan struct{}, 1)}
}

// acquire waits until n bytes fit, or stop is closed (false).
func (b *byteBudget) acquire(n int, stop <-chan struct{}) bool {
	for {
		b.mu.Lock()
		if b.used == 0 || b.used+n <= b.max {
			b.used += n
			b.mu.Unlock()
			return true
		}
		b.mu.Unlock()
		select {
		case <-b.freed:
		case <-stop:
			return false
		}
	}
}

func (b *byteBudget) release(n int) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
	select {
	case b.freed <- struct{}{}:
	default:
	}
}
