package watch

import (
	"math/big"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the watcher's Prometheus series; a nil *metrics records
// nothing.
type metrics struct {
	ttl      *prometheus.GaugeVec
	expiring *prometheus.GaugeVec
	topUps   *prometheus.CounterVec
	left     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		ttl: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archiver_postage_batch_ttl_seconds",
			Help: "Time until each watched postage batch expires at the current price."}, []string{"batch"}),
		expiring: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archiver_postage_batch_expiring",
			Help: "1 when a watched postage batch's TTL is below the warning threshold: alert on it."}, []string{"batch"}),
		topUps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archiver_postage_topups_total",
			Help: "Automatic top-ups by result: sent, failed, capped (refused by the spending cap)."}, []string{"batch", "result"}),
		left: prometheus.NewGauge(prometheus.GaugeOpts{Name: "archiver_postage_topup_cap_left_plur",
			Help: "PLUR the automatic top-ups may still spend under their cap."}),
	}
	reg.MustRegister(m.ttl, m.expiring, m.topUps, m.left)
	return m
}

func (m *metrics) sample(id string, ttl time.Duration, expiring bool) {
	if m == nil {
		return
	}
	m.ttl.WithLabelValues(id).Set(ttl.Seconds())
	v := 0.0
	if expiring {
		v = 1
	}
	m.expiring.WithLabelValues(id).Set(v)
}

func (m *metrics) topUp(id, result string) {
	if m != nil {
		m.topUps.WithLabelValues(id, result).Inc()
	}
}

func (m *metrics) capLeft(v *big.Int) {
	if m != nil {
		f, _ := new(big.Float).SetInt(v).Float64()
		m.left.Set(f)
	}
}
