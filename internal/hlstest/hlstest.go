// Package hlstest makes real HLS streams with ffmpeg for tests: a test
// pattern with a tone, two video renditions and an audio rendition, shaped
// the way ffmpeg writes them (master.m3u8, EXT-X-MEDIA audio group).
package hlstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Options shape a generated stream.
type Options struct {
	Seconds        int  // stream length
	SegmentSeconds int  // target segment length
	FMP4           bool // fMP4 segments with an init section instead of MPEG-TS
	Live           bool // write in real time as an EVENT playlist (for following)
}

// Command returns the ffmpeg command that writes the stream into dir:
// dir/master.m3u8 and dir/{audio,hi,lo}/index.m3u8 with their segments.
func Command(ctx context.Context, dir string, o Options) *exec.Cmd {
	if o.SegmentSeconds <= 0 {
		o.SegmentSeconds = 2
	}
	seg := strconv.Itoa(o.SegmentSeconds)
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}
	if o.Live {
		args = append(args, "-re")
	}
	args = append(args,
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", strconv.Itoa(o.Seconds),
		"-filter_complex", "[0:v]split=2[v1][v2];[v2]scale=160:90[v2o]",
		"-map", "[v1]", "-map", "[v2o]", "-map", "1:a",
		"-c:v", "libx264", "-preset", "ultrafast", "-sc_threshold", "0",
		"-force_key_frames", "expr:gte(t,n_forced*"+seg+")",
		"-b:v:0", "400k", "-b:v:1", "150k", "-c:a", "aac", "-b:a", "64k",
		"-f", "hls", "-hls_time", seg,
		"-master_pl_name", "master.m3u8",
		"-var_stream_map", "a:0,agroup:aud,name:audio v:0,agroup:aud,name:hi v:1,agroup:aud,name:lo",
	)
	ext := ".ts"
	if o.FMP4 {
		ext = ".m4s"
		args = append(args, "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4")
	}
	if o.Live {
		args = append(args, "-hls_playlist_type", "event", "-hls_flags", "temp_file")
	} else {
		args = append(args, "-hls_playlist_type", "vod")
	}
	args = append(args,
		"-hls_segment_filename", filepath.Join(dir, "%v", "seg_%03d"+ext),
		filepath.Join(dir, "%v", "index.m3u8"))
	return exec.CommandContext(ctx, "ffmpeg", args...)
}

// Generate writes a finished stream into dir and returns the master path.
func Generate(ctx context.Context, dir string, o Options) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out, err := Command(ctx, dir, o).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("hlstest: ffmpeg: %w: %s", err, out)
	}
	return filepath.Join(dir, "master.m3u8"), nil
}

// Duration probes a media file or URL with ffprobe and returns seconds.
func Duration(ctx context.Context, input string) (float64, error) {
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "format=duration",
		"-of", "default=noprint_wrappers=1:nokey=1", input).Output()
	if err != nil {
		return 0, fmt.Errorf("hlstest: ffprobe %s: %w", input, err)
	}
	return strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
}
