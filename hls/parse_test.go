package hls

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return string(b)
}

func TestParseMaster(t *testing.T) {
	tests := []struct {
		name string
		file string
		want *Master
	}{
		{
			name: "hand-written master.m3u8 with odd URIs and a comma in CODECS",
			file: "master.m3u8",
			want: &Master{
				Version:             4,
				IndependentSegments: true,
				Renditions: []Rendition{{
					Type: RenditionAudio, GroupID: "aac", Name: "English, stereo", Language: "en",
					Default: true, Autoselect: true, Channels: "2", URI: "audio/en/index.m3u8",
				}},
				Variants: []Variant{
					{
						URI:       "stream 0 (hi)/index.m3u8",
						Bandwidth: 5000000, AverageBandwidth: 4500000, Resolution: "1920x1080",
						Codecs: "avc1.640028,mp4a.40.2", FrameRate: "29.970", Audio: "aac",
					},
					{
						URI:       "https://cdn.example.com/live/720p/index.m3u8?token=abc&exp=1700000000",
						Bandwidth: 2000000, Resolution: "1280x720", Codecs: "avc1.4d401f", Audio: "aac",
					},
					{URI: "360p.m3u8?session=42", Bandwidth: 800000, Resolution: "640x360"},
				},
			},
		},
		{
			name: "ffmpeg var_stream_map with an audio group",
			file: "ffmpeg_master_audio.m3u8",
			want: &Master{
				Version: 7,
				Renditions: []Rendition{{
					Type: RenditionAudio, GroupID: "group_aud", Name: "audio_1",
					Default: true, Language: "en", URI: "out_1.m3u8",
				}},
				Variants: []Variant{{
					URI: "out_0.m3u8", Bandwidth: 75900, Resolution: "320x240",
					Codecs: "avc1.f4000d,mp4a.40.2", Audio: "group_aud",
				}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMaster(strings.NewReader(readFixture(t, tt.file)))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)

			pl, err := Parse(strings.NewReader(readFixture(t, tt.file)))
			require.NoError(t, err)
			require.Equal(t, tt.want, pl)
		})
	}
}

func TestParseMasterRenditionKinds(t *testing.T) {
	in := `#EXTM3U
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",FORCED=YES,URI="subs/en.m3u8"
#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"
#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="cam",NAME="Wide",CHARACTERISTICS="public.accessibility",ASSOC-LANGUAGE="de"
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100,URI="iframes.m3u8"
#EXT-X-SESSION-DATA:DATA-ID="com.example.title",VALUE="x"
#EXT-X-SESSION-KEY:METHOD=NONE
#EXT-X-STREAM-INF:BANDWIDTH=1,SUBTITLES="subs",CLOSED-CAPTIONS="cc",VIDEO="cam"
a.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2,CLOSED-CAPTIONS=NONE
b.m3u8
`
	got, err := ParseMaster(strings.NewReader(in))
	require.NoError(t, err)
	require.Equal(t, &Master{
		Renditions: []Rendition{
			{Type: RenditionSubtitles, GroupID: "subs", Name: "English", Language: "en", Forced: true, URI: "subs/en.m3u8"},
			{Type: RenditionClosedCaptions, GroupID: "cc", Name: "CC1", InstreamID: "CC1"},
			{Type: RenditionVideo, GroupID: "cam", Name: "Wide", Characteristics: "public.accessibility", AssocLanguage: "de"},
		},
		Variants: []Variant{
			{URI: "a.m3u8", Bandwidth: 1, Subtitles: "subs", ClosedCaptions: "cc", Video: "cam"},
			{URI: "b.m3u8", Bandwidth: 2, ClosedCaptions: ClosedCaptionsNone},
		},
	}, got)
}

