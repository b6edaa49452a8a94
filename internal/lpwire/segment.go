package lpwire

import (
	"crypto/ecdsa"
	"fmt"
	"math"
	"math/big"
	"time"

	ethcommon "github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	lpnet "github.com/livepeer/go-livepeer/net"
)

const (
	// MaxSegmentDuration is common.MaxDuration (common/util.go:52); the
	// orchestrator rejects longer segments (server/rpc.go:505-509).
	MaxSegmentDuration = 5 * time.Minute
	// DefaultSegmentDuration is what the orchestrator assumes when
	// SegData.Duration is 0 (server/rpc.go:510-512).
	DefaultSegmentDuration = 2 * time.Second
	// invalidProfiles is the poison SegData.Profiles value that makes
	// orchestrators predating FullProfiles fail (core/streamdata.go:104-105).
	invalidProfiles = "invalid"
)

// Clip is core.SegmentClip: the part of the segment to transcode, sent in
// whole milliseconds (core/streamdata.go:108-115).
type Clip struct {
	From, To time.Duration
}

// SegMeta is core.SegTranscodingMetadata as far as it travels on the wire
// (core/streamdata.go:56-70, 84-153).
type SegMeta struct {
	// ManifestID is the stream's manifest ID; signed.
	ManifestID string
	// Seq is the segment sequence number; its absolute value is signed.
	Seq int64
	// Hash is HashSegment(segment bytes); signed and checked against the body.
	Hash ethcommon.Hash
	// Profiles are the renditions to produce; their names are signed.
	Profiles []Profile
	// Duration travels in whole milliseconds; not signed.
	Duration time.Duration
	// Capabilities are sent as is; not signed.
	Capabilities *lpnet.Capabilities
	// AuthToken is the token from the orchestrator's OrchestratorInfo; not
	// signed, but required by the orchestrator.
	AuthToken *lpnet.AuthToken
	// Storage is the broadcaster's object store, if external; not signed.
	Storage *lpnet.OSInfo
	// CalcPerceptualHash asks for perceptual hashes; not signed.
	CalcPerceptualHash bool
	// Clip restricts transcoding to part of the segment; not signed.
	Clip *Clip
	// ForceSessionReinit asks for a fresh hardware session; not signed.
	ForceSessionReinit bool
}

// HashSegment is the segment hash the broadcaster sends and the
// orchestrator checks: keccak256 of the segment bytes
// (server/segment_rpc.go:632-636 and 165).
func HashSegment(data []byte) ethcommon.Hash {
	return ethcommon.BytesToHash(ethcrypto.Keccak256(data))
}

// Flatten is core.SegTranscodingMetadata.Flatten (core/streamdata.go:72-82),
// the message both sides sign: manifestID ‖ 32-byte big-endian |seq| ‖
// 32-byte hash ‖ ProfilesToHex as ASCII. big.Int.Bytes drops the sign of
// seq, so seq and -seq flatten identically.
func Flatten(manifestID string, seq int64, hash ethcommon.Hash, profiles []Profile) []byte {
	hexIDs := ProfilesToHex(profiles)
	buf := make([]byte, 0, len(manifestID)+32+ethcommon.HashLength+len(hexIDs))
	buf = append(buf, manifestID...)
	buf = append(buf, ethcommon.LeftPadBytes(big.NewInt(seq).Bytes(), 32)...)
	buf = append(buf, hash.Bytes()...)
	return append(buf, hexIDs...)
}

// Flatten is Flatten of m's signed fields.
func (m SegMeta) Flatten() []byte {
	return Flatten(m.ManifestID, m.Seq, m.Hash, m.Profiles)
}

// NetSegData builds the unsigned SegData as core.NetSegData does
// (core/streamdata.go:84-153), including the choice of FullProfiles (all
// MPEG-TS), FullProfiles2 (some MP4) or FullProfiles3 (any FPS
// denominator, encoder profile or GOP). Off-chain broadcasters send it
// without a signature.
func NetSegData(m SegMeta) (*lpnet.SegData, error) {
	full, err := ProfilesToNet(m.Profiles)
	if err != nil {
		return nil, err
	}
	ms := m.Duration / time.Millisecond
	if ms < math.MinInt32 || ms > math.MaxInt32 {
		return nil, fmt.Errorf("%w: duration %v overflows int32 milliseconds", ErrMalformed, m.Duration)
	}
	storage := []*lpnet.OSInfo{}
	if m.Storage != nil {
		storage = append(storage, m.Storage)
	}
	sd := &lpnet.SegData{
		ManifestId:         []byte(m.ManifestID),
		Seq:                m.Seq,
		Hash:               m.Hash.Bytes(),
		Storage:            storage,
		Duration:           int32(ms),
		Capabilities:       m.Capabilities,
		AuthToken:          m.AuthToken,
		CalcPerceptualHash: m.CalcPerceptualHash,
		Profiles:           []byte(invalidProfiles),
		ForceSessionReinit: m.ForceSessionReinit,
	}
	if c := m.Clip; c != nil {
		if c.From < 0 || c.To < 0 {
			return nil, fmt.Errorf("%w: negative clip %v-%v", ErrMalformed, c.From, c.To)
		}
		sd.SegmentParameters = &lpnet.SegParameters{
			From: uint64(c.From.Milliseconds()),
			To:   uint64(c.To.Milliseconds()),
		}
	}
	allTS, simple := true, true
	for _, p := range m.Profiles {
		allTS = allTS && p.Format == lpnet.VideoProfile_MPEGTS
		simple = simple && p.FPSDen == 0 && p.EncoderProfile == lpnet.VideoProfile_ENCODER_DEFAULT && p.GOP == 0
	}
	switch {
	case !simple:
		sd.FullProfiles3 = full
	case allTS:
		sd.FullProfiles = full
	default:
		sd.FullProfiles2 = full
	}
	return sd, nil
}

