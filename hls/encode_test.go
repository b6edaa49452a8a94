package hls

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func encode(t *testing.T, pl Playlist) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, pl.Encode(&b))
	return b.String()
}

func TestEncodeMedia(t *testing.T) {
	init0, init1 := &Map{URI: "init 0.mp4"}, &Map{URI: "https://cdn.example.com/init_1.mp4?v=2"}
	p := &Media{
		MediaSequence: 10, DiscontinuitySequence: 1, PlaylistType: PlaylistVOD,
		IndependentSegments: true, EndList: true,
		Segments: []Segment{
			{Seq: 10, URI: "a.m4s", Duration: "2.002000", Map: init0, ProgramDateTime: "2024-05-01T12:00:00.000Z"},
			{Seq: 11, URI: "b.m4s?x=1", Duration: "4", Title: "b, second", Map: init0},
			{Seq: 12, URI: "c.m4s", Duration: "1.5", Map: init0, Discontinuity: true},
			{Seq: 13, URI: "d.m4s", Duration: "4.6", Map: init1, Gap: true},
		},
	}
	require.Equal(t, `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:5
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-DISCONTINUITY-SEQUENCE:1
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init 0.mp4"
#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:00:00.000Z
#EXTINF:2.002000,
a.m4s
#EXTINF:4,b, second
b.m4s?x=1
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="init 0.mp4"
#EXTINF:1.5,
c.m4s
#EXT-X-MAP:URI="https://cdn.example.com/init_1.mp4?v=2"
#EXT-X-GAP
#EXTINF:4.6,
d.m4s
#EXT-X-ENDLIST
`, encode(t, p))
}

func TestEncodeMaster(t *testing.T) {
	m, err := ParseMaster(strings.NewReader(readFixture(t, "master.m3u8")))
	require.NoError(t, err)
	m.Variants[2].ClosedCaptions = ClosedCaptionsNone
	require.Equal(t, `#EXTM3U
#EXT-X-VERSION:4
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English, stereo",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/en/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=5000000,AVERAGE-BANDWIDTH=4500000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2",FRAME-RATE=29.970,AUDIO="aac"
stream 0 (hi)/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720,CODECS="avc1.4d401f",AUDIO="aac"
https://cdn.example.com/live/720p/index.m3u8?token=abc&exp=1700000000
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CLOSED-CAPTIONS=NONE
360p.m3u8?session=42
`, encode(t, m))
}

func TestEncodeVersion(t *testing.T) {
	seg := func(dur string, m *Map) Segment { return Segment{URI: "s", Duration: dur, Map: m} }
	tests := []struct {
		name     string
		declared int
		segs     []Segment
		want     string // EXT-X-VERSION line, "" when absent
	}{
		{"integer durations need nothing", 0, []Segment{seg("4", nil)}, ""},
		{"declared 1 is kept", 1, []Segment{seg("4", nil)}, "#EXT-X-VERSION:1"},
		{"decimal durations need 3", 0, []Segment{seg("4", nil), seg("2.5", nil)}, "#EXT-X-VERSION:3"},
		{"too low declared version is raised", 2, []Segment{seg("2.000000", nil)}, "#EXT-X-VERSION:3"},
		{"EXT-X-MAP needs 6", 3, []Segment{seg("2.000000", &Map{URI: "i.mp4"})}, "#EXT-X-VERSION:6"},
		{"higher declared version is kept", 7, []Segment{seg("2.000000", &Map{URI: "i.mp4"})}, "#EXT-X-VERSION:7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.segs {
				tt.segs[i].Seq = uint64(i)
			}
			out := encode(t, &Media{Version: tt.declared, Segments: tt.segs})
			if tt.want == "" {
				require.NotContains(t, out, "#EXT-X-VERSION")
				return
			}
			require.Contains(t, out, "\n"+tt.want+"\n")
		})
	}
}

func TestEncodeMasterVersion(t *testing.T) {
	m := &Master{
		Renditions: []Rendition{{Type: RenditionClosedCaptions, GroupID: "cc", Name: "svc", InstreamID: "SERVICE1"}},
		Variants:   []Variant{{URI: "a.m3u8", Bandwidth: 1, ClosedCaptions: "cc"}},
	}
	require.Contains(t, encode(t, m), "#EXTM3U\n#EXT-X-VERSION:7\n")
	m.Renditions[0].InstreamID = "CC1"
	require.NotContains(t, encode(t, m), "EXT-X-VERSION")
}

