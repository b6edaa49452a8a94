package realnode

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// MakeVideo encodes seconds of test video with audio into path (MP4,
// H.264 320x180 at 15 fps with a keyframe every 2 s, AAC), small enough
// for two cores to transcode in real time.
func MakeVideo(ctx context.Context, path string, seconds int) error {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return ErrNoFFmpeg
	}
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc=size=320x180:rate=15",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", strconv.Itoa(seconds), "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-keyint_min", "30",
		"-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-shortest", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ffmpeg: %w: %s", err, out)
	}
	return nil
}

// Push streams a video file to rtmpURL in real time (-re, no re-encoding)
// and returns when it is sent.
func Push(ctx context.Context, path, rtmpURL string) error {
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", path,
		"-c", "copy", "-f", "flv", rtmpURL).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ffmpeg push to %s: %w: %s", rtmpURL, err, out)
	}
	return nil
}

// PushFor streams the first d of a video file, as Push does.
func PushFor(ctx context.Context, path, rtmpURL string, d time.Duration) error {
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", path,
		"-t", strconv.FormatFloat(d.Seconds(), 'f', 3, 64), "-c", "copy", "-f", "flv", rtmpURL).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ffmpeg push to %s: %w: %s", rtmpURL, err, out)
	}
	return nil
}

// Duration is what ffprobe reports for url (a file or an HLS playlist).
func Duration(ctx context.Context, url string) (time.Duration, error) {
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "format=duration",
		"-of", "csv=p=0", url).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("ffprobe %s: %w: %s", url, err, out)
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		return 0, fmt.Errorf("ffprobe %s: %q: %w", url, out, err)
	}
	return time.Duration(secs * float64(time.Second)), nil
}
