package transcode

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// probeArgs makes ffprobe decode every frame of the first video stream of
// an MPEG-TS on stdin and print its size and decoded frame count.
func probeArgs() []string {
	return []string{
		"-hide_banner", "-loglevel", "error",
		"-f", "mpegts", "-i", "pipe:0",
		"-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=width,height,nb_read_frames",
		"-of", "json",
	}
}

// countPixels returns width × height × decoded frames of the first video
// stream of ts, the way go-livepeer's broadcaster verifies a rendition.
func countPixels(ctx context.Context, ffprobe string, ts []byte) (int64, error) {
	out, err := run(ctx, ffprobe, probeArgs(), ts, 0)
	if err != nil {
		return 0, err
	}
	var doc struct {
		Streams []struct {
			Width  int64  `json:"width"`
			Height int64  `json:"height"`
			Frames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out.stdout, &doc); err != nil {
		return 0, fmt.Errorf("%w: %s: parse output: %w", ErrFFmpeg, ffprobe, err)
	}
	if len(doc.Streams) == 0 {
		return 0, fmt.Errorf("%w: %s: no video stream in rendition", ErrFFmpeg, ffprobe)
	}
	s := doc.Streams[0]
	frames, err := strconv.ParseInt(s.Frames, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: frame count %q: %w", ErrFFmpeg, ffprobe, s.Frames, err)
	}
	if frames <= 0 || s.Width <= 0 || s.Height <= 0 {
		return 0, fmt.Errorf("%w: %s: rendition has %d frames of %dx%d", ErrFFmpeg, ffprobe, frames, s.Width, s.Height)
	}
	return s.Width * s.Height * frames, nil
}
