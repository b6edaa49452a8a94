package hlsimport

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestImportBoundsConcurrentReads: a master listing thousands of variants
// never has more than MaxConcurrentReads requests in flight, so memory
// stays within that bound times the segment limit. The server counts
// requests in its handler, which returns (and decrements) before the
// client sees the end of these small responses: the count it observes is
// never above what the client holds.
func TestImportBoundsConcurrentReads(t *testing.T) {
	const variants, bound = 2000, 4
	var inFlight, peak, requests atomic.Int64
	var master strings.Builder
	master.WriteString("#EXTM3U\n")
	for i := range variants {
		fmt.Fprintf(&master, "#EXT-X-STREAM-INF:BANDWIDTH=%d\nv%d/index.m3u8\n", 1000+i, i)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		switch {
		case r.URL.Path == "/master.m3u8":
			w.Write([]byte(master.String()))
		case strings.HasSuffix(r.URL.Path, "/index.m3u8"):
			w.Write([]byte(mediaPlaylist("seg.ts")))
		case strings.HasSuffix(r.URL.Path, "/seg.ts"):
			time.Sleep(time.Millisecond) // long enough for unbounded readers to overlap
			w.Write([]byte("segment " + r.URL.Path))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)

	a, _ := memArchive()
	res, err := Run(testContext(t, 2*time.Minute), a, srv.URL+"/master.m3u8", Config{MaxConcurrentReads: bound})
	require.NoError(t, err)
	require.Equal(t, variants, res.Stats.Renditions)
	require.Equal(t, variants, res.Stats.Segments)
	require.EqualValues(t, 1+2*variants, requests.Load())
	require.LessOrEqual(t, peak.Load(), int64(bound), "requests in flight at once")
	t.Logf("%d variants: at most %d concurrent reads (bound %d)", variants, peak.Load(), bound)
}
