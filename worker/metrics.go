package worker

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the worker's Prometheus metrics. Each worker registers its
// own on a registry the caller serves (no global registry).
type Metrics struct {
	jobs    *prometheus.CounterVec
	bytes   prometheus.Counter
	chunks  prometheus.Counter
	lag     prometheus.Histogram
	errors  *prometheus.CounterVec
	batches *prometheus.GaugeVec
	ttl     *prometheus.GaugeVec
	postage prometheus.Gauge
}

// NewMetrics creates and registers the worker's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archiver_worker_jobs_total",
			Help: "Jobs finished by result: archived, failed, published."}, []string{"result"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "archiver_worker_bytes_total",
			Help: "Payload bytes uploaded to Swarm."}),
		chunks: prometheus.NewCounter(prometheus.CounterOpts{Name: "archiver_worker_chunks_total",
			Help: "Chunks stamped and uploaded, parity and replicas included."}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "archiver_worker_archive_lag_seconds",
			Help: "Time from receiving a job to reporting it.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archiver_worker_errors_total",
			Help: "Errors by kind: fetch, upload, report, publish, connection."}, []string{"kind"}),
		batches: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archiver_worker_batch_utilization_ratio",
			Help: "Fullest bucket of each postage batch the worker stamps with, 0 to 1."}, []string{"batch"}),
		ttl: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archiver_worker_batch_ttl_seconds",
			Help: "Time until each postage batch the worker stamps with expires."}, []string{"batch"}),
		postage: prometheus.NewGauge(prometheus.GaugeOpts{Name: "archiver_worker_postage_exhausted",
			Help: "1 while every postage batch the worker may stamp with is full: it takes no jobs until one has room."}),
	}
	reg.MustRegister(m.jobs, m.bytes, m.chunks, m.lag, m.errors, m.batches, m.ttl, m.postage)
	return m
}

// The methods are nil-safe: a worker without metrics skips them.

func (m *Metrics) job(result string, started time.Time) {
	if m != nil {
		m.jobs.WithLabelValues(result).Inc()
		m.lag.Observe(time.Since(started).Seconds())
	}
}

func (m *Metrics) uploaded(bytes int64, chunks int) {
	if m != nil {
		m.bytes.Add(float64(bytes))
		m.chunks.Add(float64(chunks))
	}
}

func (m *Metrics) failed(kind string) {
	if m != nil {
		m.errors.WithLabelValues(kind).Inc()
	}
}

// BatchUtilization reports how full a postage batch's fullest bucket is
// (0..1).
func (m *Metrics) BatchUtilization(id string, utilization float64) {
	if m != nil {
		m.batches.WithLabelValues(id).Set(utilization)
	}
}

// BatchTTL reports how long a postage batch has until it expires.
func (m *Metrics) BatchTTL(id string, ttl time.Duration) {
	if m != nil {
		m.ttl.WithLabelValues(id).Set(ttl.Seconds())
	}
}

func (m *Metrics) postageExhausted(yes bool) {
	if m != nil {
		v := 0.0
		if yes {
			v = 1
		}
		m.postage.Set(v)
	}
}