func TestEncodeTargetDuration(t *testing.T) {
	tests := []struct {
		name      string
		declared  int
		durations []string
		want      string
	}{
		{"computed: 2.4 rounds down", 0, []string{"2.4", "1"}, "#EXT-X-TARGETDURATION:2"},
		{"computed: 2.5 rounds up", 0, []string{"2.000000", "2.5"}, "#EXT-X-TARGETDURATION:3"},
		{"declared larger is kept", 10, []string{"2.000000"}, "#EXT-X-TARGETDURATION:10"},
		{"declared too small is raised", 2, []string{"2.000000", "6.006"}, "#EXT-X-TARGETDURATION:6"},
		{"no segments", 0, nil, "#EXT-X-TARGETDURATION:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Media{TargetDuration: tt.declared}
			for i, d := range tt.durations {
				p.Segments = append(p.Segments, Segment{Seq: uint64(i), URI: "s.ts", Duration: d})
			}
			require.Contains(t, encode(t, p), "\n"+tt.want+"\n")
		})
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"master.m3u8", readFixture(t, "master.m3u8")},
		{"ffmpeg master", readFixture(t, "ffmpeg_master_audio.m3u8")},
		{"ffmpeg VOD", readFixture(t, "ffmpeg_vod.m3u8")},
		{"ffmpeg fMP4 with PROGRAM-DATE-TIME", readFixture(t, "ffmpeg_fmp4_pdt.m3u8")},
		{"EXTINF text", "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:17\n" +
			"#EXTINF:2.002000,\na.ts\n#EXTINF:4,t\nb.ts\n#EXTINF:1.5,\nc.ts\n#EXTINF:0004.,\nd.ts\n"},
		{"fMP4 maps and discontinuities", "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"i0.mp4\"\n" +
			"#EXTINF:2.0,\na.m4s\n#EXT-X-DISCONTINUITY\n#EXTINF:2.0,\nb.m4s\n#EXT-X-MAP:URI=\"i1.mp4\"\n#EXT-X-GAP\n#EXTINF:2.0,\nc.m4s\n#EXT-X-ENDLIST\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, err := Parse(strings.NewReader(tt.in))
			require.NoError(t, err)
			out := encode(t, first)
			second, err := Parse(strings.NewReader(out))
			require.NoError(t, err)
			require.Equal(t, first, second)
			require.Equal(t, out, encode(t, second), "encoding is stable")
		})
	}
}

func TestRoundTripPreservesEXTINF(t *testing.T) {
	in := "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXTINF:2.002000,\na.ts\n#EXTINF:4,\nb.ts\n#EXTINF:1.5,\nc.ts\n"
	p, err := ParseMedia(strings.NewReader(in))
	require.NoError(t, err)
	out := encode(t, p)
	for _, line := range []string{"#EXTINF:2.002000,\n", "#EXTINF:4,\n", "#EXTINF:1.5,\n"} {
		require.Contains(t, out, line)
	}
}

func TestGaps(t *testing.T) {
	p := &Media{MediaSequence: 3, EndList: true}
	for _, seq := range []uint64{3, 4, 7, 9} {
		p.Segments = append(p.Segments, Segment{Seq: seq, URI: "s.ts", Duration: "2"})
	}
	require.Equal(t, []SeqRange{{5, 6}, {8, 8}}, p.Gaps())
	require.Equal(t, "5-6", p.Gaps()[0].String())
	require.Equal(t, "8", p.Gaps()[1].String())

	out := encode(t, p)
	require.Contains(t, out, "s.ts\n# missing media sequence 5-6\n#EXTINF:2,\ns.ts\n")
	require.Contains(t, out, "# missing media sequence 8\n")

	// The comments keep the playlist valid: it parses back, numbered
	// contiguously because HLS numbering is implicit.
	back, err := ParseMedia(strings.NewReader(out))
	require.NoError(t, err)
	require.Len(t, back.Segments, 4)
	require.Equal(t, uint64(6), back.Segments[3].Seq)
	require.Empty(t, back.Gaps())
}

func TestGapsExtremes(t *testing.T) {
	p := &Media{Segments: []Segment{{Seq: 0}, {Seq: 1<<64 - 1}}}
	require.Equal(t, []SeqRange{{1, 1<<64 - 2}}, p.Gaps())
	require.Empty(t, (&Media{Segments: []Segment{{Seq: 1<<64 - 1}, {Seq: 0}}}).Gaps(), "decreasing numbers are not gaps")
	require.Empty(t, (&Media{}).Gaps())
}

