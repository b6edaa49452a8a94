package integration_test

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/hlsimport"
	"github.com/lpswarm/archiver/internal/hlstest"
	"github.com/lpswarm/archiver/upload"
)

// oddFolders renames ffmpeg's rendition folders to names unlike our own
// output and puts query strings on every URI.
var oddFolders = map[string]string{
	"hi":    "Hi Rés (720p)",
	"lo":    "lo.v2+small",
	"audio": "audio track",
}

func reshape(t *testing.T, dir string) {
	t.Helper()
	var pairs []string
	for from, to := range oddFolders {
		require.NoError(t, os.Rename(filepath.Join(dir, from), filepath.Join(dir, to)))
		rewrite(t, filepath.Join(dir, to, "index.m3u8"), ".ts\n", ".ts?token=abc&x=1\n")
		escaped := strings.ReplaceAll(to, " ", "%20")
		escaped = strings.ReplaceAll(escaped, "é", "%C3%A9")
		pairs = append(pairs, from+"/index.m3u8", escaped+"/index.m3u8?session=42")
	}
	rewrite(t, filepath.Join(dir, "master.m3u8"), pairs...)
}

func parseMaster(t *testing.T, data []byte) *hls.Master {
	t.Helper()
	m, err := hls.ParseMaster(bytes.NewReader(data))
	require.NoError(t, err)
	return m
}

// archivedName returns the rendition folder an archived master URI names.
func archivedName(t *testing.T, uri string) string {
	t.Helper()
	require.True(t, strings.HasSuffix(uri, "/index.m3u8"), uri)
	name := path.Dir(uri)
	require.NoError(t, hls.ValidName(name))
	return name
}

// sourcePath maps a (reshaped) source master URI to its local playlist.
func sourcePath(dir, uri string) string {
	for _, to := range oddFolders {
		escaped := strings.ReplaceAll(strings.ReplaceAll(to, " ", "%20"), "é", "%C3%A9")
		if strings.HasPrefix(uri, escaped+"/") {
			return filepath.Join(dir, to, "index.m3u8")
		}
	}
	return filepath.Join(dir, strings.SplitN(uri, "?", 2)[0])
}

// verifyArchive checks the whole archive against the source folder.
func verifyArchive(t *testing.T, ref swarm.Address, dir string, level redundancy.Level) {
	ctx := testContext(t, 2*time.Minute)
	srcMaster := parseMaster(t, mustRead(t, filepath.Join(dir, "master.m3u8")))
	got := parseMaster(t, getBzz(t, ctx, ref, "index.m3u8", archive.PlaylistContentType))
	// Bee serves index.m3u8 for the bare manifest too (website index document).
	bare := getBzz(t, ctx, ref, "", archive.PlaylistContentType)
	require.Equal(t, got, parseMaster(t, bare))

	require.Len(t, got.Variants, len(srcMaster.Variants))
	for i, v := range got.Variants {
		want := srcMaster.Variants[i]
		require.Equal(t, want.Bandwidth, v.Bandwidth)
		require.Equal(t, want.Resolution, v.Resolution)
		require.Equal(t, want.Codecs, v.Codecs)
		require.Equal(t, want.Audio, v.Audio)
		verifyRendition(t, ctx, ref, archivedName(t, v.URI), readSource(t, sourcePath(dir, want.URI)), level, true)
	}
	require.Len(t, got.Renditions, len(srcMaster.Renditions))
	for i, r := range got.Renditions {
		want := srcMaster.Renditions[i]
		require.Equal(t, want.Type, r.Type)
		require.Equal(t, want.GroupID, r.GroupID)
		require.Equal(t, want.Name, r.Name)
		verifyRendition(t, ctx, ref, archivedName(t, r.URI), readSource(t, sourcePath(dir, want.URI)), level, true)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	return data
}

func newArchive(t *testing.T, level redundancy.Level) *archive.Archive {
	t.Helper()
	batch, err := dev.BuyBatch(testContext(t, time.Minute), 22)
	require.NoError(t, err)
	return archive.New(upload.NodeStamped(dev.Client, batch, upload.Config{Redundancy: level}))
}

// TestImportOddlyShapedFolder archives a finished ffmpeg stream whose
// folders, file names and URIs are unlike our own output, at redundancy
// none and medium, and checks every byte, playlist line and reference.
func TestImportOddlyShapedFolder(t *testing.T) {
	dir := generate(t, hlstest.Options{Seconds: 10})
	reshape(t, dir)
	for _, level := range []redundancy.Level{redundancy.NONE, redundancy.MEDIUM} {
		t.Run(map[redundancy.Level]string{0: "none", 1: "medium"}[level], func(t *testing.T) {
			ctx := testContext(t, 2*time.Minute)
			a := newArchive(t, level)
			res, err := hlsimport.Run(ctx, a, dir, hlsimport.Config{})
			require.NoError(t, err)
			require.Equal(t, 3, res.Stats.Renditions, "audio listed twice is archived once")
			require.Zero(t, res.Stats.Gaps)
			verifyArchive(t, res.Reference, dir, level)
			// The clip is 10 s long; the remuxed VOD must be too.
			src := readSource(t, filepath.Join(dir, oddFolders["hi"], "index.m3u8"))
			require.InDelta(t, 10, playlistSeconds(t, src.playlist), 0.1)
			requireRemuxDuration(t, ctx, res.Reference, 10, 2)
		})
	}
}
