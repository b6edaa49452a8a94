package hlsimport

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/chunker"
)

// TestImportConfinesSymlinks: nothing reached through a symbolic link
// leaves the imported folder, whether the link is a segment file or a
// folder, absolute or relative; such segments become gaps. Links that stay
// inside keep working, and the folder (or playlist file) the operator names
// may itself be a link.
func TestImportConfinesSymlinks(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	writeFile(t, filepath.Join(outside, "secret.ts"), "secret")
	folder := filepath.Join(base, "real", "cam")
	writeFile(t, filepath.Join(folder, "ok.ts"), "fine")
	writeFile(t, filepath.Join(folder, "sub", "deep.ts"), "deep")
	for link, target := range map[string]string{
		"abs.ts": filepath.Join(outside, "secret.ts"), // absolute link out
		"rel.ts": "../../outside/secret.ts",           // relative link out
		"dir":    outside,                             // folder link out
		"in.ts":  "sub/deep.ts",                       // file link inside
		"insub":  "sub",                               // folder link inside
	} {
		require.NoError(t, os.Symlink(target, filepath.Join(folder, link)))
	}
	writeFile(t, filepath.Join(folder, "index.m3u8"),
		mediaPlaylist("ok.ts", "abs.ts", "rel.ts", "dir/secret.ts", "in.ts", "insub/deep.ts"))
	// The operator may name a link to the folder or to the playlist.
	named := filepath.Join(base, "named")
	require.NoError(t, os.Symlink(folder, named))
	namedFile := filepath.Join(base, "elsewhere", "stream.m3u8")
	require.NoError(t, os.MkdirAll(filepath.Dir(namedFile), 0o755))
	require.NoError(t, os.Symlink(filepath.Join(folder, "index.m3u8"), namedFile))

	secretRef, err := chunker.Reference(t.Context(), []byte("secret"), redundancy.NONE)
	require.NoError(t, err)
	// The rendition is named after the path as the operator gave it.
	for _, tc := range []struct{ name, input, rendition string }{
		{"the folder", folder, "cam"},
		{"a link to the folder", named, "named"},
		{"the playlist", filepath.Join(folder, "index.m3u8"), "cam"},
		{"a link to the playlist", namedFile, "elsewhere"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, st := memArchive()
			var logs logBuffer
			res, err := Run(testContext(t, 30*time.Second), a, tc.input, Config{Logger: logs.logger()})
			require.NoError(t, err)
			require.Equal(t, 3, res.Stats.Segments)
			require.Equal(t, 3, res.Stats.Gaps)
			require.Equal(t, int64(len("fine")+2*len("deep")), res.Stats.Bytes)
			got := gaps(t, a, tc.rendition)
			for seq := range uint64(6) {
				switch seq {
				case 1, 2, 3:
					require.Contains(t, got[seq], ErrForbiddenURI.Error(), "seq %d", seq)
				default:
					require.Empty(t, got[seq], "seq %d", seq)
				}
			}
			require.Zero(t, st.Uploads(secretRef), "a file from outside the folder was uploaded")
			require.Contains(t, logs.String(), "recorded as a gap")
		})
	}
}

// TestImportRefusesTopPlaylistLinkedFromOutside: a folder whose playlist
// is a link to a playlist elsewhere is refused; the playlist steers which
// files are read.
func TestImportRefusesTopPlaylistLinkedFromOutside(t *testing.T) {
	base := t.TempDir()
	writeFile(t, filepath.Join(base, "outside", "index.m3u8"), mediaPlaylist("ok.ts"))
	folder := filepath.Join(base, "cam")
	writeFile(t, filepath.Join(folder, "ok.ts"), "fine")
	require.NoError(t, os.Symlink(filepath.Join(base, "outside", "index.m3u8"), filepath.Join(folder, "index.m3u8")))

	a, _ := memArchive()
	_, err := Run(testContext(t, 30*time.Second), a, folder, Config{})
	require.ErrorIs(t, err, ErrForbiddenURI)
}
