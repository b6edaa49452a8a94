package transcode

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFFmpegArgs(t *testing.T) {
	const input = "-hide_banner -nostdin -nostats -loglevel error -copyts -f mpegts -i pipe:0"
	output := func(vf string, bitrate, fd string) string {
		return " -map 0:v:0 -map 0:a:0? -vf " + vf + " -fps_mode passthrough" +
			" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -b:v " + bitrate +
			" -force_key_frames expr:eq(n,0) -enc_time_base:v 1:90000 -c:a copy" +
			" -muxdelay 0 -muxpreload 0 -mpegts_flags +initial_discontinuity -f mpegts pipe:" + fd
	}
	tests := []struct {
		name     string
		profiles []Profile
		want     string
	}{
		{"one preset", []Profile{P360p()}, input + output("scale=640:360", "600000", "3")},
		{"both presets", []Profile{P360p(), P240p()},
			input + output("scale=640:360", "600000", "3") + output("scale=426:240", "300000", "4")},
		{"frame rate", []Profile{{Width: 256, Height: 144, Bitrate: 150_000, FPS: 15}},
			input + output("fps=15,scale=256:144", "150000", "3")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, strings.Join(ffmpegArgs(tt.profiles), " "))
		})
	}
}

func TestTailWriter(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{"empty", 8, nil, "(no stderr)"},
		{"fits", 8, []string{"ab\n", "cd\n"}, "ab | cd"},
		{"exactly full", 4, []string{"abcd"}, "abcd"},
		{"keeps the tail", 4, []string{"abc", "def"}, "...cdef"},
		{"one long write", 4, []string{"abcdefgh"}, "...efgh"},
		{"long write after short", 4, []string{"a", "bcde"}, "...bcde"},
		{"whitespace only", 8, []string{" \n\n "}, "(no stderr)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &tailWriter{max: tt.max}
			for _, s := range tt.writes {
				n, err := w.Write([]byte(s))
				require.NoError(t, err)
				require.Equal(t, len(s), n)
			}
			require.LessOrEqual(t, len(w.buf), tt.max)
			require.Equal(t, tt.want, w.String())
		})
	}
}
