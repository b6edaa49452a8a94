package hooks

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// liveMetrics times the archiver's share of go-livepeer's live path, inside
// the real node: what each hook spends in archiver code, and each
// segment's whole transcode, by whether it asked for archiving. Archiving
// must not slow the reply: the first stays far below a millisecond, and the
// second is the same with archiving on and off.
type liveMetrics struct {
	inArchiver *prometheus.HistogramVec
	transcode  *prometheus.HistogramVec
}

func newLiveMetrics() *liveMetrics {
	return &liveMetrics{
		inArchiver: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "archiver_live_path_seconds",
			Help:    "Time a go-livepeer hook spends in archiver code, per call (TranscodeSeg: per segment, around go-livepeer's own transcode).",
			Buckets: []float64{5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 5e-2},
		}, []string{"hook"}),
		transcode: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "archiver_transcode_seconds",
			Help:    "Whole TranscodeSeg time per segment, archiver hooks included, by whether the segment asked for archiving.",
			Buckets: prometheus.ExponentialBucketsRange(0.02, 20, 100), // 7 % apart
		}, []string{"archiving"}),
	}
}

// collectors are registered on the archiver's metrics endpoint.
func (m *liveMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.inArchiver, m.transcode}
}

// hook records d spent in archiver code by hook.
func (m *liveMetrics) hook(hook string, d time.Duration) {
	m.inArchiver.WithLabelValues(hook).Observe(d.Seconds())
}

// segment records a TranscodeSeg that began at start and spent inner in
// go-livepeer's own transcode: the rest was the archiver's.
func (m *liveMetrics) segment(archiving bool, start time.Time, inner time.Duration) {
	total := time.Since(start)
	m.hook("TranscodeSeg", total-inner)
	label := "false"
	if archiving {
		label = "true"
	}
	m.transcode.WithLabelValues(label).Observe(total.Seconds())
}
