package transcode_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/transcode"
)

// source is a test clip cut into segments, with each segment's first
// video PTS in seconds.
type source struct {
	segments [][]byte
	starts   []float64
}

func newSource(t *testing.T, size string) source {
	t.Helper()
	src := source{segments: makeSegments(t, size)}
	dir := t.TempDir()
	for i, seg := range src.segments {
		path := filepath.Join(dir, fmt.Sprintf("src%d.ts", i))
		require.NoError(t, os.WriteFile(path, seg, 0o644))
		src.starts = append(src.starts, probe(t, path).VideoStart)
	}
	return src
}

func TestTranscodeSegments(t *testing.T) {
	presets := []transcode.Profile{transcode.P360p(), transcode.P240p()}
	tests := []struct {
		name       string
		source     string // clip size
		profiles   []transcode.Profile
		wantFrames int64 // per 2 s segment
	}{
		{"360p source to presets", "640x360", presets, 60},
		{"720p source to presets", "1280x720", presets, 60},
		{"reduced frame rate", "640x360", []transcode.Profile{{Name: "P144p15", Width: 256, Height: 144, Bitrate: 150_000, FPS: 15}}, 30},
		{"upscale to 720p", "640x360", []transcode.Profile{{Name: "P720p", Width: 1280, Height: 720, Bitrate: 1_500_000}}, 60},
	}
	sources := make(map[string]source)
	for _, tt := range tests {
		if _, ok := sources[tt.source]; !ok {
			sources[tt.source] = newSource(t, tt.source)
		}
		src := sources[tt.source]
		t.Run(tt.name, func(t *testing.T) {
			segs, srcStarts := src.segments, src.starts
			dir := t.TempDir()
			files := make([][]string, len(tt.profiles)) // [profile][segment]
			for i, seg := range segs {
				rends, err := transcode.Transcode(t.Context(), seg, tt.profiles)
				require.NoError(t, err)
				require.Len(t, rends, len(tt.profiles))
				for j, r := range rends {
					p := tt.profiles[j]
					require.Equal(t, p, r.Profile)
					path := filepath.Join(dir, fmt.Sprintf("%s_%d.ts", p.Name, i))
					require.NoError(t, os.WriteFile(path, r.Data, 0o644))
					files[j] = append(files[j], path)

					m := probe(t, path)
					require.Equal(t, [2]int{p.Width, p.Height}, [2]int{m.Width, m.Height}, path)
					require.Equal(t, tt.wantFrames, m.Frames, path)
					require.Equal(t, int64(m.Width)*int64(m.Height)*m.Frames, r.Pixels, path)
					require.InDelta(t, segmentSeconds, m.Duration, 0.1, path)
					require.True(t, m.FirstKey, "%s starts with a keyframe", path)
					require.True(t, m.Audio, "%s keeps audio", path)
					tolerance := 0.001 // PTS kept exactly
					if p.FPS > 0 {
						tolerance = 1 / float64(p.FPS) // fps filter snaps to its grid
					}
					require.InDelta(t, srcStarts[i], m.VideoStart, tolerance, "%s keeps the source PTS", path)
				}
			}
			for j, p := range tt.profiles {
				requireConcatenates(t, dir, p.Name, files[j], tt.wantFrames)
			}
		})
	}
}

// requireConcatenates checks that one profile's renditions of consecutive
// segments form one ~6 s stream, both byte-concatenated and as HLS VOD.
func requireConcatenates(t *testing.T, dir, name string, files []string, framesPerSegment int64) {
	t.Helper()
	var all bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		all.Write(data)
	}
	joined := filepath.Join(dir, name+"_all.ts")
	require.NoError(t, os.WriteFile(joined, all.Bytes(), 0o644))
	m := probe(t, joined)
	want := segmentSeconds * float64(len(files))
	require.InDelta(t, want, m.Duration, 0.1, joined)
	require.Equal(t, framesPerSegment*int64(len(files)), m.Frames, joined)
	requireCleanDecode(t, joined)

	playlist := filepath.Join(dir, name+".m3u8")
	writeVOD(t, playlist, files)
	require.InDelta(t, want, probe(t, playlist).Duration, 0.1, playlist)
	requireCleanDecode(t, playlist)
}

