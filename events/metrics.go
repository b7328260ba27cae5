package events

import (
	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the ingest loop's Prometheus metrics.
type Metrics struct {
	// Submissions counts processed submissions by result: committed,
	// duplicate, rejected.
	Submissions *prometheus.CounterVec
	// Rejects counts rejection reasons by rule.
	Rejects *prometheus.CounterVec
	// BatchSize observes the number of submissions per processed batch.
	BatchSize prometheus.Histogram
	// CommitSeconds observes Processor.Process (admission, append, fsync,
	// receipts) per batch.
	CommitSeconds prometheus.Histogram
	// ReceiptSeconds observes the time from a submission's JetStream
	// timestamp to its outcome being published and confirmed.
	ReceiptSeconds prometheus.Histogram
	// ConsumerLag is the number of submissions in the stream not yet
	// delivered to the ingest loop (polled from the consumer).
	ConsumerLag prometheus.Gauge
	// ProcessErrors counts failed Process calls (each is retried).
	ProcessErrors prometheus.Counter
	// Resets counts consumer resets after a lost delivery (order repair).
	Resets prometheus.Counter
}

// NewMetrics creates the ingest metrics and registers them with reg (if
// not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Submissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "tally", Subsystem: "ingest", Name: "submissions_total",
			Help: "Submissions processed, by result (committed, duplicate, rejected).",
		}, []string{"result"}),
		Rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "tally", Subsystem: "ingest", Name: "reject_reasons_total",
			Help: "Reasons of rejected submissions, by rule.",
		}, []string{"rule"}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "tally", Subsystem: "ingest", Name: "batch_size",
			Help:    "Submissions per processed batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		CommitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "tally", Subsystem: "ingest", Name: "commit_seconds",
			Help:    "Time to admit, append (with fsync) and build receipts for one batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		ReceiptSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "tally", Subsystem: "ingest", Name: "receipt_seconds",
			Help:    "Time from a submission's arrival in the stream to its published outcome.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		ConsumerLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "tally", Subsystem: "ingest", Name: "consumer_lag",
			Help: "Submissions in the stream not yet delivered to the ingest loop.",
		}),
		ProcessErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "tally", Subsystem: "ingest", Name: "process_errors_total",
			Help: "Batches whose processing failed and was retried.",
		}),
		Resets: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "tally", Subsystem: "ingest", Name: "consumer_resets_total",
			Help: "Consumer resets to repair delivery order after a lost delivery.",
		}),
	}
	for _, r := range []string{"committed", "duplicate", "rejected"} {
		m.Submissions.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.Submissions, m.Rejects, m.BatchSize, m.CommitSeconds, m.ReceiptSeconds, m.ConsumerLag, m.ProcessErrors, m.Resets)
	}
	return m
}

// pebbleCollector exports a Pebble store's metrics, read when scraped.
type pebbleCollector struct {
	metrics func() *pebble.Metrics
	descs   map[string]*prometheus.Desc
}

// NewPebbleCollector returns a collector that reads Pebble's metrics (for
// the ledger: (*ledger.Log).Metrics) on every scrape.
func NewPebbleCollector(metrics func() *pebble.Metrics) prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("tally_pebble_"+name, help, labels, nil)
	}
	return &pebbleCollector{metrics: metrics, descs: map[string]*prometheus.Desc{
		"disk":        d("disk_usage_bytes", "Total disk space used by the store."),
		"readamp":     d("read_amplification", "Current read amplification."),
		"compactions": d("compactions_total", "Compactions performed."),
		"compactdebt": d("compaction_debt_bytes", "Estimated bytes to compact for the LSM to reach a stable state."),
		"flushes":     d("flushes_total", "Memtable flushes performed."),
		"memtable":    d("memtable_bytes", "Bytes held by memtables."),
		"walbytes":    d("wal_written_bytes_total", "Bytes written to the write-ahead log."),
		"cachesize":   d("block_cache_bytes", "Bytes in the block cache."),
		"cachehits":   d("block_cache_hits_total", "Block cache hits."),
		"cachemisses": d("block_cache_misses_total", "Block cache misses."),
		"filterhits":  d("bloom_filter_hits_total", "Bloom filter hits (data block reads avoided)."),
		"tables":      d("level_tables", "Sstables per LSM level.", "level"),
		"levelbytes":  d("level_bytes", "Bytes of sstables per LSM level.", "level"),
	}}
}

func (c *pebbleCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *pebbleCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.metrics()
	if m == nil {
		return
	}
	g := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, v, labels...)
	}
	ctr := func(name string, v float64) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.CounterValue, v)
	}
	g("disk", float64(m.DiskSpaceUsage()))
	g("readamp", float64(m.ReadAmp()))
	ctr("compactions", float64(m.Compact.Count))
	g("compactdebt", float64(m.Compact.EstimatedDebt))
	ctr("flushes", float64(m.Flush.Count))
	g("memtable", float64(m.MemTable.Size))
	ctr("walbytes", float64(m.WAL.BytesWritten))
	g("cachesize", float64(m.BlockCache.Size))
	ctr("cachehits", float64(m.BlockCache.Hits))
	ctr("cachemisses", float64(m.BlockCache.Misses))
	ctr("filterhits", float64(m.Filter.Hits))
	for i, l := range m.Levels {
		lv := string(rune('0' + i))
		g("tables", float64(l.TablesCount), lv)
		g("levelbytes", float64(l.TablesSize), lv)
	}
}
