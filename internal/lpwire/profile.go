package lpwire

import (
	"encoding/hex"
	"fmt"
	"math"
	"time"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	lpnet "github.com/livepeer/go-livepeer/net"
)

// GOPIntraOnly is lpms' ffmpeg.GOPIntraOnly: a negative GOP is a special
// value carried verbatim in nanoseconds rather than converted to
// milliseconds (common/util.go:238-243, server/segment_rpc.go:319-324).
const GOPIntraOnly time.Duration = -1

// Profile is the part of lpms' ffmpeg.VideoProfile that go-livepeer puts on
// the wire (common/util.go:255-269). Enumerations use the protobuf types
// directly: lpms' FormatNone and FormatMPEGTS both travel as MPEGTS and are
// treated alike when choosing the SegData field (core/streamdata.go:119-127),
// so nothing is lost. AspectRatio is not carried by go-livepeer at all.
type Profile struct {
	// Name is signed (as keccak256(Name)[0:4]) and names the rendition.
	Name string
	// Width and Height in pixels; go-livepeer parses them from "WxH".
	Width, Height int
	// Bitrate in bits per second; go-livepeer parses it from e.g. "4000k".
	Bitrate int
	// FPS is the frame rate numerator; 0 passes the input rate through.
	FPS uint32
	// FPSDen is the frame rate denominator; 0 means 1.
	FPSDen uint32
	// Format is the output container.
	Format lpnet.VideoProfile_Format
	// EncoderProfile is the H.264 profile (lpms' ffmpeg.Profile).
	EncoderProfile lpnet.VideoProfile_Profile
	// GOP is the keyframe interval: 0 is the encoder default, positive
	// values travel in whole milliseconds, negative ones (GOPIntraOnly) as is.
	GOP time.Duration
	// Encoder is the video codec.
	Encoder lpnet.VideoProfile_VideoCodec
	// ColorDepth in bits; the orchestrator drops it on decode.
	ColorDepth int
	// ChromaFormat is the chroma subsampling; the orchestrator drops it on
	// decode. The zero value is 4:2:0, as in lpms.
	ChromaFormat lpnet.VideoProfile_ChromaSubsampling
	// Quality is the encoder quality setting.
	Quality uint32
}

// DefaultProfileName is lpms' ffmpeg.DefaultProfileName, "WxH_bitrate",
// used to name unnamed profiles: "ffmpeg_"+… by the broadcaster
// (common/util.go:198-201) and "net_"+… by the orchestrator
// (server/segment_rpc.go:280-283).
func DefaultProfileName(width, height, bitrate int) string {
	return fmt.Sprintf("%dx%d_%d", width, height, bitrate)
}

// ProfileID is the 4-byte profile identifier: the first four bytes of
// keccak256 of the profile name (common/util.go:275-281). It is what the
// segment signature covers, and what the legacy SegData.Profiles field held.
func ProfileID(name string) [4]byte {
	var id [4]byte
	copy(id[:], ethcrypto.Keccak256([]byte(name)))
	return id
}

// ProfilesToHex is common.ProfilesToHex (common/util.go:283-285): the
// lowercase hex of the concatenated ProfileIDs. Flatten appends this ASCII
// string, not the raw bytes.
func ProfilesToHex(profiles []Profile) string {
	ids := make([]byte, 0, 4*len(profiles))
	for _, p := range profiles {
		id := ProfileID(p.Name)
		ids = append(ids, id[:]...)
	}
	return hex.EncodeToString(ids)
}

// ProfilesToNet converts profiles as the broadcaster does,
// common.FFmpegProfiletoNetProfile (common/util.go:186-273). An unnamed
// profile is named "ffmpeg_"+DefaultProfileName on the wire only.
func ProfilesToNet(profiles []Profile) ([]*lpnet.VideoProfile, error) {
	out := make([]*lpnet.VideoProfile, 0, len(profiles))
	for i, p := range profiles {
		np, err := p.toNet()
		if err != nil {
			return nil, fmt.Errorf("profile %d %q: %w", i, p.Name, err)
		}
		out = append(out, np)
	}
	return out, nil
}

