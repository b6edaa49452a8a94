package grpcsvc

import "github.com/prometheus/client_golang/prometheus"

// Collector exposes the service's counters and connected workers to
// Prometheus; register it on the orchestrator's registry.
func (s *Server) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Server }

var (
	descJobs = prometheus.NewDesc("archiver_orchestrator_jobs_total",
		"Archive jobs by event: dispatched, redispatched, archived, failed, late_report.", []string{"event"}, nil)
	descWorkers = prometheus.NewDesc("archiver_orchestrator_workers",
		"Connected archiver workers.", nil, nil)
	descCapacity = prometheus.NewDesc("archiver_orchestrator_worker_capacity",
		"Total capacity of the connected workers.", nil, nil)
	descUnacked = prometheus.NewDesc("archiver_orchestrator_jobs_unacknowledged_total",
		"Archive jobs taken back from a worker that did not acknowledge (fetch) them in time; also counted as redispatched.", nil, nil)
	descStalled = prometheus.NewDesc("archiver_orchestrator_workers_stalled",
		"Connected workers given no job until they acknowledge one: they did not fetch their jobs in time.", nil, nil)
)

func (collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descJobs
	ch <- descWorkers
	ch <- descCapacity
	ch <- descUnacked
	ch <- descStalled
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	m := c.s.Metrics()
	for event, v := range map[string]int64{"dispatched": m.Dispatched, "redispatched": m.Redispatched,
		"archived": m.Archived, "failed": m.Failed, "late_report": m.LateReports} {
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.CounterValue, float64(v), event)
	}
	workers, capacity := c.s.d.Workers().Count()
	ch <- prometheus.MustNewConstMetric(descWorkers, prometheus.GaugeValue, float64(workers))
	ch <- prometheus.MustNewConstMetric(descCapacity, prometheus.GaugeValue, float64(capacity))
	ch <- prometheus.MustNewConstMetric(descUnacked, prometheus.CounterValue, float64(m.Unacknowledged))
	ch <- prometheus.MustNewConstMetric(descStalled, prometheus.GaugeValue, float64(c.s.d.Workers().Stalled()))
}
