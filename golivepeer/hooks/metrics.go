package hooks

import (
	"sync"
	"time"

	"github.com/livepeer/go-livepeer/core"

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

	mu sync.Mutex
	// shares holds each segment's TranscodeSeg share until its reply hook
	// adds its own and records the reply's whole time in archiver code
	// (label Reply). go-livepeer passes the same metadata to both.
	shares map[*core.SegTranscodingMetadata]time.Duration
}

// maxShares bounds shares: a reply that never comes (a panic in between)
// must not leak; past it the table starts again.
const maxShares = 4096

func newLiveMetrics() *liveMetrics {
	return &liveMetrics{shares: map[*core.SegTranscodingMetadata]time.Duration{},
		inArchiver: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "archiver_live_path_seconds",
			Help:    "Time a go-livepeer hook spends in archiver code, per call (TranscodeSeg: per segment, around go-livepeer's own transcode; Reply: per segment, TranscodeSeg's and SegmentReply's together).",
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

// segment records a TranscodeSeg of md that began at start and spent inner
// in go-livepeer's own transcode: the rest was the archiver's.
func (m *liveMetrics) segment(md *core.SegTranscodingMetadata, archiving bool, start time.Time, inner time.Duration) {
	total := time.Since(start)
	m.hook("TranscodeSeg", total-inner)
	m.mu.Lock()
	if len(m.shares) >= maxShares {
		clear(m.shares)
	}
	m.shares[md] = total - inner
	m.mu.Unlock()
	label := "false"
	if archiving {
		label = "true"
	}
	m.transcode.WithLabelValues(label).Observe(total.Seconds())
}

// reply records the reply hook's d for md, and the segment's whole share.
func (m *liveMetrics) reply(md *core.SegTranscodingMetadata, d time.Duration) {
	m.hook("SegmentReply", d)
	m.mu.Lock()
	share, ok := m.shares[md]
	delete(m.shares, md)
	m.mu.Unlock()
	if ok {
		m.hook("Reply", share+d)
	}
}
