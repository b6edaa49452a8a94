package streams

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/catalog"
)

// TestCheckRefusesBadNames: manifest ids and rendition names that cannot
// name an archive are refused by Check with ErrInvalid and a reason; ids
// go-livepeer uses pass.
func TestCheckRefusesBadNames(t *testing.T) {
	job := func(manifest string, renditions ...string) archiver.Job {
		j := archiver.Job{ManifestID: archiver.ManifestID(manifest), Source: []byte{1}}
		for _, r := range renditions {
			j.Renditions = append(j.Renditions, archiver.Rendition{Name: r, Data: []byte{2}})
		}
		return j
	}
	for _, tc := range []struct {
		name string
		job  archiver.Job
		want string // "" when the job passes
	}{
		{"plain", job("4d3c9a1b-stream", "P360p30fps16x9"), ""},
		{"livepeer punctuation", job("a+b:c@d", "P240p30fps16x9"), ""},
		{"empty id", job("", "lo"), "empty"},
		{"long id", job(strings.Repeat("x", catalog.MaxManifestIDLen+1), "lo"), "longer than"},
		{"dot dot slash", job("../x", "lo"), "path separator"},
		{"slash", job("a/b", "lo"), "path separator"},
		{"backslash", job(`a\b`, "lo"), "path separator"},
		{"dot dot", job("..", "lo"), "a path element"},
		{"NUL", job("a\x00b", "lo"), "control character U+0000"},
		{"newline", job("a\nb", "lo"), "control character U+000A"},
		{"DEL", job("a\x7fb", "lo"), "control character U+007F"},
		{"not UTF-8", job("a\xffb", "lo"), "not UTF-8"},
		{"rendition slash", job("ok", "a/b"), "not one of"},
		{"rendition dot dot", job("ok", "../x"), "starts with '.'"},
		{"rendition empty", job("ok", ""), "empty"},
		{"rendition named source", job("ok", "source"), "two files named"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := intake{}.Check(tc.job)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, catalog.ErrInvalid)
			require.ErrorContains(t, err, tc.want)
			if len(tc.job.Renditions) > 0 && tc.job.Renditions[0].Name != "lo" && tc.want != "two files named" {
				require.ErrorIs(t, err, hls.ErrBadName)
			}
		})
	}
}
