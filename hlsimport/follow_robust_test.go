package hlsimport

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/internal/memstore"
	"github.com/lpswarm/archiver/upload"
)

// livePlaylist is a live media playlist starting at media sequence first,
// listing uris, 2 s each; end adds EXT-X-ENDLIST.
func livePlaylist(target int, first uint64, end bool, uris ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:%d\n", target, first)
	for _, u := range uris {
		b.WriteString("#EXTINF:2.0,\n" + u + "\n")
	}
	if end {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	return b.String()
}

// scriptedSource serves the playlists in turn (the last one forever) at
// /cam.m3u8 and every other path as its own name as bytes.
func scriptedSource(t *testing.T, playlists ...string) *httptest.Server {
	t.Helper()
	var loads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cam.m3u8" {
			// The first load only tells the importer it is a media playlist.
			n := max(int(loads.Add(1))-2, 0)
			_, _ = w.Write([]byte(playlists[min(n, len(playlists)-1)]))
			return
		}
		_, _ = w.Write([]byte("bytes of " + r.URL.Path))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestFollowEncoderRestart: while following, a media sequence that goes
// backwards (an encoder restart) is archived after what came before, as a
// discontinuity under names that cannot collide; a relisted sequence
// number with other content is warned about.
func TestFollowEncoderRestart(t *testing.T) {
	tests := []struct {
		name      string
		playlists []string
		wantNames []string
		wantDisc  []bool
		wantLog   string
	}{
		{
			name: "media sequence restarts at 0",
			playlists: []string{
				livePlaylist(2, 5, false, "a5.ts", "a6.ts", "a7.ts"),
				livePlaylist(2, 0, true, "b0.ts", "b1.ts"),
			},
			wantNames: []string{"5.ts", "6.ts", "7.ts", "8.ts", "9.ts"},
			wantDisc:  []bool{false, false, false, true, false},
			wantLog:   "encoder restart",
		},
		{
			name: "restart while the old window still overlaps",
			playlists: []string{
				livePlaylist(2, 3, false, "a3.ts", "a4.ts"),
				livePlaylist(2, 1, false, "b1.ts", "b2.ts"),
				livePlaylist(2, 1, true, "b1.ts", "b2.ts", "b3.ts", "b4.ts", "b5.ts"),
			},
			wantNames: []string{"3.ts", "4.ts", "5.ts", "6.ts", "7.ts", "8.ts", "9.ts"},
			wantDisc:  []bool{false, false, true, false, false, false, false},
			wantLog:   "encoder restart",
		},
		{
			name: "same sequence number, other segment",
			playlists: []string{
				livePlaylist(2, 0, false, "a0.ts", "a1.ts"),
				livePlaylist(2, 0, true, "a0.ts", "x1.ts", "a2.ts"),
			},
			wantNames: []string{"0.ts", "1.ts", "2.ts"},
			wantDisc:  []bool{false, false, false},
			wantLog:   "source changed an archived segment",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := scriptedSource(t, tc.playlists...)
			a, _ := memArchive()
			var logs logBuffer
			_, err := Run(testContext(t, 20*time.Second), a, srv.URL+"/cam.m3u8",
				Config{Follow: true, Poll: time.Millisecond, IdleTimeout: 10 * time.Second, Logger: logs.logger()})
			require.NoError(t, err)
			entries, err := a.Entries("cam")
			require.NoError(t, err)
			var names []string
			var disc []bool
			for _, e := range entries {
				require.Empty(t, e.Gap, "seq %d", e.Seq)
				names = append(names, e.Name)
				disc = append(disc, e.Discontinuity)
			}
			require.Equal(t, tc.wantNames, names)
			require.Equal(t, tc.wantDisc, disc)
			require.Contains(t, logs.String(), tc.wantLog)
		})
	}
}

// hangingStore is the in-memory Bee, except that an upload of hang never
// answers: it returns only when its context ends. started is closed when
// that upload begins.
type hangingStore struct {
	*memstore.Store
	hang    string
	once    sync.Once
	started chan struct{}
}

func (s *hangingStore) Upload(ctx context.Context, data []byte) (upload.Receipt, error) {
	if string(data) == s.hang {
		s.once.Do(func() { close(s.started) })
		<-ctx.Done()
		return upload.Receipt{}, ctx.Err()
	}
	return s.Store.Upload(ctx, data)
}

