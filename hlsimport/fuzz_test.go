package hlsimport

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/hls"
)

// FuzzResolve: a URI from a playlist never reaches a local file outside
// the imported folder, nor any local file from a remote playlist, nor a
// scheme other than file and http(s).
func FuzzResolve(f *testing.F) {
	for _, ref := range []string{"seg_001.ts", "seg_001.ts?x=1", "../lo/seg.ts", "../../secret.ts", "file:///etc/passwd",
		"/etc/passwd", "http://127.0.0.1:9/a.ts", "seg.ts?sig=2", "ftp://x/a.ts", "data:text/plain,hi",
		"%2e%2e/%2e%2e/x.ts", "..%2f..%2fx.ts", "file://host/etc/passwd", "//evil/x.ts", " \t../x.ts", "hi/./../../x"} {
		f.Add(true, ref)
		f.Add(false, ref)
	}
	root := filepath.Join(f.TempDir(), "import")
	fe := &fetcher{root: root}
	local := &url.URL{Scheme: "file", Path: filepath.Join(root, "hi", "index.m3u8")}
	remote, err := url.Parse("https://media.example/live/hi/index.m3u8?sig=1")
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, fromLocal bool, ref string) {
		base := remote
		if fromLocal {
			base = local
		}
		u, err := fe.resolve(base, ref)
		if err != nil {
			if !errors.Is(err, ErrForbiddenURI) {
				require.ErrorContains(t, err, "bad URI") // url.Parse refused it
			}
			return
		}
		switch u.Scheme {
		case "http", "https":
		case "file":
			require.True(t, fromLocal, "a remote playlist named local file %q", u)
			// once() opens exactly this path.
			p := filepath.Clean(u.Path)
			rel, err := filepath.Rel(root, p)
			require.NoError(t, err)
			require.False(t, rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)), "%q escapes %s: %s", ref, root, p)
		default:
			t.Fatalf("scheme %q let through", u.Scheme)
		}
	})
}

// FuzzNamer: rendition names derived from a master playlist's URIs are
// always safe manifest folder names and never repeat.
func FuzzNamer(f *testing.F) {
	for _, uri := range []string{"stream_0 (hi)/index.m3u8", "720p.m3u8", "index.m3u8", "http://cdn.example/live/abc/hi/index.m3u8?token=x",
		"../../etc/index.m3u8", "%2e%2e/%2e%2e/index.m3u8", "Hi%20R%C3%A9s%20(720p)/index.m3u8?session=42", "..", "/", ""} {
		f.Add(uri, uri)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var n namer
		first := n.name(a, "v0")
		second := n.name(b, "v1")
		third := n.name(a, "v0")
		for _, name := range []string{first, second, third} {
			require.NoError(t, hls.ValidName(name), "unsafe name %q", name)
		}
		require.NotEqual(t, first, second)
		require.NotEqual(t, first, third)
		require.NotEqual(t, second, third)
	})
}

// TestNamerLongNamesStayValid is the regression test of the fuzzer's find
// (testdata/fuzz/FuzzNamer): two folders whose sanitized names share their
// first 64 bytes got a 66-byte name, and the import failed.
func TestNamerLongNamesStayValid(t *testing.T) {
	long := strings.Repeat("a", hls.MaxNameLen)
	var n namer
	got := []string{n.name(long+"_1080p/index.m3u8", "v0"), n.name(long+"_720p/index.m3u8", "v1"), n.name(long+"_480p/index.m3u8", "v2")}
	require.Equal(t, []string{long, long[:hls.MaxNameLen-2] + "-2", long[:hls.MaxNameLen-2] + "-3"}, got)
}