func TestParseMedia(t *testing.T) {
	ts := func(seq uint64, dur, uri string) Segment { return Segment{Seq: seq, Duration: dur, URI: uri} }
	tests := []struct {
		name string
		in   string
		want *Media
	}{
		{
			name: "ffmpeg hls_time 2 VOD",
			in:   readFixture(t, "ffmpeg_vod.m3u8"),
			want: &Media{Version: 3, TargetDuration: 2, EndList: true, Segments: []Segment{
				ts(0, "2.000000", "seg_000.ts"), ts(1, "2.000000", "seg_001.ts"), ts(2, "1.000000", "seg_002.ts"),
			}},
		},
		{
			name: "live EVENT without ENDLIST",
			in:   "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXTINF:2.000000,\n0.ts\n#EXTINF:2.000000,\n1.ts\n",
			want: &Media{Version: 3, TargetDuration: 2, PlaylistType: PlaylistEvent, Segments: []Segment{
				ts(0, "2.000000", "0.ts"), ts(1, "2.000000", "1.ts"),
			}},
		},
		{
			name: "sliding window numbers segments from MEDIA-SEQUENCE",
			in:   "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:17\n#EXTINF:4.000,\nhttps://cdn.example.com/s/17.ts?t=1#f\n#EXTINF:4.000,\n18.ts\n#EXTINF:3.5,\n19.ts\n",
			want: &Media{TargetDuration: 4, MediaSequence: 17, Segments: []Segment{
				ts(17, "4.000", "https://cdn.example.com/s/17.ts?t=1#f"), ts(18, "4.000", "18.ts"), ts(19, "3.5", "19.ts"),
			}},
		},
		{
			name: "discontinuity and gap",
			in:   "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:5\n#EXT-X-DISCONTINUITY-SEQUENCE:2\n#EXTINF:4,\na.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:4,\nb.ts\n#EXT-X-GAP\n#EXTINF:4,\nc.ts\n#EXT-X-ENDLIST\n",
			want: &Media{TargetDuration: 4, MediaSequence: 5, DiscontinuitySequence: 2, EndList: true, Segments: []Segment{
				ts(5, "4", "a.ts"),
				{Seq: 6, Duration: "4", URI: "b.ts", Discontinuity: true},
				{Seq: 7, Duration: "4", URI: "c.ts", Gap: true},
			}},
		},
		{
			name: "CRLF and BOM",
			in:   "\ufeff#EXTM3U\r\n#EXT-X-TARGETDURATION:2\r\n\r\n#EXTINF:2.000000,\r\nseg.ts\r\n#EXT-X-ENDLIST\r\n",
			want: &Media{TargetDuration: 2, EndList: true, Segments: []Segment{ts(0, "2.000000", "seg.ts")}},
		},
		{
			name: "comments, unknown tags, KEY METHOD=NONE, titles, no comma, spaces",
			in: "#EXTM3U\n# comment\n#EXT-X-TARGETDURATION:6\n#EXT-X-KEY:METHOD=NONE\n" +
				"#EXT-X-DATERANGE:ID=\"ad\",START-DATE=\"2024-01-01T00:00:00Z\"\n#EXT-X-FUTURE:what,\"ever\n\n" +
				"#EXTINF:6\na.ts\n#EXTINF:5.5,Title, with comma\n  b c.ts  \n#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00Z\n",
			want: &Media{TargetDuration: 6, Segments: []Segment{
				ts(0, "6", "a.ts"), {Seq: 1, Duration: "5.5", Title: "Title, with comma", URI: "b c.ts"},
			}},
		},
		{
			name: "live start: map announced, no segment yet",
			in:   "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init.mp4\"\n",
			want: &Media{Version: 7, TargetDuration: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMedia(strings.NewReader(tt.in))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseMediaMaps(t *testing.T) {
	in := "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init_0.mp4\"\n" +
		"#EXTINF:2.002000,\na.m4s\n#EXTINF:2.002000,\nb.m4s\n" +
		"#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"https://cdn.example.com/init_1.mp4?v=2\"\n#EXTINF:1.5,\nc.m4s\n#EXT-X-ENDLIST\n"
	got, err := ParseMedia(strings.NewReader(in))
	require.NoError(t, err)
	require.Len(t, got.Segments, 3)
	first, second := &Map{URI: "init_0.mp4"}, &Map{URI: "https://cdn.example.com/init_1.mp4?v=2"}
	require.Equal(t, []Segment{
		{Seq: 0, Duration: "2.002000", URI: "a.m4s", Map: first},
		{Seq: 1, Duration: "2.002000", URI: "b.m4s", Map: first},
		{Seq: 2, Duration: "1.5", URI: "c.m4s", Map: second, Discontinuity: true},
	}, got.Segments)
	require.Same(t, got.Segments[0].Map, got.Segments[1].Map, "one EXT-X-MAP is shared by the segments it covers")
}

func TestParseFFmpegProgramDateTime(t *testing.T) {
	// ffmpeg writes EXT-X-PROGRAM-DATE-TIME between EXTINF and the URI, in
	// a "+0000" format that is not strict RFC 3339; both must be accepted.
	got, err := ParseMedia(strings.NewReader(readFixture(t, "ffmpeg_fmp4_pdt.m3u8")))
	require.NoError(t, err)
	init := &Map{URI: "init_1.mp4"}
	require.Equal(t, &Media{Version: 7, TargetDuration: 2, EndList: true, Segments: []Segment{
		{Seq: 0, Duration: "2.020136", URI: "out_10.m4s", Map: init, ProgramDateTime: "2026-11-22T02:19:56.927+0000"},
		{Seq: 1, Duration: "1.996916", URI: "out_11.m4s", Map: init, ProgramDateTime: "2026-11-22T02:19:58.947+0000"},
		{Seq: 2, Duration: "0.023220", URI: "out_12.m4s", Map: init, ProgramDateTime: "2026-11-22T02:20:00.944+0000"},
	}}, got)
}

func TestParseKind(t *testing.T) {
	master := readFixture(t, "master.m3u8")
	media := readFixture(t, "ffmpeg_vod.m3u8")

	_, err := ParseMaster(strings.NewReader(media))
	require.ErrorIs(t, err, ErrNotMaster)
	_, err = ParseMedia(strings.NewReader(master))
	require.ErrorIs(t, err, ErrNotMedia)

	pl, err := Parse(strings.NewReader(media))
	require.NoError(t, err)
	require.IsType(t, &Media{}, pl)
	pl, err = Parse(strings.NewReader(master))
	require.NoError(t, err)
	require.IsType(t, &Master{}, pl)
}

func TestParseRefusals(t *testing.T) {
	const media = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n"
	const inf = "#EXTINF:2,\na.ts\n"
	const master = "#EXTM3U\n"
	tests := []struct {
		name    string
		in      string
		wantErr error
		wantMsg string
	}{
		{"empty input", "", ErrMalformed, "empty input"},
		{"no EXTM3U", "#EXT-X-TARGETDURATION:2\n", ErrMalformed, "line 1: first line must be #EXTM3U"},
		{"second EXTM3U", media + "#EXTM3U\n", ErrMalformed, "line 3: #EXTM3U may only be the first line"},
		{"neither master nor media", "#EXTM3U\n#EXT-X-VERSION:3\n", ErrMalformed, "neither a master nor a media playlist"},
		{"EXTINF at end without URI", media + "#EXTINF:2,\n", ErrMalformed, "line 3: EXTINF is not followed by a URI"},
		{"EXTINF twice", media + "#EXTINF:2,\n#EXTINF:2,\na.ts\n", ErrMalformed, "line 3: EXTINF is not followed by a URI"},
		{"URI without EXTINF", media + "a.ts\n", ErrMalformed, `line 3: URI line "a.ts" has no EXTINF`},
		{"missing TARGETDURATION", "#EXTM3U\n" + inf, ErrMalformed, "without EXT-X-TARGETDURATION"},
		{"bad TARGETDURATION", "#EXTM3U\n#EXT-X-TARGETDURATION:two\n", ErrMalformed, `line 2: EXT-X-TARGETDURATION: "two" is not a decimal integer`},
		{"negative TARGETDURATION", "#EXTM3U\n#EXT-X-TARGETDURATION:-2\n", ErrMalformed, "not a decimal integer"},
		{"huge MEDIA-SEQUENCE", media + "#EXT-X-MEDIA-SEQUENCE:18446744073709551616\n", ErrMalformed, "out of range"},
		{"sequence overflow", media + "#EXT-X-MEDIA-SEQUENCE:18446744073709551615\n" + inf + inf, ErrMalformed, "overflow"},
		{"MEDIA-SEQUENCE after a segment", media + inf + "#EXT-X-MEDIA-SEQUENCE:3\n", ErrMalformed, "before the first segment"},
		{"duplicate VERSION", "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-VERSION:3\n", ErrMalformed, "line 3: EXT-X-VERSION appears more than once"},
		{"VERSION 0", "#EXTM3U\n#EXT-X-VERSION:0\n", ErrMalformed, "at least 1"},
		{"bad PLAYLIST-TYPE", media + "#EXT-X-PLAYLIST-TYPE:LIVE\n", ErrMalformed, "EVENT or VOD"},
		{"ENDLIST with value", media + "#EXT-X-ENDLIST:YES\n", ErrMalformed, "takes no value"},
		{"negative duration", media + "#EXTINF:-1,\na.ts\n", ErrMalformed, `line 3: EXTINF duration "-1" is negative`},
		{"exponent duration", media + "#EXTINF:1e3,\na.ts\n", ErrMalformed, "not a decimal number"},
		{"empty duration", media + "#EXTINF:,\na.ts\n", ErrMalformed, "not a decimal number"},
		{"absurd duration", media + "#EXTINF:99999999999,\na.ts\n", ErrMalformed, "out of range"},
		{"empty PROGRAM-DATE-TIME", media + "#EXT-X-PROGRAM-DATE-TIME:\n", ErrMalformed, "without a date"},
		{"MAP without URI", media + "#EXT-X-MAP:X=1\n", ErrMalformed, "missing required attribute URI"},
		{"MAP with empty URI", media + "#EXT-X-MAP:URI=\"\"\n", ErrMalformed, "empty URI"},
		{"KEY without METHOD", media + "#EXT-X-KEY:URI=\"k\"\n", ErrMalformed, "missing required attribute METHOD"},
		{"control character", media + "#EXTINF:2,\x01\na.ts\n", ErrMalformed, "line 3: control character U+0001"},
		{"tab", media + "#EXTINF:2,\ta\na.ts\n", ErrMalformed, "control character U+0009"},
		{"invalid UTF-8", media + "#EXTINF:2,\xff\na.ts\n", ErrMalformed, "not valid UTF-8"},
		{"line too long", media + "# " + strings.Repeat("a", maxLine) + "\n", ErrMalformed, "line 3: line longer than"},
		{"master tag in media", media + "#EXT-X-STREAM-INF:BANDWIDTH=1\n", ErrMalformed, "mixes master and media"},
		{"media tag in master", master + "#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n#EXT-X-TARGETDURATION:2\n", ErrMalformed, "mixes master and media"},
		{"STREAM-INF at end without URI", master + "#EXT-X-STREAM-INF:BANDWIDTH=1\n", ErrMalformed, "line 2: EXT-X-STREAM-INF is not followed by a URI"},
		{"STREAM-INF twice", master + "#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXT-X-STREAM-INF:BANDWIDTH=2\na.m3u8\n", ErrMalformed, "line 2: EXT-X-STREAM-INF is not followed by a URI"},
		{"no variants", master + "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\"\n", ErrMalformed, "without EXT-X-STREAM-INF"},
		{"missing BANDWIDTH", master + "#EXT-X-STREAM-INF:RESOLUTION=1x1\na.m3u8\n", ErrMalformed, "missing required attribute BANDWIDTH"},
		{"decimal BANDWIDTH", master + "#EXT-X-STREAM-INF:BANDWIDTH=1.5\na.m3u8\n", ErrMalformed, `BANDWIDTH: "1.5" is not a decimal integer`},
		{"quoted BANDWIDTH", master + "#EXT-X-STREAM-INF:BANDWIDTH=\"1\"\na.m3u8\n", ErrMalformed, "BANDWIDTH must not be quoted"},
		{"unquoted CODECS", master + "#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=avc1\na.m3u8\n", ErrMalformed, "CODECS must be a quoted string"},
		{"unterminated quote", master + "#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"avc1,mp4a\na.m3u8\n", ErrMalformed, "unterminated quoted string"},
		{"lower-case attribute", master + "#EXT-X-STREAM-INF:bandwidth=1\na.m3u8\n", ErrMalformed, `attribute name "bandwidth"`},
		{"space after comma", master + "#EXT-X-STREAM-INF:BANDWIDTH=1, RESOLUTION=1x1\na.m3u8\n", ErrMalformed, `attribute name " RESOLUTION"`},
		{"duplicate attribute", master + "#EXT-X-STREAM-INF:BANDWIDTH=1,BANDWIDTH=2\na.m3u8\n", ErrMalformed, "appears twice"},
		{"trailing comma", master + "#EXT-X-STREAM-INF:BANDWIDTH=1,\na.m3u8\n", ErrMalformed, "empty attribute"},
		{"empty attribute list", master + "#EXT-X-STREAM-INF:\na.m3u8\n", ErrMalformed, "empty attribute"},
		{"attribute without =", master + "#EXT-X-STREAM-INF:BANDWIDTH\na.m3u8\n", ErrMalformed, "has no '='"},
		{"junk after quoted value", master + "#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"a\"b\na.m3u8\n", ErrMalformed, "expected ','"},
		{"bad RESOLUTION", master + "#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=1280*720\na.m3u8\n", ErrMalformed, "line 2: EXT-X-STREAM-INF: RESOLUTION"},
		{"unquoted CLOSED-CAPTIONS", master + "#EXT-X-STREAM-INF:BANDWIDTH=1,CLOSED-CAPTIONS=cc\na.m3u8\n", ErrMalformed, "quoted group id or NONE"},
		{"undefined AUDIO group", master + "#EXT-X-STREAM-INF:BANDWIDTH=1,AUDIO=\"aac\"\na.m3u8\n", ErrMalformed, `AUDIO group "aac", which no EXT-X-MEDIA defines`},
		{"group of the wrong TYPE", master + "#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID=\"aac\",NAME=\"x\"\n#EXT-X-STREAM-INF:BANDWIDTH=1,AUDIO=\"aac\"\na.m3u8\n", ErrMalformed, "no EXT-X-MEDIA defines"},
		{"rendition without NAME", master + "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\"\n", ErrMalformed, "missing required attribute NAME"},
		{"rendition bad TYPE", master + "#EXT-X-MEDIA:TYPE=TEXT,GROUP-ID=\"a\",NAME=\"b\"\n", ErrMalformed, `TYPE "TEXT"`},
		{"SUBTITLES without URI", master + "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"s\",NAME=\"en\"\n", ErrMalformed, "requires a URI"},
		{"CLOSED-CAPTIONS without INSTREAM-ID", master + "#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"c\",NAME=\"en\"\n", ErrMalformed, "requires INSTREAM-ID"},
		{"DEFAULT=YES with AUTOSELECT=NO", master + "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\",DEFAULT=YES,AUTOSELECT=NO\n", ErrMalformed, "requires AUTOSELECT=YES"},
		{"bad YES/NO", master + "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\",DEFAULT=TRUE\n", ErrMalformed, "YES or NO"},
		{"duplicate NAME in group", master + "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\"\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n", ErrMalformed, "appears twice in AUDIO group"},

		{"AES-128", media + "#EXT-X-KEY:METHOD=AES-128,URI=\"https://k.example/key\"\n" + inf, ErrEncrypted, "line 3: EXT-X-KEY METHOD=AES-128"},
		{"SAMPLE-AES", media + "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://k\",KEYFORMAT=\"com.apple.streamingkeydelivery\"\n", ErrEncrypted, "EXT-X-KEY METHOD=SAMPLE-AES"},
		{"SESSION-KEY", master + "#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"k\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n", ErrEncrypted, "EXT-X-SESSION-KEY METHOD=AES-128"},
		{"BYTERANGE", media + "#EXTINF:2,\n#EXT-X-BYTERANGE:1000@0\nall.ts\n", ErrByteRange, "line 4: EXT-X-BYTERANGE 1000@0"},
		{"MAP BYTERANGE", media + "#EXT-X-MAP:URI=\"all.mp4\",BYTERANGE=\"720@0\"\n", ErrByteRange, "EXT-X-MAP with BYTERANGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, err := Parse(strings.NewReader(tt.in))
			require.ErrorIs(t, err, tt.wantErr)
			require.ErrorContains(t, err, tt.wantMsg)
			require.Nil(t, pl)
		})
	}
}

func TestParseEncryptedMessage(t *testing.T) {
	in := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n"
	_, err := Parse(strings.NewReader(in))
	require.EqualError(t, err, "hls: encrypted playlist cannot be archived: line 3: EXT-X-KEY METHOD=AES-128")
}

// fillReader yields an endless playlist of comment lines.
type fillReader struct{ started bool }

func (r *fillReader) Read(p []byte) (int, error) {
	const line = "# filler\n"
	n := 0
	if !r.started {
		r.started = true
		n = copy(p, "#EXTM3U\n")
	}
	for n < len(p) {
		n += copy(p[n:], line)
	}
	return n, nil
}

func TestParseTooLarge(t *testing.T) {
	_, err := Parse(&fillReader{})
	require.ErrorIs(t, err, ErrTooLarge)
}
