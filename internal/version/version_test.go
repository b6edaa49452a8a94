package version_test

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/lpswarm/archiver/internal/version"
)

func TestFrom(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "6604b50a1b2c3d4e5f60718293a4b5c6d7e8f901"},
		{Key: "vcs.time", Value: "2026-12-07T10:00:00Z"}, {Key: "vcs.modified", Value: "false"}}
	dirty := append(append([]debug.BuildSetting(nil), vcs[:3]...), debug.BuildSetting{Key: "vcs.modified", Value: "true"})
	tests := []struct {
		name        string
		bi          *debug.BuildInfo
		ok          bool
		full, short string
	}{
		{"tagged with VCS", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: vcs}, true,
			"v1.2.0, revision 6604b50a1b2c3d4e5f60718293a4b5c6d7e8f901 of 2026-12-07T10:00:00Z, go1.26.8", "v1.2.0+6604b50a1b2c"},
		{"uncommitted changes", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: dirty}, true,
			"(devel), revision 6604b50a1b2c3d4e5f60718293a4b5c6d7e8f901 of 2026-12-07T10:00:00Z, with uncommitted changes, go1.26.8",
			"(devel)+6604b50a1b2c-modified"},
		{"no VCS information", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, true,
			"(devel), revision unknown (built without VCS information), go1.26.8", "(devel)+unknown-revision"},
		{"no build information", nil, false,
			"unknown, revision unknown (built without VCS information)", "unknown+unknown-revision"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := version.From(tt.bi, tt.ok)
			assert.Equal(t, tt.full, i.String())
			assert.Equal(t, tt.short, i.Short())
		})
	}
}
