package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// profile is one rung of the ladder: what an orchestrator receives as a
// source or produces as a rendition.
type profile struct {
	Name          string
	Width, Height int
	FPS           int
	Kbps          int
}

// ladder starts at 144p at 10 fps (as low a bitrate as possible) and
// climbs to a 1080p source.
var ladder = []profile{
	{"144p", 256, 144, 10, 100},
	{"240p", 426, 240, 15, 300},
	{"360p", 640, 360, 30, 800},
	{"720p", 1280, 720, 30, 2500},
	{"1080p", 1920, 1080, 30, 4500},
}

func profileByName(name string) (int, error) {
	for i, p := range ladder {
		if p.Name == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown profile %q (have 144p, 240p, 360p, 720p, 1080p)", name)
}

// clip is a pre-transcoded rendition: its segments in order.
type clip struct {
	profile  profile
	segments [][]byte
}

// generateClips makes (once, cached in dir) a clip of every profile: CBR
// x264 so each segment carries its profile's bitrate, keyframes on segment
// boundaries, MPEG-TS as go-livepeer segments are. The replay then costs
// no encoding.
func generateClips(ctx context.Context, dir string, seg time.Duration, seconds, top int) ([]clip, error) {
	clips := make([]clip, top+1)
	segSecs := strconv.Itoa(int(seg.Seconds()))
	for i, p := range ladder[:top+1] {
		out := filepath.Join(dir, fmt.Sprintf("%s-%dx%d-%dfps-%dk-%ss-%ds", p.Name, p.Width, p.Height, p.FPS, p.Kbps, segSecs, seconds))
		if _, err := os.Stat(filepath.Join(out, "index.m3u8")); err != nil {
			if err := encode(ctx, out, p, segSecs, seconds); err != nil {
				return nil, err
			}
		}
		files, err := filepath.Glob(filepath.Join(out, "seg_*.ts"))
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("ramp: no segments in %s: %v", out, err)
		}
		sort.Strings(files)
		clips[i].profile = p
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("ramp: %w", err)
			}
			clips[i].segments = append(clips[i].segments, b)
		}
	}
	return clips, nil
}

func encode(ctx context.Context, out string, p profile, segSecs string, seconds int) error {
	tmp := out + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("ramp: %w", err)
	}
	gop := strconv.Itoa(p.FPS * mustAtoi(segSecs))
	rate := strconv.Itoa(p.Kbps) + "k"
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", p.Width, p.Height, p.FPS),
		"-t", strconv.Itoa(seconds), "-pix_fmt", "yuv420p",
		"-c:v", "libx264", "-preset", "ultrafast", "-b:v", rate, "-minrate", rate, "-maxrate", rate, "-bufsize", rate,
		"-x264-params", "nal-hrd=cbr", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
		"-f", "hls", "-hls_time", segSecs, "-hls_playlist_type", "vod",
		"-hls_segment_filename", filepath.Join(tmp, "seg_%03d.ts"), filepath.Join(tmp, "index.m3u8"))
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ramp: ffmpeg %s: %w: %s", p.Name, err, msg)
	}
	_ = os.RemoveAll(out)
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("ramp: %w", err)
	}
	return nil
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

// unique returns seg with an MPEG-TS null packet (PID 0x1FFF, ignored by
// every demuxer, as CBR muxers insert them) after every 20 packets, each
// carrying a marker of the run, stream, rendition, sequence number and
// position. Every 4 KiB Swarm chunk of a replayed segment so differs from
// every other, as live content does: without it Bee would store the same
// few chunks again and again, which is cheaper than the real job.
func unique(seg []byte, run uint64, stream, rendition int, seq int64) []byte {
	const pkt, every = 188, 20
	if len(seg)%pkt != 0 {
		return seg // not MPEG-TS packets; the ladder's segments always are
	}
	n := len(seg) / pkt
	out := make([]byte, 0, len(seg)+(n/every+1)*pkt)
	for i := 0; i < n; i += every {
		end := min(i+every, n)
		out = append(out, seg[i*pkt:end*pkt]...)
		p := make([]byte, pkt)
		p[0], p[1], p[2], p[3] = 0x47, 0x1F, 0xFF, 0x10 // sync, PID 0x1FFF, payload only
		binary.BigEndian.PutUint64(p[4:], run)
		binary.BigEndian.PutUint32(p[12:], uint32(stream))
		binary.BigEndian.PutUint32(p[16:], uint32(rendition))
		binary.BigEndian.PutUint64(p[20:], uint64(seq))
		binary.BigEndian.PutUint32(p[28:], uint32(i))
		for j := 32; j < pkt; j++ {
			p[j] = 0xFF
		}
		out = append(out, p...)
	}
	return out
}
