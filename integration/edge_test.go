package integration_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/hlsimport"
	"github.com/lpswarm/archiver/internal/hlstest"
)

// TestImportFMP4 archives fMP4 renditions with their init sections and
// EXT-X-MAP, and the archive still remuxes from Bee.
func TestImportFMP4(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	dir := generate(t, hlstest.Options{Seconds: 6, FMP4: true})
	res, err := hlsimport.Run(ctx, newArchive(t, redundancy.NONE), dir, hlsimport.Config{})
	require.NoError(t, err)
	for i, r := range []string{"audio", "hi", "lo"} {
		src := readSource(t, filepath.Join(dir, r, "index.m3u8"))
		verifyRendition(t, ctx, res.Reference, r, src, redundancy.NONE, true)

		pl, err := hls.ParseMedia(bytes.NewReader(getBzz(t, ctx, res.Reference, r+"/index.m3u8", archive.PlaylistContentType)))
		require.NoError(t, err)
		require.NotNil(t, pl.Segments[0].Map)
		init := getBzz(t, ctx, res.Reference, r+"/"+pl.Segments[0].Map.URI, "video/mp4")
		require.Equal(t, mustRead(t, filepath.Join(dir, r, "init_"+string(rune('0'+i))+".mp4")), init)
	}
	requireRemuxDuration(t, ctx, res.Reference, 6, 2)
}

// TestImportMissingSegmentBecomesGap: a segment the source lists but does
// not deliver stays in the archived playlist as EXT-X-GAP; everything else
// is archived.
func TestImportMissingSegmentBecomesGap(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	dir := generate(t, hlstest.Options{Seconds: 6})
	require.NoError(t, os.Remove(filepath.Join(dir, "hi", "seg_001.ts")))
	res, err := hlsimport.Run(ctx, newArchive(t, redundancy.NONE), dir, hlsimport.Config{})
	require.NoError(t, err)
	require.Equal(t, 1, res.Stats.Gaps)

	pl, err := hls.ParseMedia(bytes.NewReader(getBzz(t, ctx, res.Reference, "hi/index.m3u8", archive.PlaylistContentType)))
	require.NoError(t, err)
	require.Len(t, pl.Segments, 3)
	require.Equal(t, []bool{false, true, false}, []bool{pl.Segments[0].Gap, pl.Segments[1].Gap, pl.Segments[2].Gap})
	_, err = dev.Client.Get(ctx, "/bzz/"+res.Reference.String()+"/hi/1.ts", 1<<20)
	require.Error(t, err, "a gap has no file")
	for _, seq := range []int{0, 2} {
		want := mustRead(t, filepath.Join(dir, "hi", "seg_00"+string(rune('0'+seq))+".ts"))
		require.Equal(t, want, getBzz(t, ctx, res.Reference, "hi/"+string(rune('0'+seq))+".ts", "video/mp2t"))
	}
	verifyRendition(t, ctx, res.Reference, "lo", readSource(t, filepath.Join(dir, "lo", "index.m3u8")), redundancy.NONE, true)
}

// TestImportRefusals: encrypted, byte-range and malformed playlists are
// refused with their own errors before anything is published.
func TestImportRefusals(t *testing.T) {
	tests := []struct {
		name     string
		playlist string
		want     error
	}{
		{"encrypted", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI=\"k.key\"\n#EXTINF:2.0,\na.ts\n#EXT-X-ENDLIST\n", hls.ErrEncrypted},
		{"byte range", "#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:2\n#EXT-X-BYTERANGE:1000@0\n#EXTINF:2.0,\na.ts\n#EXT-X-ENDLIST\n", hls.ErrByteRange},
		{"malformed", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:soon,\na.ts\n", hls.ErrMalformed},
		{"not a playlist", "<html>404</html>\n", hls.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "a.ts"), []byte("x"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "index.m3u8"), []byte(tc.playlist), 0o644))
			_, err := hlsimport.Run(testContext(t, time.Minute), newArchive(t, redundancy.NONE), dir, hlsimport.Config{})
			require.ErrorIs(t, err, tc.want)
		})
	}
}

// TestImportNeverReadsOutsideTheSource: URIs that escape the imported
// folder, or name local files from a remote playlist, are not read; they
// become gaps, and oversized segments too.
func TestImportNeverReadsOutsideTheSource(t *testing.T) {
	ctx := testContext(t, time.Minute)
	outside := filepath.Join(t.TempDir(), "secret.ts")
	require.NoError(t, os.WriteFile(outside, []byte("secret"), 0o644))
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ok.ts"), []byte("fine"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.ts"), make([]byte, 2048), 0o644))
	rel, err := filepath.Rel(dir, outside)
	require.NoError(t, err)
	playlist := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n" +
		"#EXTINF:2.0,\nok.ts\n" +
		"#EXTINF:2.0,\n" + rel + "\n" +
		"#EXTINF:2.0,\nfile://" + outside + "\n" +
		"#EXTINF:2.0,\nbig.ts\n#EXT-X-ENDLIST\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.m3u8"), []byte(playlist), 0o644))

	res, err := hlsimport.Run(ctx, newArchive(t, redundancy.NONE), dir, hlsimport.Config{MaxSegmentBytes: 1024})
	require.NoError(t, err)
	require.Equal(t, 1, res.Stats.Segments)
	require.Equal(t, 3, res.Stats.Gaps)
	master := parseMaster(t, getBzz(t, ctx, res.Reference, "index.m3u8", archive.PlaylistContentType))
	require.Len(t, master.Variants, 1)
	name := archivedName(t, master.Variants[0].URI)
	require.Equal(t, []byte("fine"), getBzz(t, ctx, res.Reference, name+"/0.ts", "video/mp2t"))
	pl, err := hls.ParseMedia(bytes.NewReader(getBzz(t, ctx, res.Reference, name+"/index.m3u8", archive.PlaylistContentType)))
	require.NoError(t, err)
	require.Equal(t, []bool{false, true, true, true}, []bool{pl.Segments[0].Gap, pl.Segments[1].Gap, pl.Segments[2].Gap, pl.Segments[3].Gap})
}
