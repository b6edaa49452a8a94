package integration_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/hlsimport"
	"github.com/lpswarm/archiver/internal/hlstest"
)

// waitFile waits until ffmpeg has written a file.
func waitFile(t *testing.T, ctx context.Context, p string) {
	t.Helper()
	for {
		if _, err := os.Stat(p); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never appeared", p)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestImportFollowLive follows a live playlist that ffmpeg is still
// writing in real time: intermediate publishes are live EVENT playlists,
// and the final manifest is a VOD covering every segment ffmpeg wrote.
func TestImportFollowLive(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	dir := t.TempDir()
	ffmpeg := hlstest.Command(ctx, dir, hlstest.Options{Seconds: 12, Live: true})
	require.NoError(t, ffmpeg.Start())
	ffmpegDone := make(chan error, 1)
	go func() { ffmpegDone <- ffmpeg.Wait() }()
	waitFile(t, ctx, filepath.Join(dir, "master.m3u8"))

	var mu sync.Mutex
	var live []swarm.Address
	a := newArchive(t, redundancy.NONE)
	res, err := hlsimport.Run(ctx, a, dir, hlsimport.Config{
		Follow: true, PublishEvery: 3, PublishInterval: time.Hour, IdleTimeout: 20 * time.Second,
		OnPublish: func(_ context.Context, ref swarm.Address, final bool) error {
			if !final {
				mu.Lock()
				live = append(live, ref)
				mu.Unlock()
			}
			return nil
		},
	})
	require.NoError(t, err)
	require.NoError(t, <-ffmpegDone, "ffmpeg")

	// ffmpeg finished the playlists with ENDLIST; the archive has them all.
	for _, r := range []string{"audio", "hi", "lo"} {
		src := readSource(t, filepath.Join(dir, r, "index.m3u8"))
		require.True(t, src.playlist.EndList)
		require.GreaterOrEqual(t, len(src.playlist.Segments), 6)
		verifyRendition(t, ctx, res.Reference, r, src, redundancy.NONE, true)
	}
	requireRemuxDuration(t, ctx, res.Reference, 12, 2)

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, live, "no intermediate publish while following")
	pl, err := hls.ParseMedia(bytes.NewReader(getBzz(t, ctx, live[0], "hi/index.m3u8", archive.PlaylistContentType)))
	require.NoError(t, err)
	require.Equal(t, "EVENT", pl.PlaylistType)
	require.False(t, pl.EndList, "a live archive must not claim to be finished")
}

// TestImportFollowStopSignal: the first SIGINT while following ends the
// import gracefully: what was archived is published as a finished VOD.
func TestImportFollowStopSignal(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	dir := t.TempDir()
	ffmpeg := hlstest.Command(ctx, dir, hlstest.Options{Seconds: 30, Live: true})
	require.NoError(t, ffmpeg.Start())
	t.Cleanup(func() { _ = ffmpeg.Process.Kill(); _ = ffmpeg.Wait() })
	waitFile(t, ctx, filepath.Join(dir, "master.m3u8"))
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)

	cmd := exec.CommandContext(ctx, archiverNode(t), "import", "-bee", dev.URL, "-postageBatch", batch,
		"-follow", "-publishEvery", "3", dir)
	var stdout bytes.Buffer
	stderr := &lineWaiter{want: "live archive", seen: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	require.NoError(t, cmd.Start())
	select {
	case <-stderr.seen:
	case <-ctx.Done():
		t.Fatal("no live publish")
	}
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	require.NoError(t, cmd.Wait(), stderr.String())

	ref := parseRef(t, stdout.String())
	pl, err := hls.ParseMedia(bytes.NewReader(getBzz(t, ctx, ref, "hi/index.m3u8", archive.PlaylistContentType)))
	require.NoError(t, err)
	require.True(t, pl.EndList, "a stopped archive is a finished VOD")
	require.GreaterOrEqual(t, len(pl.Segments), 3)
	require.Less(t, len(pl.Segments), 15, "stopped before the 30 s stream ended")
	for _, s := range pl.Segments {
		got := getBzz(t, ctx, ref, "hi/"+s.URI, "video/mp2t")
		want := mustRead(t, filepath.Join(dir, "hi", fmt.Sprintf("seg_%03d.ts", s.Seq)))
		require.Equal(t, want, got, s.URI)
	}
}

// lineWaiter collects output and signals once it contains want.
type lineWaiter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *lineWaiter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *lineWaiter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
