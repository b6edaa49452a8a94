package hooks

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// liveMetrics times the archiver's share of go-livepeer's live path, inside
// the real node: what each hook spends in archiver code, as wall time and
// as the CPU time of the code itself, and each segment's whole transcode,
// by whether it asked for archiving. Archiving must not slow the reply:
// the first stays far below a millisecond, and the last is the same with
// archiving on and off. The wall time also counts the time the archiver
// code waited for a core (the transcoder's threads share them); the CPU
// time does not.
type liveMetrics struct {
	inArchiver, cpu *prometheus.HistogramVec
	transcode       *prometheus.HistogramVec
}

var liveBuckets = []float64{5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 5e-2}

func newLiveMetrics() *liveMetrics {
	return &liveMetrics{
		inArchiver: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "archiver_live_path_seconds",
			Help:    "Time a go-livepeer hook spends in archiver code, per call (TranscodeSeg: per segment, around go-livepeer's own transcode).",
			Buckets: liveBuckets,
		}, []string{"hook"}),
		cpu: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "archiver_live_path_cpu_seconds",
			Help:    "CPU time a go-livepeer hook's archiver code uses, per call, on the thread that runs it (TranscodeSeg: per segment); calls that moved between threads are not observed.",
			Buckets: liveBuckets,
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
	return []prometheus.Collector{m.inArchiver, m.cpu, m.transcode}
}

// hook records d spent in archiver code by hook, cpu of it on a core when
// measured.
func (m *liveMetrics) hook(hook string, d time.Duration, cpu cpuTime) {
	m.inArchiver.WithLabelValues(hook).Observe(d.Seconds())
	if !cpu.unknown {
		m.cpu.WithLabelValues(hook).Observe(cpu.d.Seconds())
	}
}

// segment records a TranscodeSeg that began at start and spent inner in
// go-livepeer's own transcode: the rest was the archiver's, cpu of it on a
// core.
func (m *liveMetrics) segment(archiving bool, start time.Time, inner time.Duration, cpu cpuTime) {
	total := time.Since(start)
	m.hook("TranscodeSeg", total-inner, cpu)
	label := "false"
	if archiving {
		label = "true"
	}
	m.transcode.WithLabelValues(label).Observe(total.Seconds())
}

// cpuOf runs f and returns the CPU time its thread used meanwhile: f's own
// work, not the time it waited for a lock or a core. The goroutine is not
// locked to its thread (a locked goroutine, once descheduled, waits for
// that one thread to be woken, which on a busy machine takes milliseconds
// of the reply); when f ends on another thread than it began on, or the
// clock cannot be read, there is no measure (false).
func cpuOf(f func()) (time.Duration, bool) {
	tid0, t0, ok0 := threadCPU()
	f()
	tid1, t1, ok1 := threadCPU()
	if !ok0 || !ok1 || tid0 != tid1 {
		return 0, false
	}
	return t1 - t0, true
}

// cpuTime adds up the CPU time of a hook's parts; it has no measure if
// any part has none.
type cpuTime struct {
	d       time.Duration
	unknown bool
}

func (c *cpuTime) run(f func()) { c.add(cpuOf(f)) }

func (c *cpuTime) add(d time.Duration, ok bool) {
	c.d += d
	c.unknown = c.unknown || !ok
}
