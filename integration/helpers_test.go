package integration_test

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/manifest"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/beetest"
	"github.com/lpswarm/archiver/internal/hlstest"
)

var dev *beetest.Dev

func TestMain(m *testing.M) { os.Exit(beetest.Main(m, &dev)) }

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// generate writes a finished ffmpeg stream into a temp folder.
func generate(t *testing.T, o hlstest.Options) string {
	t.Helper()
	dir := t.TempDir()
	_, err := hlstest.Generate(testContext(t, time.Minute), dir, o)
	require.NoError(t, err)
	return dir
}

// rewrite replaces text in a file.
func rewrite(t *testing.T, path string, pairs ...string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	s := strings.NewReplacer(pairs...).Replace(string(data))
	require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
}

// sourceRendition is a media playlist of the source with its segment bytes.
type sourceRendition struct {
	playlist *hls.Media
	segments [][]byte
}

// readSource parses a local media playlist and reads its segments,
// ignoring query strings on URIs.
func readSource(t *testing.T, playlistPath string) sourceRendition {
	t.Helper()
	data, err := os.ReadFile(playlistPath)
	require.NoError(t, err)
	pl, err := hls.ParseMedia(bytes.NewReader(data))
	require.NoError(t, err)
	src := sourceRendition{playlist: pl}
	for _, s := range pl.Segments {
		u, err := url.Parse(s.URI)
		require.NoError(t, err)
		p := u.Path
		if u.Scheme != "" {
			p = p[strings.LastIndexByte(p, '/')+1:]
		}
		seg, err := os.ReadFile(filepath.Join(filepath.Dir(playlistPath), p))
		require.NoError(t, err)
		src.segments = append(src.segments, seg)
	}
	return src
}

// beeManifest opens an archive manifest by reading its nodes back from Bee.
func beeManifest(t *testing.T, ctx context.Context, ref swarm.Address) manifest.Interface {
	t.Helper()
	m, err := manifest.NewDefaultManifestReference(ref, beeLoader{ctx})
	require.NoError(t, err)
	return m
}

type beeLoader struct{ ctx context.Context }

func (l beeLoader) Load(ctx context.Context, ref []byte) ([]byte, error) {
	return dev.Client.DownloadBytes(ctx, swarm.NewAddress(ref), 1<<20)
}

func (beeLoader) Save(context.Context, []byte) ([]byte, error) { panic("read only") }

// getBzz downloads a path of an archive and checks its content type.
func getBzz(t *testing.T, ctx context.Context, ref swarm.Address, path, contentType string) []byte {
	t.Helper()
	c, err := dev.Client.Get(ctx, "/bzz/"+ref.String()+"/"+path, 64<<20)
	require.NoError(t, err, path)
	require.Equal(t, contentType, c.ContentType, path)
	return c.Data
}

// verifyRendition checks an archived rendition against its source: the
// regenerated playlist lists the same segments in order with the same
// EXTINF, every segment reads back byte-identical through /bzz, and each
// manifest entry's reference equals the one computed offline.
func verifyRendition(t *testing.T, ctx context.Context, ref swarm.Address, name string, src sourceRendition, level redundancy.Level, final bool) {
	t.Helper()
	data := getBzz(t, ctx, ref, name+"/index.m3u8", archive.PlaylistContentType)
	pl, err := hls.ParseMedia(bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, final, pl.EndList, name)
	if final {
		require.Equal(t, "VOD", pl.PlaylistType)
	}
	require.Len(t, pl.Segments, len(src.playlist.Segments), name)
	m := beeManifest(t, ctx, ref)
	for i, s := range pl.Segments {
		want := src.playlist.Segments[i]
		require.Equal(t, want.Seq, s.Seq, name)
		require.Equal(t, want.Duration, s.Duration, "%s seq %d: EXTINF must equal the source's", name, s.Seq)
		require.False(t, s.Gap)
		require.NotContains(t, s.URI, "/", "archived URIs are relative file names")

		got := getBzz(t, ctx, ref, name+"/"+s.URI, archive.ContentType(s.URI))
		require.True(t, bytes.Equal(src.segments[i], got), "%s/%s differs from the source", name, s.URI)

		entry, err := m.Lookup(ctx, name+"/"+s.URI)
		require.NoError(t, err)
		offline, err := chunker.Reference(ctx, src.segments[i], level)
		require.NoError(t, err)
		require.Equal(t, offline, entry.Reference(), "%s/%s: manifest reference differs from the offline one", name, s.URI)
	}
}

// requireRemuxDuration remuxes the archived VOD from Bee with ffmpeg and
// compares its duration with want, within one segment.
func requireRemuxDuration(t *testing.T, ctx context.Context, ref swarm.Address, want, segment float64) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "remux.ts")
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-i", dev.Client.URL("/bzz/"+ref.String()+"/index.m3u8"), "-map", "0", "-c", "copy", out)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "ffmpeg remux from bee: %s", msg)
	got, err := hlstest.Duration(ctx, out)
	require.NoError(t, err)
	require.InDelta(t, want, got, segment, "archived VOD duration %.2fs, source %.2fs", got, want)
}

// playlistSeconds sums a media playlist's EXTINF durations.
func playlistSeconds(t *testing.T, pl *hls.Media) float64 {
	t.Helper()
	var sum float64
	for _, s := range pl.Segments {
		d, err := s.Seconds()
		require.NoError(t, err)
		sum += d
	}
	return sum
}
