package hlsimport

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/chunker"
)

// reference is the Swarm reference of data, computed offline.
func reference(t *testing.T, data string) swarm.Address {
	t.Helper()
	ref, err := chunker.Reference(t.Context(), []byte(data), redundancy.NONE)
	require.NoError(t, err)
	return ref
}

// rewritingSource serves a live playlist of a0.ts and a1.ts at /cam.m3u8
// that ends (adding a2.ts) from load endAt on; a1.ts's bytes change from
// playlist load changeAt on. With etag the segments carry a strong ETag
// and If-None-Match is honoured. bodies counts a1.ts bodies sent.
type rewritingSource struct {
	changeAt, endAt int32
	etag            bool
	loads, bodies   atomic.Int32
	notModified     atomic.Int32
}

func (s *rewritingSource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/cam.m3u8" {
		if s.loads.Add(1) >= s.endAt {
			_, _ = w.Write([]byte(livePlaylist(2, 0, true, "a0.ts", "a1.ts", "a2.ts")))
			return
		}
		_, _ = w.Write([]byte(livePlaylist(2, 0, false, "a0.ts", "a1.ts")))
		return
	}
	body := "bytes of " + r.URL.Path
	if r.URL.Path == "/a1.ts" && s.loads.Load() >= s.changeAt {
		body = "other bytes of " + r.URL.Path
	}
	if s.etag {
		tag := fmt.Sprintf(`"%x"`, sha256.Sum256([]byte(body)))
		w.Header().Set("ETag", tag)
		if r.Header.Get("If-None-Match") == tag {
			s.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if r.URL.Path == "/a1.ts" {
		s.bodies.Add(1)
	}
	_, _ = w.Write([]byte(body))
}

// TestFollowSegmentRewritten: while following, a segment whose bytes
// change under the same sequence number and URI is kept as first archived
// and warned about; an unchanged one is not. With a strong ETag the check
// is a conditional request on every relisting (a late change is seen and
// the body is not sent again while unchanged); without one the segment is
// re-read once, on its first relisting.
func TestFollowSegmentRewritten(t *testing.T) {
	tests := []struct {
		name      string
		src       rewritingSource
		wantWarn  bool
		wantBody  int32 // a1.ts bodies sent
		want304   bool
		wantBytes string
	}{
		{"no ETag, changed before its first relisting", rewritingSource{changeAt: 3, endAt: 12}, true, 2, false, "bytes of /a1.ts"},
		{"no ETag, unchanged: re-read once", rewritingSource{changeAt: 1 << 30, endAt: 12}, false, 2, false, "bytes of /a1.ts"},
		{"ETag, changed late", rewritingSource{changeAt: 8, endAt: 12, etag: true}, true, 2, true, "bytes of /a1.ts"},
		{"ETag, unchanged: never re-sent", rewritingSource{changeAt: 1 << 30, endAt: 12, etag: true}, false, 1, true, "bytes of /a1.ts"},
	}
	for i := range tests {
		tc := &tests[i] // not copied: the source holds atomic counters
		t.Run(tc.name, func(t *testing.T) {
			src := &tc.src
			srv := httptest.NewServer(src)
			t.Cleanup(srv.Close)
			a, _ := memArchive()
			var logs logBuffer
			_, err := Run(testContext(t, 20*time.Second), a, srv.URL+"/cam.m3u8",
				Config{Follow: true, Poll: time.Millisecond, IdleTimeout: 10 * time.Second, Logger: logs.logger()})
			require.NoError(t, err)
			require.Equal(t, tc.wantWarn, strings.Contains(logs.String(), "its bytes changed under the same URI"), logs.String())
			require.Equal(t, tc.wantBody, src.bodies.Load())
			require.Equal(t, tc.want304, src.notModified.Load() > 0)
			entries, err := a.Entries("cam")
			require.NoError(t, err)
			require.Len(t, entries, 3)
			require.Equal(t, reference(t, tc.wantBytes), entries[1].Reference, "the first version is kept")
		})
	}
}

// TestFollowLocalSegmentRewritten: a local segment file rewritten while
// followed is warned about and its first version kept.
func TestFollowLocalSegmentRewritten(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cam") // the rendition is named after the folder
	writeFile(t, filepath.Join(dir, "a0.ts"), "first a0")
	writeFile(t, filepath.Join(dir, "a1.ts"), "first a1")
	playlist := filepath.Join(dir, "cam.m3u8")
	writeFile(t, playlist, livePlaylist(2, 0, false, "a0.ts", "a1.ts"))
	a, _ := memArchive()
	var logs logBuffer
	done := make(chan error, 1)
	go func() {
		_, err := Run(testContext(t, 20*time.Second), a, playlist,
			Config{Follow: true, Poll: 5 * time.Millisecond, IdleTimeout: 10 * time.Second, Logger: logs.logger()})
		done <- err
	}()
	require.Eventually(t, func() bool { e, _ := a.Entries("cam"); return len(e) == 2 }, 10*time.Second, 5*time.Millisecond, "%s", &logs)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a1.ts"), []byte("rewritten a1"), 0o644))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "its bytes changed under the same URI") },
		10*time.Second, 5*time.Millisecond, "%s", &logs)
	writeFile(t, playlist, livePlaylist(2, 0, true, "a0.ts", "a1.ts"))
	require.NoError(t, <-done)
	entries, err := a.Entries("cam")
	require.NoError(t, err)
	require.Len(t, entries, 2)
	require.Equal(t, reference(t, "first a1"), entries[1].Reference, "the first version is kept")
	require.Equal(t, 1, strings.Count(logs.String(), "its bytes changed under the same URI"), "warned once per change")
}
