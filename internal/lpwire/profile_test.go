package lpwire

import (
	"encoding/hex"
	"math"
	"testing"
	"time"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

func mustStandard(t *testing.T, names ...string) []Profile {
	t.Helper()
	out := make([]Profile, 0, len(names))
	for _, n := range names {
		p, ok := StandardProfile(n)
		require.True(t, ok, n)
		out = append(out, p)
	}
	return out
}

// The literal ID table of common/videoprofile_ids.go:12-27.
func TestProfileID_GoLivepeerTable(t *testing.T) {
	for name, want := range map[string]string{
		"P720p60fps16x9": "a7ac137a", "P720p30fps16x9": "49d54ea9", "P720p25fps16x9": "e4a64019",
		"P720p30fps4x3": "79332fe7", "P576p30fps16x9": "5ecf4b52", "P576p25fps16x9": "8b1843d6",
		"P360p30fps16x9": "93c717e7", "P360p25fps16x9": "7cd40fc7", "P360p30fps4x3": "b60382a0",
		"P240p30fps16x9": "c0a6517a", "P240p25fps16x9": "1301a7d0", "P240p30fps4x3": "d435c53a",
		"P144p30fps16x9": "fca40bf9", "P144p25fps16x9": "03f01d1f",
	} {
		t.Run(name, func(t *testing.T) {
			id := ProfileID(name)
			require.Equal(t, want, hex.EncodeToString(id[:]))
		})
	}
	require.Len(t, legacyProfileNames(), 14)
}

func TestProfilesToHex(t *testing.T) {
	tests := []struct {
		name     string
		profiles []Profile
		want     string
	}{
		{"none", nil, ""},
		// common/util_test.go:54-58 decodes this hex to these two profiles.
		{"util_test vector", mustStandard(t, "P360p30fps16x9", "P240p30fps16x9"), "93c717e7c0a6517a"},
		// Only names matter: the other fields are not part of the ID.
		{"name only", []Profile{{Name: "P360p30fps16x9", Width: 1}}, "93c717e7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, ProfilesToHex(tc.profiles))
		})
	}
}

// Ports common/util_test.go:38-59 (TestVideoProfileBytes), 161-179
// (TestProfilesToHex) and server/segment_rpc_test.go:223-242
// (TestCoreSegMetadata_Profiles).
func TestProfilesFromLegacyBytes(t *testing.T) {
	decodeHex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name    string
		in      []byte
		want    []Profile
		wantErr error
	}{
		{"nil", nil, []Profile{}, nil},
		{"empty", []byte{}, []Profile{}, nil},
		{"too short", []byte("abc"), nil, ErrInvalidProfile},
		{"unknown IDs", []byte("abcdefghijk"), nil, ErrInvalidProfile},
		{"util_test vector", decodeHex("93c717e7c0a6517a"), mustStandard(t, "P360p30fps16x9", "P240p30fps16x9"), nil},
		{"hex round trip 1", decodeHex(ProfilesToHex(mustStandard(t, "P240p30fps16x9"))), mustStandard(t, "P240p30fps16x9"), nil},
		{"hex round trip 2", decodeHex(ProfilesToHex(mustStandard(t, "P240p30fps16x9", "P360p30fps16x9"))),
			mustStandard(t, "P240p30fps16x9", "P360p30fps16x9"), nil},
		{"segment_rpc_test vector", decodeHex(ProfilesToHex(mustStandard(t, "P576p30fps16x9", "P240p30fps4x3"))),
			mustStandard(t, "P576p30fps16x9", "P240p30fps4x3"), nil},
		{"trailing partial ID ignored", append(decodeHex("93c717e7"), 0x01), mustStandard(t, "P360p30fps16x9"), nil},
		{"poison value", []byte(invalidProfiles), nil, ErrInvalidProfile},
		// Named in the ID table but absent from lpms' VideoProfileLookup.
		{"P144p25fps16x9", decodeHex("03f01d1f"), nil, ErrInvalidProfile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ProfilesFromLegacyBytes(tc.in)
			require.ErrorIs(t, err, tc.wantErr)
			require.Equal(t, tc.want, got)
		})
	}
}

