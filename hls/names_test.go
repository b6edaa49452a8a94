package hls

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // "" for valid
	}{
		{"stream_1", ""},
		{"720p.m3u8", ""},
		{"a-b.c_D9", ""},
		{"_x", ""},
		{strings.Repeat("a", 64), ""},
		{"", "empty"},
		{".", "starts with '.'"},
		{"..", "starts with '.'"},
		{".hidden", "starts with '.'"},
		{"a..b", `contains ".."`},
		{"../x", "starts with '.'"},
		{"x/..", `contains ".."`},
		{"a/b", "byte 1 (0x2f)"},
		{`a\b`, "byte 1 (0x5c)"},
		{"\x00", "byte 0 (0x00)"},
		{"a\nb", "byte 1 (0x0a)"},
		{"a b", "byte 1 (0x20)"},
		{"%2e%2e%2f", "byte 0 (0x25)"},
		{"caf\u00e9", "byte 3 (0xc3)"},
		{"\u2215etc", "byte 0 (0xe2)"}, // DIVISION SLASH looks like '/'
		{strings.Repeat("a", 65), "longer than 64 bytes"},
		{strings.Repeat("a", 200), "longer than 64 bytes"},
	}
	for _, tt := range tests {
		t.Run(clip(tt.in), func(t *testing.T) {
			err := ValidName(tt.in)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrBadName)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestSafeName(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"stream_1", "stream_1"},
		{"stream 0 (hi)", "stream_0_hi"},
		{"%E2%9C%93 v1", "v1"},
		{"\u2713 v1", "v1"},
		{"../../etc/passwd", "etc_passwd"},
		{"%2e%2e%2f", ""},
		{"%2e%2e%2fx", "x"},
		{"..", ""},
		{".", ""},
		{"", ""},
		{"\x00", ""},
		{"\n", ""},
		{"a/b", "a_b"},
		{`a\b`, "a_b"},
		{"a..b", "a.b"},
		{"a. .b", "a._.b"},
		{".hidden", "hidden"},
		{"__init__", "init__"},
		{"100%", "100"},    // not valid percent-encoding: used as is
		{"a%00b", "a_b"},   // decoded NUL is replaced like any other byte
		{"a+b c", "a_b_c"}, // '+' is not a space in a path
		{"日本語", ""},        // nothing usable
		{"Café Live", "Caf_Live"},
		{strings.Repeat("ab", 100), strings.Repeat("ab", 32)},
		{strings.Repeat("a", 63) + " b", strings.Repeat("a", 63) + "_"},
	}
	for _, tt := range tests {
		t.Run(clip(tt.in), func(t *testing.T) {
			got := SafeName(tt.in)
			require.Equal(t, tt.want, got)
			if got != "" {
				require.NoError(t, ValidName(got))
			}
			require.Equal(t, got, SafeName(got), "SafeName is idempotent")
		})
	}
}

func TestSegmentExt(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"seg_000.ts", ".ts"},
		{"out_10.m4s", ".m4s"},
		{"init.mp4", ".mp4"},
		{"SEG.TS", ".ts"},
		{"audio/en/001.aac", ".aac"},
		{"a.m4a", ".m4a"},
		{"a.mp3", ".mp3"},
		{"a.ac3", ".ac3"},
		{"a.ec3", ".ec3"},
		{"subs/en/1.vtt", ".vtt"},
		{"subs/en/1.webvtt", ".webvtt"},
		{"v.cmfv", ".cmfv"},
		{"a.cmfa", ".cmfa"},
		{"https://cdn.example.com/live/seg1.ts?token=a.b.mp4", ".ts"},
		{"seg1.m4s#t=10.mp4", ".m4s"},
		{"https://cdn.example.com", ".ts"},
		{"https://cdn.example.com/seg?n=3", ".ts"},
		{"chunk.php?id=3", ".ts"},
		{"seg.exe", ".ts"},
		{"seg.ts/../../x.sh", ".ts"},
		{"dir.m4s/seg", ".ts"},
		{"", ".ts"},
		{"seg.", ".ts"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, SegmentExt(tt.in))
		})
	}
}

func TestSegmentAndMapExt(t *testing.T) {
	init := &Map{URI: "init?v=1"}
	require.Equal(t, ".m4s", Segment{URI: "seg?n=1", Map: init}.Ext(), "unknown extension under EXT-X-MAP is fMP4")
	require.Equal(t, ".ts", Segment{URI: "seg?n=1"}.Ext())
	require.Equal(t, ".cmfv", Segment{URI: "seg.cmfv", Map: init}.Ext())
	require.Equal(t, ".mp4", init.Ext())
	require.Equal(t, ".m4s", Map{URI: "init.m4s"}.Ext())
}