// TestFollowStopCancelsInFlight: the first stop signal (Config.Stop, as the
// command closes it on the first SIGINT/SIGTERM) ends a segment read that
// trickles a byte a second, or an upload Bee never answers, and the
// archive is published within 5 s; the cut segment stays a gap.
func TestFollowStopCancelsInFlight(t *testing.T) {
	tests := []struct {
		name      string
		trickle   bool // the source trickles seq 1; else Bee hangs on it
		wantGapIn string
	}{
		{"source trickles a byte a second", true, "stop"},
		{"Bee does not answer", false, "stop"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reading := make(chan struct{})
			var readOnce sync.Once
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/cam.m3u8":
					_, _ = w.Write([]byte(livePlaylist(2, 0, false, "fast.ts", "slow.ts")))
				case "/slow.ts":
					if !tc.trickle {
						_, _ = w.Write([]byte("hang"))
						return
					}
					readOnce.Do(func() { close(reading) })
					for range 100 {
						if _, err := w.Write([]byte("x")); err != nil {
							return
						}
						w.(http.Flusher).Flush()
						select {
						case <-r.Context().Done():
							return
						case <-time.After(time.Second):
						}
					}
				default:
					_, _ = w.Write([]byte("fast"))
				}
			}))
			t.Cleanup(srv.Close)
			st := &hangingStore{Store: memstore.New(redundancy.NONE), hang: "hang", started: make(chan struct{})}
			if tc.trickle {
				st.hang = "never"
				st.started = reading
			}
			a := archive.New(st)
			stop := make(chan struct{})
			published := make(chan struct{}, 8)
			type outcome struct {
				res Result
				err error
			}
			out := make(chan outcome, 1)
			go func() {
				res, err := Run(testContext(t, 60*time.Second), a, srv.URL+"/cam.m3u8", Config{
					Follow: true, Stop: stop, Poll: time.Millisecond, IdleTimeout: time.Minute,
					OnPublish: func(_ context.Context, _ swarm.Address, final bool) error {
						if final {
							published <- struct{}{}
						}
						return nil
					},
				})
				out <- outcome{res, err}
			}()
			select {
			case <-st.started:
			case <-time.After(10 * time.Second):
				t.Fatal("the slow segment was never requested")
			}
			close(stop)
			began := time.Now()
			select {
			case o := <-out:
				elapsed := time.Since(began)
				require.NoError(t, o.err)
				require.False(t, o.res.Reference.IsZero())
				require.Less(t, elapsed, 5*time.Second)
				t.Logf("stopped and published in %s", elapsed.Round(time.Millisecond))
			case <-time.After(15 * time.Second):
				t.Fatal("Run did not return within 15 s of the stop signal")
			}
			require.Len(t, published, 1)
			g := gaps(t, a, "cam")
			require.Empty(t, g[0])
			require.Contains(t, g[1], tc.wantGapIn)
		})
	}
}

// TestFollowIdleTimeoutBeatsTargetDuration: a huge TARGETDURATION does
// not stretch the wait past -idleTimeout.
func TestFollowIdleTimeoutBeatsTargetDuration(t *testing.T) {
	srv := scriptedSource(t, livePlaylist(3600, 0, false, "a.ts"))
	a, _ := memArchive()
	began := time.Now()
	res, err := Run(testContext(t, 10*time.Second), a, srv.URL+"/cam.m3u8",
		Config{Follow: true, IdleTimeout: 300 * time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, 1, res.Stats.Segments)
	require.Less(t, time.Since(began), 3*time.Second)
	t.Logf("ended after %s", time.Since(began).Round(time.Millisecond))
}

// TestSourceStallTimeout: a source that stops sending mid-segment (the
// connection open, no bytes) ends that read after SourceStallTimeout
// without progress: the segment becomes a gap saying so.
func TestSourceStallTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cam/index.m3u8":
			_, _ = w.Write([]byte(mediaPlaylist("ok.ts", "stall.ts", "ok.ts")))
		case "/cam/stall.ts":
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte("x"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
		default:
			_, _ = w.Write([]byte("fine"))
		}
	}))
	t.Cleanup(srv.Close)
	a, _ := memArchive()
	began := time.Now()
	_, err := Run(testContext(t, 20*time.Second), a, srv.URL+"/cam/index.m3u8",
		Config{SourceStallTimeout: 300 * time.Millisecond})
	require.NoError(t, err)
	elapsed := time.Since(began)
	g := gaps(t, a, "cam")
	require.Empty(t, g[0])
	require.Contains(t, g[1], "no data")
	require.Empty(t, g[2])
	require.Less(t, elapsed, 5*time.Second)
	t.Logf("stalled segment ended after %s", elapsed.Round(time.Millisecond))
}