// Port of common/util_test.go:61-159 (TestFFmpegProfiletoNetProfile);
// "432k" there is 432000 bps here.
func TestProfilesToNet(t *testing.T) {
	base := func() []Profile {
		return []Profile{
			{Name: "prof1", Bitrate: 432000, FPS: 560, Width: 123, Height: 456,
				EncoderProfile: lpnet.VideoProfile_H264_MAIN, GOP: 123 * time.Millisecond,
				ColorDepth: 8, ChromaFormat: lpnet.VideoProfile_CHROMA_420},
			{Name: "prof2", Bitrate: 765000, FPS: 876, FPSDen: 12, Width: 456, Height: 987,
				GOP: -100, ColorDepth: 10, ChromaFormat: lpnet.VideoProfile_CHROMA_444},
		}
	}
	want := func() []*lpnet.VideoProfile {
		return []*lpnet.VideoProfile{
			{Name: "prof1", Width: 123, Height: 456, Bitrate: 432000, Fps: 560,
				Profile: lpnet.VideoProfile_H264_MAIN, Gop: 123, ColorDepth: 8},
			{Name: "prof2", Width: 456, Height: 987, Bitrate: 765000, Fps: 876, FpsDen: 12,
				Gop: -100, ColorDepth: 10, ChromaFormat: lpnet.VideoProfile_CHROMA_444},
		}
	}
	tests := []struct {
		name    string
		mutate  func([]Profile)
		expect  func([]*lpnet.VideoProfile)
		wantErr error
	}{
		{name: "as given"},
		{name: "empty name gets ffmpeg_ name",
			mutate: func(p []Profile) { p[0].Name = "" },
			expect: func(w []*lpnet.VideoProfile) { w[0].Name = "ffmpeg_123x456_432000" }},
		{name: "12-bit 4:2:2 passes through",
			mutate: func(p []Profile) { p[0].ColorDepth, p[0].ChromaFormat = 12, lpnet.VideoProfile_CHROMA_422 },
			expect: func(w []*lpnet.VideoProfile) { w[0].ColorDepth, w[0].ChromaFormat = 12, lpnet.VideoProfile_CHROMA_422 }},
		{name: "formats",
			mutate: func(p []Profile) { p[0].Format = lpnet.VideoProfile_MP4 },
			expect: func(w []*lpnet.VideoProfile) { w[0].Format = lpnet.VideoProfile_MP4 }},
		{name: "intra-only GOP stays in nanoseconds",
			mutate: func(p []Profile) { p[0].GOP = GOPIntraOnly },
			expect: func(w []*lpnet.VideoProfile) { w[0].Gop = -1 }},
		{name: "invalid format", mutate: func(p []Profile) { p[1].Format = -1 }, wantErr: ErrInvalidProfile},
		{name: "invalid encoder profile", mutate: func(p []Profile) { p[1].EncoderProfile = 5 }, wantErr: ErrInvalidProfile},
		{name: "invalid encoder", mutate: func(p []Profile) { p[1].Encoder = 4 }, wantErr: ErrInvalidProfile},
		{name: "invalid chroma", mutate: func(p []Profile) { p[1].ChromaFormat = 3 }, wantErr: ErrInvalidProfile},
		{name: "width overflows int32", mutate: func(p []Profile) { p[0].Width = math.MaxInt32 + 1 }, wantErr: ErrInvalidProfile},
		{name: "GOP overflows int32 ms", mutate: func(p []Profile) { p[0].GOP = (math.MaxInt32 + 1) * time.Millisecond }, wantErr: ErrInvalidProfile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, exp := base(), want()
			if tc.mutate != nil {
				tc.mutate(in)
			}
			if tc.expect != nil {
				tc.expect(exp)
			}
			got, err := ProfilesToNet(in)
			require.ErrorIs(t, err, tc.wantErr)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, ErrMalformed)
				require.Nil(t, got)
				return
			}
			require.Len(t, got, len(exp))
			for i := range exp {
				require.True(t, proto.Equal(exp[i], got[i]), "profile %d: got %v want %v", i, got[i], exp[i])
			}
		})
	}
}

