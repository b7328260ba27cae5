package events_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/events"
	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// benchStack is an embedded server, a ledger on disk (real fsync) and a
// running ingest loop.
func benchStack(b *testing.B) (*events.Embedded, *ledger.Log) {
	b.Helper()
	emb := startNATS(b, "", 0)
	l, err := ledger.Open(filepath.Join(b.TempDir(), "ledger"), ledger.Options{Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	nc := connect(b, emb.ClientURL())
	runIngest(b, nc, lp(l), ingestOpts())
	return emb, l
}

// BenchmarkIngestThroughput publishes b.N envelopes as fast as JetStream
// takes them and waits until all are committed: the group-commit path
// (batches of up to BatchSize, one fsync each).
func BenchmarkIngestThroughput(b *testing.B) {
	emb, l := benchStack(b)
	pub := connect(b, emb.ClientURL())
	js, err := jetstream.New(pub, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		b.Fatal(err)
	}
	key := newKey(b)
	envs := make([][]byte, b.N)
	for i := range envs {
		_, envs[i] = signedParty(b, i, key)
	}
	b.ResetTimer()
	start := time.Now()
	for i, e := range envs {
		if i%2048 == 2047 {
			<-js.PublishAsyncComplete()
		}
		if _, err := js.PublishAsync(events.SubjectSubmitPrefix+schemas.KindPartyRegistered, e); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	for l.Head().Size < uint64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
}

// BenchmarkSubmitLatency submits one envelope at a time and waits for its
// receipt: the latency a lone producer sees (one fsync per submission).
func BenchmarkSubmitLatency(b *testing.B) {
	emb, _ := benchStack(b)
	nc := connect(b, emb.ClientURL())
	key := newKey(b)
	envs := make([]schemas.Envelope, b.N)
	for i := range envs {
		envs[i], _ = signedParty(b, i, key)
	}
	sub := &client.NATS{Conn: nc}
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if _, err := sub.Submit(ctx, envs[i]); err != nil {
			b.Fatal(err)
		}
	}
}
