package main

import (
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMetricsPprof: -pprof serves Go's profiles beside the metrics, and
// without it /debug/pprof/ is not there; the metrics carry the Go
// runtime's heap figures either way.
func TestMetricsPprof(t *testing.T) {
	get := func(url string) (int, string) {
		res, err := http.Get(url)
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(body)
	}
	for _, on := range []bool{true, false} {
		addr, stop, err := serveMetrics("127.0.0.1:0", newRegistry(), on, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		code, body := get("http://" + addr + "/metrics")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, "\ngo_memstats_heap_inuse_bytes ")
		require.Contains(t, body, "\nprocess_resident_memory_bytes ")

		code, body = get("http://" + addr + "/debug/pprof/heap?gc=1&debug=1")
		if on {
			require.Equal(t, http.StatusOK, code)
			require.Contains(t, body, "# HeapAlloc = ")
			code, body = get("http://" + addr + "/debug/pprof/")
			require.Equal(t, http.StatusOK, code)
			require.Contains(t, body, "goroutine")
		} else {
			require.Equal(t, http.StatusNotFound, code, body)
			code, _ = get("http://" + addr + "/debug/pprof/")
			require.Equal(t, http.StatusNotFound, code)
		}
		stop()
	}
}

func TestPprofNeedsMetricsAddr(t *testing.T) {
	_, err := parseNode([]string{"-orchAddr", "a:1", "-archiverSecret", "s", "-postageBatch", "ab", "-pprof"}, io.Discard)
	require.ErrorIs(t, err, errUsage)
	require.ErrorContains(t, err, "-pprof serves on -metricsAddr: set -metricsAddr too")
	c, err := parseNode([]string{"-orchAddr", "a:1", "-archiverSecret", "s", "-postageBatch", "ab", "-pprof", "-metricsAddr", "127.0.0.1:0"}, io.Discard)
	require.NoError(t, err)
	require.True(t, c.pprof)
}
