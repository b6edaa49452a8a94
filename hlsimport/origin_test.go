package hlsimport

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// originServers is the origin the operator names and another one on the
// same host, another port, that counts every request it gets.
type originServers struct {
	typed, other *httptest.Server
	otherHits    atomic.Int64
}

func newOriginServers(t *testing.T, playlists map[string]string) *originServers {
	t.Helper()
	s := &originServers{}
	s.other = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.otherHits.Add(1)
		switch r.URL.Path {
		case "/cam/index.m3u8":
			w.Write([]byte(mediaPlaylist("x.ts")))
		default:
			w.Write([]byte("elsewhere"))
		}
	}))
	t.Cleanup(s.other.Close)
	s.typed = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case playlists[p] != "":
			// SELF: this origin, written out (with an upper-case scheme).
			self := "HTTP://" + strings.TrimPrefix(s.typed.URL, "http://")
			w.Write([]byte(strings.NewReplacer("OTHER", s.other.URL, "SELF", self).Replace(playlists[p])))
		case p == "/cam/ok.ts", p == "/cam/ok2.ts":
			w.Write([]byte("fine " + p))
		case p == "/cam/same.ts":
			http.Redirect(w, r, "/cam/ok2.ts", http.StatusFound)
		case strings.HasPrefix(p, "/to-other/"):
			http.Redirect(w, r, s.other.URL+strings.TrimPrefix(p, "/to-other"), http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.typed.Close)
	return s
}

// TestImportStaysOnTheInputOrigin: a remote import reads only the origin
// the operator typed (scheme, host, port) and the origins allowed
// explicitly. Absolute URIs and redirects elsewhere are not fetched: a
// segment becomes a gap with a warning naming the origin, a media playlist
// ends the import with an error before anything is published.
func TestImportStaysOnTheInputOrigin(t *testing.T) {
	media := mediaPlaylist("ok.ts", "OTHER/x.ts", "same.ts", "/to-other/x.ts")
	tests := []struct {
		name      string
		top       string
		playlists map[string]string
		allow     bool   // allow the other origin explicitly
		wantErr   bool   // the import fails with ErrForbiddenURI
		wantGaps  []bool // per seq, when the import succeeds
		wantHits  int64  // requests the other origin got
	}{
		{name: "segments elsewhere become gaps", top: "/cam/index.m3u8",
			playlists: map[string]string{"/cam/index.m3u8": media},
			wantGaps:  []bool{false, true, false, true}},
		{name: "allowed origin is read", top: "/cam/index.m3u8",
			playlists: map[string]string{"/cam/index.m3u8": media},
			allow:     true, wantGaps: []bool{false, false, false, false}, wantHits: 2},
		{name: "same origin as an absolute URI", top: "/cam/index.m3u8",
			playlists: map[string]string{"/cam/index.m3u8": mediaPlaylist("ok.ts", "SELF/cam/ok2.ts")},
			wantGaps:  []bool{false, false}},
		{name: "media playlist elsewhere", top: "/master.m3u8",
			playlists: map[string]string{"/master.m3u8": "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\ncam/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\nOTHER/cam/index.m3u8\n",
				"/cam/index.m3u8": mediaPlaylist("ok.ts")},
			wantErr: true},
		{name: "top playlist redirected elsewhere", top: "/to-other/cam/index.m3u8", wantErr: true},
		{name: "media playlist redirected elsewhere", top: "/master.m3u8",
			playlists: map[string]string{"/master.m3u8": "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n/to-other/cam/index.m3u8\n"},
			wantErr:   true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newOriginServers(t, tc.playlists)
			a, _ := memArchive()
			var logs logBuffer
			cfg := Config{Logger: logs.logger()}
			if tc.allow {
				cfg.AllowOrigins = []string{s.other.URL}
			}
			res, err := Run(testContext(t, 30*time.Second), a, s.typed.URL+tc.top, cfg)
			require.Equal(t, tc.wantHits, s.otherHits.Load(), "requests to the other origin")
			if tc.wantErr {
				require.ErrorIs(t, err, ErrForbiddenURI)
				require.ErrorContains(t, err, s.other.URL)
				return
			}
			require.NoError(t, err)
			got := gaps(t, a, "cam")
			require.Len(t, got, len(tc.wantGaps))
			for seq, gap := range tc.wantGaps {
				if gap {
					require.Contains(t, got[uint64(seq)], s.other.URL, "seq %d: the gap names the origin", seq)
				} else {
					require.Empty(t, got[uint64(seq)], "seq %d", seq)
				}
			}
			wantGaps := 0
			for _, g := range tc.wantGaps {
				if g {
					wantGaps++
				}
			}
			require.Equal(t, wantGaps, res.Stats.Gaps)
			if wantGaps == 0 {
				return
			}
			require.Contains(t, logs.String(), s.other.URL, "the warning names the origin")
		})
	}
}

func TestParseOrigins(t *testing.T) {
	tests := []struct {
		in   string
		want []string // nil: refused with ErrBadOrigin
	}{
		{"https://cdn.example:443", []string{"https://cdn.example:443"}},
		{"https://CDN.example", []string{"https://cdn.example:443"}},
		{"http://cdn.example/", []string{"http://cdn.example:80"}},
		{" https://a.example:8443 , http://10.0.0.5:8080,", []string{"https://a.example:8443", "http://10.0.0.5:8080"}},
		{"http://[::1]:8080", []string{"http://[::1]:8080"}},
		{"", []string{}},
		{"https://cdn.example/live", nil},
		{"https://cdn.example?x=1", nil},
		{"https://user:pw@cdn.example", nil},
		{"ftp://cdn.example", nil},
		{"file:///etc", nil},
		{"cdn.example:443", nil},
		{"https://", nil},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseOrigins(tc.in)
			if tc.want == nil {
				require.ErrorIs(t, err, ErrBadOrigin)
				return
			}
			require.NoError(t, err)
			require.ElementsMatch(t, tc.want, got)
		})
	}
}

// TestOriginsCheck: only the input's origin and the listed ones pass;
// loopback, private addresses, other ports and schemes do not.
func TestOriginsCheck(t *testing.T) {
	input, err := url.Parse("https://media.example/live/master.m3u8?sig=1")
	require.NoError(t, err)
	remote, err := newOrigins(input, []string{"https://cdn.example"})
	require.NoError(t, err)
	local, err := newOrigins(nil, nil)
	require.NoError(t, err)
	tests := []struct {
		name string
		set  origins
		url  string
		ok   bool
	}{
		{"the input's origin", remote, "https://media.example/live/hi/seg.ts", true},
		{"default port spelled out", remote, "https://media.example:443/seg.ts", true},
		{"host case", remote, "https://MEDIA.example/seg.ts", true},
		{"listed origin", remote, "https://cdn.example:443/x/seg.ts?tok=1", true},
		{"other port", remote, "https://media.example:8443/seg.ts", false},
		{"other scheme", remote, "http://media.example/seg.ts", false},
		{"other host", remote, "https://evil.example/seg.ts", false},
		{"loopback", remote, "http://127.0.0.1:1633/bytes", false},
		{"private range", remote, "http://10.0.0.1/seg.ts", false},
		{"link-local metadata", remote, "http://169.254.169.254/latest/meta-data/", false},
		{"local import reads no origin by default", local, "https://media.example/seg.ts", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			require.NoError(t, err)
			err = tc.set.check(u)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrForbiddenURI)
		})
	}
}
