package hls

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.m3u8"))
	require.NoError(f, err)
	for _, name := range files {
		b, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(b)
	}
	for _, s := range []string{
		"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"i.mp4\"\n#EXT-X-DISCONTINUITY\n#EXT-X-GAP\n#EXTINF:2.5,t\na.m4s\n",
		"#EXTM3U\n#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"c\",NAME=\"n\",INSTREAM-ID=\"SERVICE1\"\n#EXT-X-STREAM-INF:BANDWIDTH=1,CLOSED-CAPTIONS=\"c\"\nv\n",
		"\ufeff#EXTM3U\r\n#EXT-X-TARGETDURATION:1\r\n#EXT-X-MEDIA-SEQUENCE:18446744073709551615\r\n#EXTINF:1,\r\nx\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		first, err := Parse(bytes.NewReader(data))
		if err != nil {
			require.True(t, errors.Is(err, ErrMalformed) || errors.Is(err, ErrEncrypted) || errors.Is(err, ErrByteRange),
				"unexpected error kind: %v", err)
			require.Nil(t, first)
			return
		}
		var out bytes.Buffer
		require.NoError(t, first.Encode(&out), "whatever parses must encode")
		second, err := Parse(bytes.NewReader(out.Bytes()))
		require.NoError(t, err, "encoded playlist must parse:\n%s", out.String())
		require.Equal(t, normalized(t, first, second), second)

		var again bytes.Buffer
		require.NoError(t, second.Encode(&again))
		require.Equal(t, out.String(), again.String(), "encoding is stable")
	})
}

// normalized returns first with the fields Encode may legitimately raise
// (version, target duration) taken from second, after checking that they
// only went up.
func normalized(t *testing.T, first, second Playlist) Playlist {
	switch a := first.(type) {
	case *Master:
		b, ok := second.(*Master)
		require.True(t, ok, "kind changed")
		require.GreaterOrEqual(t, b.Version, a.Version)
		n := *a
		n.Version = b.Version
		return &n
	case *Media:
		b, ok := second.(*Media)
		require.True(t, ok, "kind changed")
		require.GreaterOrEqual(t, b.Version, a.Version)
		require.GreaterOrEqual(t, b.TargetDuration, a.TargetDuration)
		n := *a
		n.Version, n.TargetDuration = b.Version, b.TargetDuration
		return &n
	}
	t.Fatalf("unexpected playlist type %T", first)
	return nil
}

func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"stream 0 (hi)", "%E2%9C%93 v1", "../../etc", "%2e%2e%2f", "a..b", ".x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := SafeName(s)
		if got != "" {
			require.NoError(t, ValidName(got))
		}
		require.Equal(t, got, SafeName(got), "idempotent")
		SegmentExt(s) // must not panic
		require.Contains(t, []string{".ts", ".m4s", ".mp4", ".aac", ".m4a", ".mp3", ".ac3", ".ec3",
			".vtt", ".webvtt", ".cmfv", ".cmfa"}, SegmentExt(s))
	})
}