func TestEncodeInvalid(t *testing.T) {
	okSeg := Segment{URI: "a.ts", Duration: "2"}
	media := func(mod func(*Media)) Playlist {
		p := &Media{Segments: []Segment{okSeg, {Seq: 1, URI: "b.ts", Duration: "2"}}}
		mod(p)
		return p
	}
	master := func(mod func(*Master)) Playlist {
		m := &Master{
			Renditions: []Rendition{{Type: RenditionAudio, GroupID: "a", Name: "en"}},
			Variants:   []Variant{{URI: "v.m3u8", Bandwidth: 1, Audio: "a"}},
		}
		mod(m)
		return m
	}
	tests := []struct {
		name    string
		pl      Playlist
		wantMsg string
	}{
		{"line break in URI injects a tag", media(func(p *Media) { p.Segments[0].URI = "a.ts\n#EXT-X-ENDLIST" }), "control character"},
		{"line break in title", media(func(p *Media) { p.Segments[0].Title = "x\r\n#EXT-X-KEY:METHOD=AES-128" }), "title: control character"},
		{"URI looks like a tag", media(func(p *Media) { p.Segments[0].URI = "#EXT-X-ENDLIST" }), "starts with '#'"},
		{"empty URI", media(func(p *Media) { p.Segments[0].URI = "" }), "empty URI"},
		{"URI with surrounding spaces", media(func(p *Media) { p.Segments[0].URI = " a.ts" }), "surrounding spaces"},
		{"bad duration", media(func(p *Media) { p.Segments[0].Duration = "2s" }), "not a decimal number"},
		{"missing duration", media(func(p *Media) { p.Segments[0].Duration = "" }), "not a decimal number"},
		{"quote in map URI", media(func(p *Media) { p.Segments[0].Map = &Map{URI: `i".mp4`} }), "double quote"},
		{"map unset", media(func(p *Media) { p.Segments[0].Map = &Map{URI: "i.mp4"} }), "cannot unset EXT-X-MAP"},
		{"seq not increasing", media(func(p *Media) { p.Segments[1].Seq = 0 }), "seq 0 does not follow 0"},
		{"playlist type", media(func(p *Media) { p.PlaylistType = "LIVE" }), "not EVENT or VOD"},
		{"negative target duration", media(func(p *Media) { p.TargetDuration = -1 }), "negative"},
		{"no variants", master(func(m *Master) { m.Variants = nil }), "without variants"},
		{"quote in CODECS", master(func(m *Master) { m.Variants[0].Codecs = `avc1",X="y` }), "CODECS"},
		{"bad resolution", master(func(m *Master) { m.Variants[0].Resolution = "hd" }), "RESOLUTION"},
		{"bad frame rate", master(func(m *Master) { m.Variants[0].FrameRate = "30fps" }), "FRAME-RATE"},
		{"negative bandwidth", master(func(m *Master) { m.Variants[0].Bandwidth = -1 }), "negative bandwidth"},
		{"unknown group", master(func(m *Master) { m.Variants[0].Audio = "b" }), `AUDIO group "b"`},
		{"rendition type", master(func(m *Master) { m.Renditions[0].Type = "audio" }), `TYPE "audio"`},
		{"rendition name", master(func(m *Master) { m.Renditions[0].Name = "" }), "must not be empty"},
		{"FORCED audio", master(func(m *Master) { m.Renditions[0].Forced = true }), "FORCED"},
		{"INSTREAM-ID on audio", master(func(m *Master) { m.Renditions[0].InstreamID = "CC1" }), "INSTREAM-ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := tt.pl.Encode(&b)
			require.ErrorIs(t, err, ErrInvalid)
			require.ErrorContains(t, err, tt.wantMsg)
			require.Zero(t, b.Len(), "nothing is written on error")
		})
	}
}

type failWriter struct{}

var errDiskFull = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestEncodeWriteError(t *testing.T) {
	err := (&Media{}).Encode(failWriter{})
	require.ErrorIs(t, err, errDiskFull)
	require.ErrorContains(t, err, "hls: write playlist")
}

func TestSegmentSeconds(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr string
	}{
		{"2.000000", 2, ""},
		{"4", 4, ""},
		{"1.5", 1.5, ""},
		{".5", 0.5, ""},
		{"4.", 4, ""},
		{"", 0, "not a decimal number"},
		{"-1", 0, "negative"},
		{"1e3", 0, "not a decimal number"},
		{"Inf", 0, "not a decimal number"},
		{"1.2.3", 0, "not a decimal number"},
		{" 1", 0, "not a decimal number"},
		{"1000000000", 0, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Segment{Duration: tt.in}.Seconds()
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrMalformed)
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
