package hooks

import (
	"testing"
	"time"

	"github.com/livepeer/go-livepeer/core"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReplyAddsBothShares: a segment's Reply is its TranscodeSeg share plus
// its SegmentReply time, matched by the metadata go-livepeer passes to
// both; a reply without a TranscodeSeg records only its own hook.
func TestReplyAddsBothShares(t *testing.T) {
	m := newLiveMetrics()
	a, b := &core.SegTranscodingMetadata{Seq: 1}, &core.SegTranscodingMetadata{Seq: 2}
	m.segment(a, true, time.Now().Add(-3*time.Millisecond), time.Millisecond) // 2 ms in archiver code
	m.reply(b, time.Millisecond)
	assert.Zero(t, observed(t, m.inArchiver, "Reply"), "b never went through TranscodeSeg")
	m.reply(a, time.Millisecond)
	require.Equal(t, uint64(1), observed(t, m.inArchiver, "Reply"))
	assert.Equal(t, uint64(2), observed(t, m.inArchiver, "SegmentReply"))
	sum := sampleSum(t, m, "Reply")
	assert.InDelta(t, 0.003, sum, 0.001, "TranscodeSeg's 2 ms share plus the reply's 1 ms")
	assert.Empty(t, m.shares, "a matched share is forgotten")
}

func sampleSum(t *testing.T, m *liveMetrics, label string) float64 {
	t.Helper()
	var d dto.Metric
	require.NoError(t, m.inArchiver.WithLabelValues(label).(prometheus.Histogram).Write(&d))
	return d.GetHistogram().GetSampleSum()
}
