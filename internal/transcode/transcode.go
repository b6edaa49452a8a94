package transcode

import (
	"context"
	"fmt"
	"runtime"
	"strconv"

	"golang.org/x/sync/errgroup"
)

// Rendition is one transcoded output of a segment.
type Rendition struct {
	Profile
	Data   []byte // MPEG-TS: H.264 video, the source's first audio track copied
	Pixels int64  // width × height × decoded video frames of Data
}

// Transcoder runs ffmpeg and ffprobe. The zero value finds both on PATH.
// A Transcoder holds no state between calls and is safe for concurrent
// use; each call runs one ffmpeg process and one ffprobe per rendition.
type Transcoder struct {
	FFmpeg  string // ffmpeg binary; "" means "ffmpeg"
	FFprobe string // ffprobe binary; "" means "ffprobe"
}

// Transcode transcodes segment with a zero Transcoder.
func Transcode(ctx context.Context, segment []byte, profiles []Profile) ([]Rendition, error) {
	return Transcoder{}.Transcode(ctx, segment, profiles)
}

// Transcode decodes the MPEG-TS segment once and encodes one rendition per
// profile, in profile order. The renditions keep the segment's timestamps,
// so renditions of consecutive segments concatenate into one stream.
//
// Errors wrap ErrInvalidProfile, ErrFFmpeg (invalid input included) or the
// context's error; when the context ends, ffmpeg and ffprobe are killed.
func (t Transcoder) Transcode(ctx context.Context, segment []byte, profiles []Profile) ([]Rendition, error) {
	if err := validateProfiles(profiles); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("transcode: %w", err)
	}
	out, err := run(ctx, t.ffmpeg(), ffmpegArgs(profiles), segment, len(profiles))
	if err != nil {
		return nil, err
	}

	renditions := make([]Rendition, len(profiles))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, p := range profiles {
		g.Go(func() error {
			px, err := countPixels(gctx, t.ffprobe(), out.files[i])
			if err != nil {
				return fmt.Errorf("rendition %d %q: %w", i, p.Name, err)
			}
			renditions[i] = Rendition{Profile: p, Data: out.files[i], Pixels: px}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return renditions, nil
}

func (t Transcoder) ffmpeg() string {
	if t.FFmpeg == "" {
		return "ffmpeg"
	}
	return t.FFmpeg
}

func (t Transcoder) ffprobe() string {
	if t.FFprobe == "" {
		return "ffprobe"
	}
	return t.FFprobe
}

// ffmpegArgs is the command line for one segment on stdin and one
// MPEG-TS output per profile on file descriptors 3, 4, ... (see doc.go).
func ffmpegArgs(profiles []Profile) []string {
	args := []string{
		"-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
		"-copyts", "-f", "mpegts", "-i", "pipe:0",
	}
	for i, p := range profiles {
		vf := "scale=" + strconv.Itoa(p.Width) + ":" + strconv.Itoa(p.Height)
		if p.FPS > 0 {
			vf = "fps=" + strconv.Itoa(p.FPS) + "," + vf
		}
		args = append(args,
			"-map", "0:v:0", "-map", "0:a:0?",
			"-vf", vf, "-fps_mode", "passthrough",
			"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
			"-b:v", strconv.Itoa(p.Bitrate),
			"-force_key_frames", "expr:eq(n,0)",
			"-enc_time_base:v", "1:90000",
			"-c:a", "copy",
			"-muxdelay", "0", "-muxpreload", "0",
			"-mpegts_flags", "+initial_discontinuity",
			"-f", "mpegts", "pipe:"+strconv.Itoa(3+i),
		)
	}
	return args
}