func TestTranscodeErrors(t *testing.T) {
	segs := makeSegments(t, "640x360")
	dir := t.TempDir()
	src := filepath.Join(dir, "src.ts")
	require.NoError(t, os.WriteFile(src, segs[0], 0o644))
	audioOnly := filepath.Join(dir, "audio.ts")
	runFFmpeg(t, "-i", src, "-map", "0:a", "-c", "copy", "-f", "mpegts", audioOnly)
	audio, err := os.ReadFile(audioOnly)
	require.NoError(t, err)
	garbage := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(rng.UintN(256))
	}
	presets := []transcode.Profile{transcode.P360p(), transcode.P240p()}
	tooMany := make([]transcode.Profile, transcode.MaxProfiles+1)
	for i := range tooMany {
		tooMany[i] = transcode.P240p()
	}

	tests := []struct {
		name     string
		tc       transcode.Transcoder
		segment  []byte
		profiles []transcode.Profile
		wantErr  error
		wantMsg  string // in the error text
	}{
		{"garbage input", transcode.Transcoder{}, garbage, presets, transcode.ErrFFmpeg, "pipe:0"},
		{"empty input", transcode.Transcoder{}, nil, presets, transcode.ErrFFmpeg, "pipe:0"},
		{"no video stream", transcode.Transcoder{}, audio, presets, transcode.ErrFFmpeg, "0:v:0"},
		{"ffmpeg missing", transcode.Transcoder{FFmpeg: filepath.Join(dir, "nope")}, segs[0], presets, transcode.ErrFFmpeg, "nope"},
		{"ffprobe missing", transcode.Transcoder{FFprobe: filepath.Join(dir, "nope")}, segs[0], presets, transcode.ErrFFmpeg, "nope"},
		{"no profiles", transcode.Transcoder{}, segs[0], nil, transcode.ErrInvalidProfile, "0 profiles"},
		{"too many profiles", transcode.Transcoder{}, segs[0], tooMany, transcode.ErrInvalidProfile, "9 profiles"},
		{"odd size", transcode.Transcoder{}, segs[0], []transcode.Profile{{Name: "odd", Width: 427, Height: 240, Bitrate: 1}}, transcode.ErrInvalidProfile, "not even"},
		{"zero bitrate", transcode.Transcoder{}, segs[0], []transcode.Profile{{Name: "z", Width: 2, Height: 2}}, transcode.ErrInvalidProfile, "bitrate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rends, err := tt.tc.Transcode(t.Context(), tt.segment, tt.profiles)
			require.ErrorIs(t, err, tt.wantErr)
			require.ErrorContains(t, err, tt.wantMsg)
			require.Nil(t, rends)
		})
	}
}

func TestProfileValidate(t *testing.T) {
	tests := []struct {
		name    string
		profile transcode.Profile
		wantErr error
	}{
		{"P360p", transcode.P360p(), nil},
		{"P240p", transcode.P240p(), nil},
		{"fps", transcode.Profile{Width: 2, Height: 2, Bitrate: 1, FPS: transcode.MaxFPS}, nil},
		{"max size", transcode.Profile{Width: transcode.MaxDimension, Height: transcode.MaxDimension, Bitrate: 1}, nil},
		{"zero width", transcode.Profile{Height: 2, Bitrate: 1}, transcode.ErrInvalidProfile},
		{"negative height", transcode.Profile{Width: 2, Height: -2, Bitrate: 1}, transcode.ErrInvalidProfile},
		{"too wide", transcode.Profile{Width: transcode.MaxDimension + 2, Height: 2, Bitrate: 1}, transcode.ErrInvalidProfile},
		{"odd height", transcode.Profile{Width: 2, Height: 3, Bitrate: 1}, transcode.ErrInvalidProfile},
		{"negative bitrate", transcode.Profile{Width: 2, Height: 2, Bitrate: -1}, transcode.ErrInvalidProfile},
		{"negative fps", transcode.Profile{Width: 2, Height: 2, Bitrate: 1, FPS: -1}, transcode.ErrInvalidProfile},
		{"fps too high", transcode.Profile{Width: 2, Height: 2, Bitrate: 1, FPS: transcode.MaxFPS + 1}, transcode.ErrInvalidProfile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.profile.Validate()
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}
