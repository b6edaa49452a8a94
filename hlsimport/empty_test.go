package hlsimport

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestImportEmptySegmentIsGap: a 0-byte segment (or init section) is not
// archived as a segment: it becomes a gap with a reason, from a folder as
// from a server.
func TestImportEmptySegmentIsGap(t *testing.T) {
	files := map[string]string{
		"cam/index.m3u8": mediaPlaylist("ok.ts", "empty.ts", "ok.ts"),
		"cam/ok.ts":      "fine",
		"cam/empty.ts":   "",
		"fmp4/index.m3u8": "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init.mp4\"\n" +
			"#EXTINF:2.0,\nseg.m4s\n#EXT-X-ENDLIST\n",
		"fmp4/init.mp4": "",
		"fmp4/seg.m4s":  "data",
	}
	dir := t.TempDir()
	for name, body := range files {
		writeFile(t, filepath.Join(dir, name), body)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	tests := []struct {
		name, input, rendition string
		want                   []bool // gap per seq
	}{
		{"empty segment in a folder", filepath.Join(dir, "cam", "index.m3u8"), "cam", []bool{false, true, false}},
		{"empty segment from a server", srv.URL + "/cam/index.m3u8", "cam", []bool{false, true, false}},
		{"empty init section", filepath.Join(dir, "fmp4", "index.m3u8"), "fmp4", []bool{true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := memArchive()
			var logs logBuffer
			res, err := Run(testContext(t, 30*time.Second), a, tc.input, Config{Logger: logs.logger()})
			require.NoError(t, err)
			got := gaps(t, a, tc.rendition)
			require.Len(t, got, len(tc.want))
			for seq, gap := range tc.want {
				if gap {
					require.Contains(t, got[uint64(seq)], "empty", "seq %d", seq)
				} else {
					require.Empty(t, got[uint64(seq)], "seq %d", seq)
				}
			}
			require.Contains(t, logs.String(), "recorded as a gap")
			require.Zero(t, res.Stats.Bytes%int64(len("fine")), "no 0-byte file counted")
		})
	}
}