// SignSegment builds the SegData a broadcaster sends and signs it as
// genSegCreds does (server/segment_rpc.go:622-663): the signature is
// ethSign(keccak256(Flatten)) (core/broadcaster.go:14-19). A nil key is an
// off-chain broadcaster and yields an empty signature.
func SignSegment(key *ecdsa.PrivateKey, m SegMeta) (*lpnet.SegData, error) {
	sd, err := NetSegData(m)
	if err != nil {
		return nil, err
	}
	sig, err := ethSign(key, ethcrypto.Keccak256(m.Flatten()))
	if err != nil {
		return nil, err
	}
	sd.Sig = sig
	return sd, nil
}

// ParseSegment decodes a SegData as the orchestrator does, coreSegMetadata
// (server/rpc.go:479-542), without checking anything but well-formedness.
// Off-chain orchestrators stop here (core/orchestrator.go:66-69).
// Capabilities are returned as sent; go-livepeer substitutes empty
// capabilities for nil ones (server/rpc.go:514-519).
func ParseSegment(sd *lpnet.SegData) (SegMeta, error) {
	if sd == nil {
		return SegMeta{}, fmt.Errorf("%w: empty seg data", ErrMalformed)
	}
	var profiles []Profile
	var err error
	switch {
	case len(sd.FullProfiles3) > 0:
		profiles, err = ProfilesFromNet(sd.FullProfiles3)
	case len(sd.FullProfiles2) > 0:
		profiles, err = ProfilesFromNet(sd.FullProfiles2)
	case len(sd.FullProfiles) > 0:
		profiles, err = ProfilesFromNet(sd.FullProfiles)
	case len(sd.Profiles) > 0:
		profiles, err = ProfilesFromLegacyBytes(sd.Profiles)
	default:
		profiles = []Profile{}
	}
	if err != nil {
		return SegMeta{}, err
	}
	dur := time.Duration(sd.Duration) * time.Millisecond
	if dur < 0 || dur > MaxSegmentDuration {
		return SegMeta{}, fmt.Errorf("%w: %d ms", ErrInvalidDuration, sd.Duration)
	}
	if dur == 0 {
		dur = DefaultSegmentDuration
	}
	m := SegMeta{
		ManifestID:         string(sd.ManifestId),
		Seq:                sd.Seq,
		Hash:               ethcommon.BytesToHash(sd.Hash), // right-aligned, as server/rpc.go:533
		Profiles:           profiles,
		Duration:           dur,
		Capabilities:       sd.Capabilities,
		AuthToken:          sd.AuthToken,
		CalcPerceptualHash: sd.CalcPerceptualHash,
		ForceSessionReinit: sd.ForceSessionReinit,
	}
	if len(sd.Storage) > 0 {
		m.Storage = sd.Storage[0]
	}
	if sp := sd.SegmentParameters; sp != nil {
		m.Clip = &Clip{
			From: time.Duration(sp.From) * time.Millisecond,
			To:   time.Duration(sp.To) * time.Millisecond,
		}
	}
	return m, nil
}

// VerifySegCreds is the wire part of verifySegCreds
// (server/segment_rpc.go:342-393): parse, check the broadcaster's signature
// over keccak256(Flatten) recomputed from the wire profiles
// (core/orchestrator.go:66-71), then require an auth token. Capability
// compatibility, auth token validity and capacity are the caller's, in
// that order after the signature (server/segment_rpc.go:366-390).
// broadcaster is the Payment's sender (server/segment_rpc.go:83).
func VerifySegCreds(sd *lpnet.SegData, broadcaster ethcommon.Address) (SegMeta, error) {
	m, err := ParseSegment(sd)
	if err != nil {
		return SegMeta{}, err
	}
	if !ethVerify(broadcaster, ethcrypto.Keccak256(m.Flatten()), sd.Sig) {
		return SegMeta{}, fmt.Errorf("%w: segment %s/%d not signed by %s", ErrBadSignature, m.ManifestID, m.Seq, broadcaster.Hex())
	}
	if sd.AuthToken == nil {
		return SegMeta{}, ErrMissingAuthToken
	}
	return m, nil
}

// VerifyBody checks the POST body against the signed hash
// (server/segment_rpc.go:165-170). go-livepeer does this only after
// ProcessPayment and the balance check, so it is separate from
// VerifySegCreds.
func VerifyBody(m SegMeta, body []byte) error {
	if got := HashSegment(body); got != m.Hash {
		return fmt.Errorf("%w: body %s, signed %s", ErrHashMismatch, got.Hex(), m.Hash.Hex())
	}
	return nil
}

// VerifySegment is VerifySegCreds followed by VerifyBody, for callers that
// do not process payments in between.
func VerifySegment(sd *lpnet.SegData, broadcaster ethcommon.Address, body []byte) (SegMeta, error) {
	m, err := VerifySegCreds(sd, broadcaster)
	if err != nil {
		return SegMeta{}, err
	}
	if err := VerifyBody(m, body); err != nil {
		return SegMeta{}, err
	}
	return m, nil
}
