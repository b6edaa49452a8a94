package realnode

import (
	"context"
	"math"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"
)

// TestHistograms: a histogram read back from a node's text endpoint gives
// the quantiles and fractions of what was observed, per label set and
// since an earlier scrape.
func TestHistograms(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "x_seconds", Buckets: []float64{1, 2, 4}}, []string{"k"})
	reg.MustRegister(h)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	ctx := context.Background()

	for _, v := range []float64{0.5, 1.5, 1.5, 3} {
		h.WithLabelValues("a").Observe(v)
	}
	before, err := Histograms(ctx, srv.URL, "x_seconds")
	require.NoError(t, err)
	a := before["k=a"]
	require.Equal(t, uint64(4), a.Count)
	require.InDelta(t, 6.5, a.Sum, 1e-9)
	require.Equal(t, []float64{1, 2, 4, math.Inf(1)}, a.Bounds)
	require.Equal(t, []uint64{1, 3, 4, 4}, a.Cumulative)
	require.InDelta(t, 1.5, a.Quantile(0.5), 1e-9, "rank 2 of 4: half way through (1, 2]")
	require.InDelta(t, 0.75, a.AtMost(2), 1e-9)
	require.True(t, math.IsNaN(a.AtMost(3)), "3 is no bound")

	for range 10 {
		h.WithLabelValues("a").Observe(10)
	}
	after, err := Histograms(ctx, srv.URL, "x_seconds")
	require.NoError(t, err)
	d := after["k=a"].Sub(a)
	require.Equal(t, uint64(10), d.Count)
	require.Equal(t, []uint64{0, 0, 0, 10}, d.Cumulative)
	require.Equal(t, 4.0, d.Quantile(0.5), "beyond the last bound: the last finite bound")
	require.True(t, math.IsNaN(Histogram{}.Quantile(0.5)))

	h.WithLabelValues("b").Observe(3)
	both, err := Histograms(ctx, srv.URL, "x_seconds")
	require.NoError(t, err)
	m := Merge(both)
	require.Equal(t, uint64(15), m.Count)
	require.Equal(t, []uint64{1, 3, 5, 15}, m.Cumulative)

	none, err := Histograms(ctx, srv.URL, "absent")
	require.NoError(t, err)
	require.Empty(t, none)
}
