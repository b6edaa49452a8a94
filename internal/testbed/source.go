package testbed

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// MakeSource records a test stream with ffmpeg, as a camera would feed a
// broadcaster: 640x360 at 30 fps with a tone, H.264 and AAC, cut into 2 s
// MPEG-TS segments with continuous timestamps.
func MakeSource(ctx context.Context, dir string, seconds int) ([]Segment, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	list := filepath.Join(dir, "segments.csv")
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", strconv.Itoa(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-force_key_frames", "expr:gte(t,n_forced*2)", "-c:a", "aac", "-b:a", "64k",
		"-f", "segment", "-segment_time", "2", "-segment_format", "mpegts", "-segment_list", list, "-segment_list_type", "csv",
		filepath.Join(dir, "seg_%03d.ts"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testbed: ffmpeg: %w: %s", err, out)
	}
	f, err := os.Open(list)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("testbed: segment list: %w", err)
	}
	var segs []Segment
	for _, row := range rows {
		start, err1 := strconv.ParseFloat(row[1], 64)
		end, err2 := strconv.ParseFloat(row[2], 64)
		data, err3 := os.ReadFile(filepath.Join(dir, row[0]))
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("testbed: segment %s unreadable", row[0])
		}
		segs = append(segs, Segment{Data: data, Duration: time.Duration((end - start) * float64(time.Second))})
	}
	return segs, nil
}
