package hlsimport

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNamer(t *testing.T) {
	var n namer
	tests := []struct{ uri, fallback, want string }{
		{"stream_0 (hi)/index.m3u8", "v0", "stream_0_hi"},
		{"720p.m3u8", "v1", "720p"},
		{"index.m3u8", "v2", "v2"},
		{"http://cdn.example/live/abc/hi/index.m3u8?token=x", "v3", "hi"},
		{"hi/playlist.m3u8", "v4", "hi-2"},
		{"../../etc/index.m3u8", "v5", "etc"},
		{"%2e%2e/%2e%2e/index.m3u8", "v6", "v6"},
		{"Hi%20R%C3%A9s%20(720p)/index.m3u8?session=42", "v7", "Hi_R_s_720p"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, n.name(tc.uri, tc.fallback), tc.uri)
	}
}

func TestResolve(t *testing.T) {
	root := t.TempDir()
	f := &fetcher{root: root}
	local := &url.URL{Scheme: "file", Path: filepath.Join(root, "hi", "index.m3u8")}
	remote, _ := url.Parse("https://media.example/live/hi/index.m3u8?sig=1")
	tests := []struct {
		name string
		base *url.URL
		ref  string
		want string // "" means refused
	}{
		{"relative file", local, "seg_001.ts", "file://" + root + "/hi/seg_001.ts"},
		{"query on a file", local, "seg_001.ts?x=1", "file://" + root + "/hi/seg_001.ts?x=1"},
		{"sibling folder", local, "../lo/seg.ts", "file://" + root + "/lo/seg.ts"},
		{"escape the folder", local, "../../secret.ts", ""},
		{"absolute file outside", local, "file:///etc/passwd", ""},
		{"absolute path outside", local, "/etc/passwd", ""},
		{"http from a local playlist", local, "http://127.0.0.1:9/a.ts", "http://127.0.0.1:9/a.ts"},
		{"relative http keeps query", remote, "seg.ts?sig=2", "https://media.example/live/hi/seg.ts?sig=2"},
		{"local file from a remote playlist", remote, "file:///etc/passwd", ""},
		{"other scheme", remote, "ftp://x/a.ts", ""},
		{"data scheme", remote, "data:text/plain,hi", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := f.resolve(tc.base, tc.ref)
			if tc.want == "" {
				require.ErrorIs(t, err, ErrForbiddenURI)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, u.String())
		})
	}
}

func TestFindPlaylist(t *testing.T) {
	master := "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhi/index.m3u8\n"
	media := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string // "" means an error
	}{
		{"one master among media", map[string]string{"master.m3u8": master, "x.m3u8": media}, "master.m3u8"},
		{"several masters, conventional name wins", map[string]string{"a.m3u8": master, "index.m3u8": master}, "index.m3u8"},
		{"several masters, no convention", map[string]string{"a.m3u8": master, "b.m3u8": master}, ""},
		{"only a media playlist", map[string]string{"live.m3u8": media}, "live.m3u8"},
		{"several media playlists", map[string]string{"a.m3u8": media, "b.m3u8": media}, ""},
		{"nothing", map[string]string{"readme.txt": "x"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
			}
			got, err := findPlaylist(dir)
			if tc.want == "" {
				require.ErrorIs(t, err, ErrNoPlaylist)
				return
			}
			require.NoError(t, err)
			require.Equal(t, filepath.Join(dir, tc.want), got)
		})
	}
}