// Port of server/segment_rpc_test.go:462-537 (TestMakeFfmpegVideoProfiles)
// and the FullProfiles3 case of :399-460 (TestCoreSegMetadata_FullProfiles).
func TestProfilesFromNet(t *testing.T) {
	base := func() []*lpnet.VideoProfile {
		return []*lpnet.VideoProfile{
			{Name: "prof1", Width: 123, Height: 456, Bitrate: 789, Fps: 912, FpsDen: 15},
			{Name: "prof2", Width: 987, Height: 654, Bitrate: 321, Fps: 198,
				Profile: lpnet.VideoProfile_H264_BASELINE, Gop: 123},
		}
	}
	want := func() []Profile {
		return []Profile{
			{Name: "prof1", Width: 123, Height: 456, Bitrate: 789, FPS: 912, FPSDen: 15},
			{Name: "prof2", Width: 987, Height: 654, Bitrate: 321, FPS: 198,
				EncoderProfile: lpnet.VideoProfile_H264_BASELINE, GOP: 123 * time.Millisecond},
		}
	}
	tests := []struct {
		name    string
		mutate  func([]*lpnet.VideoProfile)
		expect  func([]Profile)
		wantErr error
	}{
		{name: "as given"},
		{name: "empty name gets net_ name",
			mutate: func(n []*lpnet.VideoProfile) { n[0].Name = "" },
			expect: func(w []Profile) { w[0].Name = "net_123x456_789" }},
		{name: "formats",
			mutate: func(n []*lpnet.VideoProfile) { n[0].Format = lpnet.VideoProfile_MP4 },
			expect: func(w []Profile) { w[0].Format = lpnet.VideoProfile_MP4 }},
		{name: "color depth and chroma are dropped",
			mutate: func(n []*lpnet.VideoProfile) { n[0].ColorDepth, n[0].ChromaFormat = 10, lpnet.VideoProfile_CHROMA_444 }},
		{name: "negative GOP stays in nanoseconds",
			mutate: func(n []*lpnet.VideoProfile) { n[1].Gop = -1 },
			expect: func(w []Profile) { w[1].GOP = GOPIntraOnly }},
		{name: "quality is kept",
			mutate: func(n []*lpnet.VideoProfile) { n[1].Quality = 27 },
			expect: func(w []Profile) { w[1].Quality = 27 }},
		{name: "invalid format", mutate: func(n []*lpnet.VideoProfile) { n[1].Format = -1 }, wantErr: ErrInvalidProfile},
		{name: "invalid encoder profile", mutate: func(n []*lpnet.VideoProfile) { n[1].Profile = 9 }, wantErr: ErrInvalidProfile},
		{name: "invalid encoder", mutate: func(n []*lpnet.VideoProfile) { n[1].Encoder = 9 }, wantErr: ErrInvalidProfile},
		{name: "nil entry", mutate: func(n []*lpnet.VideoProfile) { n[1] = nil }, wantErr: ErrInvalidProfile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, exp := base(), want()
			if tc.mutate != nil {
				tc.mutate(in)
			}
			if tc.expect != nil {
				tc.expect(exp)
			}
			got, err := ProfilesFromNet(in)
			require.ErrorIs(t, err, tc.wantErr)
			if tc.wantErr != nil {
				require.Nil(t, got)
				return
			}
			require.Equal(t, exp, got)
		})
	}

	// server/segment_rpc_test.go:447-458: a bare {Name: "prof4"} decodes to
	// bitrate 0, resolution 0x0, MPEG-TS.
	got, err := ProfilesFromNet([]*lpnet.VideoProfile{{Name: "prof4"}})
	require.NoError(t, err)
	require.Equal(t, []Profile{{Name: "prof4"}}, got)
}

// The broadcaster → orchestrator conversion loses only what go-livepeer
// loses (server/segment_rpc_test.go:399-420 checks the same round trip).
func TestProfiles_RoundTrip(t *testing.T) {
	in := []Profile{
		{Name: "prof1", Bitrate: 432000, FPS: 560, Width: 123, Height: 456},
		{Name: "prof2", Bitrate: 765000, FPS: 876, FPSDen: 12, Width: 456, Height: 987,
			Format: lpnet.VideoProfile_MP4, EncoderProfile: lpnet.VideoProfile_H264_CONSTRAINED_HIGH,
			GOP: 2 * time.Second, Encoder: lpnet.VideoProfile_H265, ColorDepth: 10,
			ChromaFormat: lpnet.VideoProfile_CHROMA_422, Quality: 23},
	}
	np, err := ProfilesToNet(in)
	require.NoError(t, err)
	out, err := ProfilesFromNet(np)
	require.NoError(t, err)
	in[1].ColorDepth, in[1].ChromaFormat = 0, lpnet.VideoProfile_CHROMA_420
	require.Equal(t, in, out)
}