func (p Profile) toNet() (*lpnet.VideoProfile, error) {
	for _, f := range []struct {
		field string
		v     int
	}{{"width", p.Width}, {"height", p.Height}, {"bitrate", p.Bitrate}, {"color depth", p.ColorDepth}} {
		if f.v < math.MinInt32 || f.v > math.MaxInt32 {
			// go-livepeer would silently truncate with int32().
			return nil, fmt.Errorf("%w: %s %d overflows int32", ErrInvalidProfile, f.field, f.v)
		}
	}
	name := p.Name
	if name == "" {
		name = "ffmpeg_" + DefaultProfileName(p.Width, p.Height, p.Bitrate) // common/util.go:198-201
	}
	// Each switch mirrors one of common/util.go:202-254; anything else is
	// ErrFormatProto, ErrProfProto, ErrProfEncoder or ErrChromaFormat there.
	switch p.Format {
	case lpnet.VideoProfile_MPEGTS, lpnet.VideoProfile_MP4:
	default:
		return nil, fmt.Errorf("%w: format %d", ErrInvalidProfile, p.Format)
	}
	if err := checkEncoderProfile(p.EncoderProfile); err != nil {
		return nil, err
	}
	if err := checkEncoder(p.Encoder); err != nil {
		return nil, err
	}
	switch p.ChromaFormat {
	case lpnet.VideoProfile_CHROMA_420, lpnet.VideoProfile_CHROMA_422, lpnet.VideoProfile_CHROMA_444:
	default:
		return nil, fmt.Errorf("%w: chroma format %d", ErrInvalidProfile, p.ChromaFormat)
	}
	gop, err := gopToNet(p.GOP)
	if err != nil {
		return nil, err
	}
	return &lpnet.VideoProfile{
		Name:         name,
		Width:        int32(p.Width),
		Height:       int32(p.Height),
		Bitrate:      int32(p.Bitrate),
		Fps:          p.FPS,
		FpsDen:       p.FPSDen,
		Format:       p.Format,
		Profile:      p.EncoderProfile,
		Gop:          gop,
		Encoder:      p.Encoder,
		ColorDepth:   int32(p.ColorDepth),
		ChromaFormat: p.ChromaFormat,
		Quality:      p.Quality,
	}, nil
}

// gopToNet is common/util.go:238-243: negative GOPs are special values sent
// as is, others travel in whole milliseconds.
func gopToNet(gop time.Duration) (int32, error) {
	v := gop.Milliseconds()
	if gop < 0 {
		v = int64(gop)
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, fmt.Errorf("%w: GOP %v overflows int32", ErrInvalidProfile, gop)
	}
	return int32(v), nil
}

// ProfilesFromNet converts wire profiles as the orchestrator does,
// makeFfmpegVideoProfiles (server/segment_rpc.go:277-340). An unnamed
// profile becomes "net_"+DefaultProfileName; ColorDepth and ChromaFormat
// are dropped, exactly as go-livepeer drops them.
func ProfilesFromNet(nps []*lpnet.VideoProfile) ([]Profile, error) {
	out := make([]Profile, 0, len(nps))
	for i, np := range nps {
		if np == nil {
			return nil, fmt.Errorf("%w: profile %d is nil", ErrInvalidProfile, i)
		}
		p, err := profileFromNet(np)
		if err != nil {
			return nil, fmt.Errorf("profile %d %q: %w", i, np.GetName(), err)
		}
		out = append(out, p)
	}
	return out, nil
}

func profileFromNet(np *lpnet.VideoProfile) (Profile, error) {
	name := np.Name
	if name == "" {
		name = "net_" + DefaultProfileName(int(np.Width), int(np.Height), int(np.Bitrate))
	}
	switch np.Format { // errFormat, server/segment_rpc.go:284-291
	case lpnet.VideoProfile_MPEGTS, lpnet.VideoProfile_MP4:
	default:
		return Profile{}, fmt.Errorf("%w: format %d", ErrInvalidProfile, np.Format)
	}
	if err := checkEncoderProfile(np.Profile); err != nil { // errProfile, :292-305
		return Profile{}, err
	}
	if err := checkEncoder(np.Encoder); err != nil { // errEncoder, :306-318
		return Profile{}, err
	}
	gop := time.Duration(np.Gop) * time.Millisecond // server/segment_rpc.go:319-324
	if np.Gop < 0 {
		gop = time.Duration(np.Gop)
	}
	return Profile{
		Name:           name,
		Width:          int(np.Width),
		Height:         int(np.Height),
		Bitrate:        int(np.Bitrate),
		FPS:            np.Fps,
		FPSDen:         np.FpsDen,
		Format:         np.Format,
		EncoderProfile: np.Profile,
		GOP:            gop,
		Encoder:        np.Encoder,
		Quality:        np.Quality,
	}, nil
}

func checkEncoderProfile(p lpnet.VideoProfile_Profile) error {
	switch p {
	case lpnet.VideoProfile_ENCODER_DEFAULT, lpnet.VideoProfile_H264_BASELINE, lpnet.VideoProfile_H264_MAIN,
		lpnet.VideoProfile_H264_HIGH, lpnet.VideoProfile_H264_CONSTRAINED_HIGH:
		return nil
	}
	return fmt.Errorf("%w: encoder profile %d", ErrInvalidProfile, p)
}

func checkEncoder(c lpnet.VideoProfile_VideoCodec) error {
	switch c {
	case lpnet.VideoProfile_H264, lpnet.VideoProfile_H265, lpnet.VideoProfile_VP8, lpnet.VideoProfile_VP9:
		return nil
	}
	return fmt.Errorf("%w: encoder %d", ErrInvalidProfile, c)
}
