package transcode_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// segmentSeconds is the length of each test segment.
const segmentSeconds = 2.0

// makeSegments generates a 6 s clip (testsrc2 + sine, size such as
// "640x360", 30 fps, H.264 + AAC) and splits it with the segment muxer into
// three 2 s MPEG-TS segments whose timestamps continue from one to the next.
func makeSegments(tb testing.TB, size string) [][]byte {
	tb.Helper()
	dir := tb.TempDir()
	clip := filepath.Join(dir, "clip.ts")
	runFFmpeg(tb, "-f", "lavfi", "-i", "testsrc2=rate=30:size="+size,
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "6",
		"-c:v", "libx264", "-preset", "ultrafast", "-sc_threshold", "0",
		"-force_key_frames", "expr:gte(t,n_forced*2)",
		"-c:a", "aac", "-b:a", "64k", clip)
	runFFmpeg(tb, "-i", clip, "-map", "0", "-c", "copy", "-f", "segment",
		"-segment_time", "2", "-segment_format", "mpegts", filepath.Join(dir, "seg%d.ts"))
	paths, err := filepath.Glob(filepath.Join(dir, "seg*.ts"))
	require.NoError(tb, err)
	require.Len(tb, paths, 3, "segment muxer output")
	segs := make([][]byte, len(paths))
	for i := range paths {
		segs[i], err = os.ReadFile(filepath.Join(dir, fmt.Sprintf("seg%d.ts", i)))
		require.NoError(tb, err)
	}
	return segs
}

// runFFmpeg runs ffmpeg quietly and fails the test on error.
func runFFmpeg(tb testing.TB, args ...string) {
	tb.Helper()
	requireTools(tb)
	args = append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)
	out, err := exec.CommandContext(tb.Context(), "ffmpeg", args...).CombinedOutput()
	require.NoError(tb, err, "ffmpeg %s: %s", strings.Join(args, " "), out)
}

func requireTools(tb testing.TB) {
	tb.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		_, err := exec.LookPath(bin)
		require.NoError(tb, err, "these tests run the real %s (scripts/install-deps.sh installs it)", bin)
	}
}

// media is what ffprobe reports about a file, counted independently of
// the package under test.
type media struct {
	Width, Height int
	Frames        int64   // decoded video frames
	Duration      float64 // container duration in seconds
	VideoStart    float64 // first video PTS in seconds
	Audio         bool
	FirstKey      bool // the first video frame is a keyframe
}

func probe(tb testing.TB, path string) media {
	tb.Helper()
	var doc struct {
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
		Streams []struct {
			CodecType string `json:"codec_type"`
			Width     int    `json:"width"`
			Height    int    `json:"height"`
			Frames    string `json:"nb_read_frames"`
			StartTime string `json:"start_time"`
		} `json:"streams"`
		Frames []struct {
			KeyFrame int `json:"key_frame"`
		} `json:"frames"`
	}
	probeJSON(tb, &doc, "-count_frames", "-show_entries",
		"format=duration:stream=codec_type,width,height,nb_read_frames,start_time", path)
	var m media
	m.Duration = parseFloat(tb, doc.Format.Duration)
	for _, s := range doc.Streams {
		switch s.CodecType {
		case "video":
			m.Width, m.Height = s.Width, s.Height
			m.VideoStart = parseFloat(tb, s.StartTime)
			frames, err := strconv.ParseInt(s.Frames, 10, 64)
			require.NoError(tb, err)
			m.Frames = frames
		case "audio":
			m.Audio = true
		}
	}
	probeJSON(tb, &doc, "-select_streams", "v:0", "-read_intervals", "%+#1",
		"-show_entries", "frame=key_frame", path)
	m.FirstKey = len(doc.Frames) == 1 && doc.Frames[0].KeyFrame == 1
	return m
}

func probeJSON(tb testing.TB, v any, args ...string) {
	tb.Helper()
	args = append([]string{"-v", "error", "-of", "json"}, args...)
	out, err := exec.CommandContext(tb.Context(), "ffprobe", args...).Output()
	require.NoError(tb, err, "ffprobe %s", strings.Join(args, " "))
	require.NoError(tb, json.Unmarshal(out, v))
}

func parseFloat(tb testing.TB, s string) float64 {
	tb.Helper()
	f, err := strconv.ParseFloat(s, 64)
	require.NoError(tb, err, "number %q", s)
	return f
}

// requireCleanDecode decodes input (a file or a playlist) completely and
// fails on any warning, e.g. a broken continuity counter or timestamps
// going backwards.
func requireCleanDecode(tb testing.TB, input string) {
	tb.Helper()
	cmd := exec.CommandContext(tb.Context(), "ffmpeg", "-hide_banner", "-nostdin",
		"-v", "warning", "-i", input, "-f", "null", "-")
	out, err := cmd.CombinedOutput()
	require.NoError(tb, err, "%s", out)
	require.Empty(tb, strings.TrimSpace(string(out)), "decoding %s", input)
}

// writeVOD writes an HLS VOD playlist of the given segment files.
func writeVOD(tb testing.TB, path string, segments []string) {
	tb.Helper()
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-PLAYLIST-TYPE:VOD\n")
	for _, s := range segments {
		fmt.Fprintf(&b, "#EXTINF:%.3f,\n%s\n", segmentSeconds, filepath.Base(s))
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	require.NoError(tb, os.WriteFile(path, []byte(b.String()), 0o644))
}
