package lpwire

import (
	"bytes"
	"crypto/ecdsa"
	"testing"
	"time"

	ethcommon "github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// testKey is a fixed key so signatures are reproducible (RFC 6979).
func testKey(t *testing.T, hexKey string) (*ecdsa.PrivateKey, ethcommon.Address) {
	t.Helper()
	k, err := ethcrypto.HexToECDSA(hexKey)
	require.NoError(t, err)
	return k, ethcrypto.PubkeyToAddress(k.PublicKey)
}

const (
	bKeyHex = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	oKeyHex = "8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63"
)

func testSeg(t *testing.T, body []byte) SegMeta {
	return SegMeta{
		ManifestID:   "abcdef",
		Seq:          1234,
		Hash:         HashSegment(body),
		Profiles:     mustStandard(t, "P720p30fps16x9", "P360p30fps16x9"),
		Duration:     2500 * time.Millisecond,
		Capabilities: &lpnet.Capabilities{Bitstring: []uint64{0xff}, Version: "0.7.9"},
		AuthToken:    &lpnet.AuthToken{Token: []byte("tok"), SessionId: "sess", Expiration: 1 << 40},
	}
}

// Golden vector of core/stream_test.go:37-47 (TestSegmentFlatten).
func TestFlatten_GoLivepeerVector(t *testing.T) {
	hash := ethcommon.BytesToHash(ethcommon.RightPadBytes([]byte("browns"), 32))
	flat := Flatten("abcdef", 1234, hash, mustStandard(t, "P144p30fps16x9", "P240p30fps16x9"))
	want := ethcommon.FromHex("08a398e7e7a5a545b0b07d9e7e1eab52b4131e0df1621bd53ee6e7550a15465b")
	require.Equal(t, want, ethcrypto.Keccak256(flat))
}

// The layout of core/streamdata.go:72-82, spelled out byte by byte.
func TestFlatten_Layout(t *testing.T) {
	hash := HashSegment([]byte("foo"))
	seqBytes := make([]byte, 32)
	seqBytes[30], seqBytes[31] = 0x04, 0xd2 // 1234
	tests := []struct {
		name     string
		seq      int64
		profiles []Profile
		want     []byte
	}{
		{"two profiles", 1234, mustStandard(t, "P720p30fps16x9", "P360p30fps16x9"),
			concat([]byte("mid"), seqBytes, hash.Bytes(), []byte("49d54ea993c717e7"))},
		{"no profiles", 1234, nil, concat([]byte("mid"), seqBytes, hash.Bytes())},
		{"seq zero", 0, nil, concat([]byte("mid"), make([]byte, 32), hash.Bytes())},
		// big.Int.Bytes is the absolute value: -1234 flattens like 1234.
		{"negative seq loses its sign", -1234, nil, concat([]byte("mid"), seqBytes, hash.Bytes())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Flatten("mid", tc.seq, hash, tc.profiles))
		})
	}
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// Port of server/segment_rpc_test.go:244-369 (TestGenSegCreds_FullProfiles)
// and :371-397 (TestGenSegCreds_Profiles).
func TestNetSegData_ProfileField(t *testing.T) {
	base := func() []Profile {
		return []Profile{
			{Name: "prof1", Bitrate: 432000, FPS: 560, Width: 123, Height: 456},
			{Name: "prof2", Bitrate: 765000, FPS: 876, Width: 456, Height: 987, Format: lpnet.VideoProfile_MP4},
			{},
		}
	}
	tests := []struct {
		name   string
		mutate func([]Profile)
		field  int // 1, 2 or 3: FullProfiles, FullProfiles2, FullProfiles3
	}{
		{"an MP4 among MPEG-TS", nil, 2},
		{"all MPEG-TS", func(p []Profile) { p[1].Format = lpnet.VideoProfile_MPEGTS }, 1},
		{"FPS denominator", func(p []Profile) { p[1].Format, p[1].FPSDen = lpnet.VideoProfile_MPEGTS, 12 }, 3},
		{"encoder profile", func(p []Profile) { p[0].EncoderProfile = lpnet.VideoProfile_H264_HIGH }, 3},
		{"GOP", func(p []Profile) { p[1].GOP = 123 * time.Millisecond }, 3},
		{"standard profiles", func(p []Profile) { copy(p, mustStandard(t, "P720p60fps16x9", "P360p30fps16x9")); p[2] = p[1] }, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			profiles := base()
			if tc.mutate != nil {
				tc.mutate(profiles)
			}
			sd, err := NetSegData(SegMeta{ManifestID: "m", Profiles: profiles})
			require.NoError(t, err)
			want, err := ProfilesToNet(profiles)
			require.NoError(t, err)
			require.Equal(t, []byte("invalid"), sd.Profiles)
			fields := [][]*lpnet.VideoProfile{sd.FullProfiles, sd.FullProfiles2, sd.FullProfiles3}
			for i, f := range fields {
				if i+1 != tc.field {
					require.Empty(t, f, "FullProfiles%d", i+1)
					continue
				}
				require.Len(t, f, len(want))
				for j := range want {
					require.True(t, proto.Equal(want[j], f[j]))
				}
			}
		})
	}
}

func TestNetSegData_Unrepresentable(t *testing.T) {
	tests := []struct {
		name string
		seg  SegMeta
	}{
		{"duration overflows int32 ms", SegMeta{Duration: 1 << 62}},
		{"negative clip", SegMeta{Clip: &Clip{From: -time.Second}}},
		{"bad profile", SegMeta{Profiles: []Profile{{Name: "x", Format: 7}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SignSegment(nil, tc.seg)
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
}

// Port of server/segment_rpc_test.go:181-221 (TestVerifySegCreds_Duration).
func TestParseSegment_Duration(t *testing.T) {
	tests := []struct {
		name    string
		ms      int32
		want    time.Duration
		wantErr error
	}{
		{"default", 0, 2000 * time.Millisecond, nil},
		{"regular", 123, 123 * time.Millisecond, nil},
		{"maximum", int32(MaxSegmentDuration.Milliseconds()), MaxSegmentDuration, nil},
		{"negative", -1, 0, ErrInvalidDuration},
		{"above maximum", int32(MaxSegmentDuration.Milliseconds() + 1), 0, ErrInvalidDuration},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseSegment(&lpnet.SegData{Duration: tc.ms})
			require.ErrorIs(t, err, tc.wantErr)
			require.Equal(t, tc.want, m.Duration)
		})
	}
}

// Precedence of server/rpc.go:486-494, as exercised by
// server/segment_rpc_test.go:399-460 and :223-242.
func TestParseSegment_Profiles(t *testing.T) {
	bad := []*lpnet.VideoProfile{{Name: "bad", Format: -1}}
	tests := []struct {
		name    string
		sd      *lpnet.SegData
		want    []string
		wantErr error
	}{
		{"FullProfiles invalid", &lpnet.SegData{FullProfiles: bad}, nil, ErrInvalidProfile},
		{"FullProfiles2 beats FullProfiles", &lpnet.SegData{FullProfiles: bad,
			FullProfiles2: []*lpnet.VideoProfile{{Name: "prof3"}}}, []string{"prof3"}, nil},
		{"FullProfiles3 beats both", &lpnet.SegData{FullProfiles: bad,
			FullProfiles2: []*lpnet.VideoProfile{{Name: "prof3"}},
			FullProfiles3: []*lpnet.VideoProfile{{Name: "prof4"}}}, []string{"prof4"}, nil},
		{"FullProfiles beats legacy", &lpnet.SegData{Profiles: []byte("invalid"),
			FullProfiles: []*lpnet.VideoProfile{{Name: "p"}}}, []string{"p"}, nil},
		{"legacy IDs", &lpnet.SegData{Profiles: ethcommon.FromHex("93c717e7c0a6517a")},
			[]string{"P360p30fps16x9", "P240p30fps16x9"}, nil},
		{"nothing", &lpnet.SegData{}, []string{}, nil},
		{"nil", nil, nil, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseSegment(tc.sd)
			require.ErrorIs(t, err, tc.wantErr)
			if tc.wantErr != nil {
				return
			}
			names := []string{}
			for _, p := range m.Profiles {
				names = append(names, p.Name)
			}
			require.Equal(t, tc.want, names)
		})
	}

	// A broadcaster with no profiles sends only the poison value, which
	// the orchestrator cannot decode (server/segment_rpc_test.go:236-241).
	sd, err := NetSegData(SegMeta{})
	require.NoError(t, err)
	_, err = ParseSegment(sd)
	require.ErrorIs(t, err, ErrInvalidProfile)
}

func TestParseSegment_Fields(t *testing.T) {
	hash := HashSegment([]byte("foo"))
	storage := &lpnet.OSInfo{StorageType: lpnet.OSInfo_S3}
	m, err := ParseSegment(&lpnet.SegData{
		ManifestId:         []byte("mid"),
		Seq:                7,
		Hash:               append([]byte{0xee}, hash.Bytes()...), // BytesToHash keeps the last 32
		Storage:            []*lpnet.OSInfo{storage, {}},
		CalcPerceptualHash: true,
		SegmentParameters:  &lpnet.SegParameters{From: 1500, To: 2500},
		ForceSessionReinit: true,
	})
	require.NoError(t, err)
	require.Equal(t, "mid", m.ManifestID)
	require.Equal(t, int64(7), m.Seq)
	require.Equal(t, hash, m.Hash)
	require.Same(t, storage, m.Storage)
	require.True(t, m.CalcPerceptualHash)
	require.True(t, m.ForceSessionReinit)
	require.Equal(t, &Clip{From: 1500 * time.Millisecond, To: 2500 * time.Millisecond}, m.Clip)
}

// The broadcaster → header → orchestrator path of server/rpc_test.go:233-300
// (TestRPCSeg), with real keys instead of stubs.
func TestSegment_RoundTrip(t *testing.T) {
	bKey, bAddr := testKey(t, bKeyHex)
	body := []byte("segment bytes")
	seg := testSeg(t, body)
	seg.Storage = &lpnet.OSInfo{StorageType: lpnet.OSInfo_S3}
	seg.Clip = &Clip{From: time.Second, To: 2 * time.Second}
	seg.CalcPerceptualHash, seg.ForceSessionReinit = true, true

	sd, err := SignSegment(bKey, seg)
	require.NoError(t, err)
	require.Len(t, sd.Sig, 65)
	require.Contains(t, []byte{27, 28}, sd.Sig[64])

	h, err := EncodeSegHeader(sd)
	require.NoError(t, err)
	got, err := DecodeSegHeader(h)
	require.NoError(t, err)
	require.True(t, proto.Equal(sd, got))

	m, err := VerifySegment(got, bAddr, body)
	require.NoError(t, err)
	require.Equal(t, seg.Flatten(), m.Flatten())
	require.Equal(t, seg.Profiles, m.Profiles)
	require.Equal(t, seg.Duration, m.Duration)
	require.Equal(t, seg.Clip, m.Clip)
	require.True(t, proto.Equal(seg.AuthToken, m.AuthToken))
	require.True(t, proto.Equal(seg.Capabilities, m.Capabilities))
	require.True(t, proto.Equal(seg.Storage, m.Storage))
	require.True(t, m.CalcPerceptualHash)
	require.True(t, m.ForceSessionReinit)
}

func TestVerifySegment_Tampering(t *testing.T) {
	bKey, bAddr := testKey(t, bKeyHex)
	_, otherAddr := testKey(t, oKeyHex)
	body := []byte("segment bytes")

	tests := []struct {
		name    string
		tamper  func(sd *lpnet.SegData)
		addr    ethcommon.Address
		body    []byte
		wantErr error
	}{
		{name: "untouched"},
		{name: "seq", tamper: func(sd *lpnet.SegData) { sd.Seq++ }, wantErr: ErrBadSignature},
		{name: "hash", tamper: func(sd *lpnet.SegData) { sd.Hash[0] ^= 1 }, wantErr: ErrBadSignature},
		{name: "manifest", tamper: func(sd *lpnet.SegData) { sd.ManifestId = []byte("abcdeg") }, wantErr: ErrBadSignature},
		{name: "profile name", tamper: func(sd *lpnet.SegData) { sd.FullProfiles[0].Name = "P720p60fps16x9" }, wantErr: ErrBadSignature},
		{name: "profile order", tamper: func(sd *lpnet.SegData) {
			sd.FullProfiles[0], sd.FullProfiles[1] = sd.FullProfiles[1], sd.FullProfiles[0]
		}, wantErr: ErrBadSignature},
		{name: "profile dropped", tamper: func(sd *lpnet.SegData) { sd.FullProfiles = sd.FullProfiles[:1] }, wantErr: ErrBadSignature},
		{name: "signature bit", tamper: func(sd *lpnet.SegData) { sd.Sig[10] ^= 1 }, wantErr: ErrBadSignature},
		{name: "signature V", tamper: func(sd *lpnet.SegData) { sd.Sig[64] -= 27 }, wantErr: ErrBadSignature},
		{name: "signature missing", tamper: func(sd *lpnet.SegData) { sd.Sig = nil }, wantErr: ErrBadSignature},
		{name: "other broadcaster", addr: otherAddr, wantErr: ErrBadSignature},
		{name: "wrong body", body: []byte("other bytes"), wantErr: ErrHashMismatch},
		{name: "empty body", body: []byte{}, wantErr: ErrHashMismatch},
		{name: "missing auth token", tamper: func(sd *lpnet.SegData) { sd.AuthToken = nil }, wantErr: ErrMissingAuthToken},
		{name: "bad duration", tamper: func(sd *lpnet.SegData) { sd.Duration = -1 }, wantErr: ErrInvalidDuration},
		// Fields go-livepeer does not sign: changing them keeps the signature valid.
		{name: "capabilities unsigned", tamper: func(sd *lpnet.SegData) {
			sd.Capabilities = &lpnet.Capabilities{Bitstring: []uint64{1}, Mandatories: []uint64{1}}
		}},
		{name: "capabilities removed", tamper: func(sd *lpnet.SegData) { sd.Capabilities = nil }},
		{name: "duration unsigned", tamper: func(sd *lpnet.SegData) { sd.Duration = 100 }},
		{name: "auth token unsigned", tamper: func(sd *lpnet.SegData) { sd.AuthToken.SessionId = "other" }},
		{name: "profile bitrate unsigned", tamper: func(sd *lpnet.SegData) { sd.FullProfiles[0].Bitrate = 1 }},
		{name: "seq sign unsigned", tamper: func(sd *lpnet.SegData) { sd.Seq = -sd.Seq }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sd, err := SignSegment(bKey, testSeg(t, body))
			require.NoError(t, err)
			if tc.tamper != nil {
				tc.tamper(sd)
			}
			addr := bAddr
			if tc.addr != (ethcommon.Address{}) {
				addr = tc.addr
			}
			b := body
			if tc.body != nil {
				b = tc.body
			}
			h, err := EncodeSegHeader(sd)
			require.NoError(t, err)
			dec, err := DecodeSegHeader(h)
			require.NoError(t, err)
			_, err = VerifySegment(dec, addr, b)
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

// server/segment_rpc_test.go:64-81 sends "foo" as the segment header.
func TestDecodeSegHeader_Garbage(t *testing.T) {
	for name, h := range map[string]string{
		"go-livepeer's foo": "foo",
		"not base64":        "!!!!",
		"url alphabet":      "-_-_",
		"invalid protobuf":  "////",
	} {
		t.Run(name, func(t *testing.T) {
			sd, err := DecodeSegHeader(h)
			require.ErrorIs(t, err, ErrMalformed)
			require.Nil(t, sd)
		})
	}
	_, err := EncodeSegHeader(nil)
	require.ErrorIs(t, err, ErrMalformed)
}

func TestSegment_OffChain(t *testing.T) {
	_, bAddr := testKey(t, bKeyHex)
	body := []byte("x")
	sd, err := SignSegment(nil, testSeg(t, body))
	require.NoError(t, err)
	require.Empty(t, sd.Sig)

	// An off-chain orchestrator parses and checks the body only.
	m, err := ParseSegment(sd)
	require.NoError(t, err)
	require.NoError(t, VerifyBody(m, body))
	// An on-chain one rejects the empty signature.
	_, err = VerifySegment(sd, bAddr, body)
	require.ErrorIs(t, err, ErrBadSignature)
}

// The broadcaster signs the empty name but sends "ffmpeg_…"; the
// orchestrator recomputes Flatten from the wire name (common/util.go:
// 198-201, server/segment_rpc.go:355-364), so go-livepeer itself cannot
// verify segments with unnamed profiles.
func TestSegment_UnnamedProfileNeverVerifies(t *testing.T) {
	bKey, bAddr := testKey(t, bKeyHex)
	seg := testSeg(t, []byte("x"))
	seg.Profiles = []Profile{{Width: 640, Height: 360, Bitrate: 1000}}
	sd, err := SignSegment(bKey, seg)
	require.NoError(t, err)
	require.Equal(t, "ffmpeg_640x360_1000", sd.FullProfiles[0].Name)
	_, err = VerifySegCreds(sd, bAddr)
	require.ErrorIs(t, err, ErrBadSignature)
}
