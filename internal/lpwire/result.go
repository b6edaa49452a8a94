package lpwire

import (
	"crypto/ecdsa"
	"fmt"

	ethcommon "github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	lpnet "github.com/livepeer/go-livepeer/net"
	"google.golang.org/protobuf/proto"
)

// Rendition is one transcoded output as the orchestrator reports it
// (server/segment_rpc.go:205-221). Data is never sent: only its hash enters
// the signature, and the broadcaster downloads it from URL.
type Rendition struct {
	URL               string
	Pixels            int64
	PerceptualHashURL string
	Data              []byte
}

// RenditionsHash is the message the orchestrator signs:
// keccak256(keccak256(r1) ‖ … ‖ keccak256(rn)), renditions in profile order
// (core/orchestrator.go:621-647; the broadcaster recomputes it the same way
// in verification/verify.go:195-209).
func RenditionsHash(renditions [][]byte) []byte {
	hashes := make([][]byte, len(renditions))
	for i, r := range renditions {
		hashes[i] = ethcrypto.Keccak256(r)
	}
	return ethcrypto.Keccak256(hashes...)
}

// SignRenditions is the orchestrator's TranscodeData.Sig,
// n.Eth.Sign(RenditionsHash) (core/orchestrator.go:647-648). Unlike the
// segment signature there is no extra keccak256 before Eth.Sign. A nil key
// is an off-chain orchestrator, which returns no signature
// (core/orchestrator.go:643-645).
func SignRenditions(key *ecdsa.PrivateKey, renditions [][]byte) ([]byte, error) {
	if key == nil {
		return nil, nil
	}
	return ethSign(key, RenditionsHash(renditions))
}

// BuildTranscodeResult is the successful reply ServeSegment writes with
// status 200 (server/segment_rpc.go:230-254): Seq, one
// TranscodedSegmentData per rendition, SignRenditions over their data, and
// the orchestrator's refreshed info.
func BuildTranscodeResult(key *ecdsa.PrivateKey, seq int64, rends []Rendition, info *lpnet.OrchestratorInfo) (*lpnet.TranscodeResult, error) {
	segs := make([]*lpnet.TranscodedSegmentData, len(rends))
	data := make([][]byte, len(rends))
	for i, r := range rends {
		segs[i] = &lpnet.TranscodedSegmentData{Url: r.URL, Pixels: r.Pixels, PerceptualHashUrl: r.PerceptualHashURL}
		data[i] = r.Data
	}
	sig, err := SignRenditions(key, data)
	if err != nil {
		return nil, err
	}
	return &lpnet.TranscodeResult{
		Seq:    seq,
		Result: &lpnet.TranscodeResult_Data{Data: &lpnet.TranscodeData{Segments: segs, Sig: sig}},
		Info:   info,
	}, nil
}

// ErrorTranscodeResult is the reply for a failed transcode, still sent with
// status 200 because the 200 was flushed before transcoding
// (server/segment_rpc.go:172-177, 232-234).
func ErrorTranscodeResult(seq int64, msg string, info *lpnet.OrchestratorInfo) *lpnet.TranscodeResult {
	return &lpnet.TranscodeResult{
		Seq:    seq,
		Result: &lpnet.TranscodeResult_Error{Error: msg},
		Info:   info,
	}
}

// DecodeTranscodeResult parses a 200 reply body as SubmitSegment does
// (server/segment_rpc.go:544-584). An undecodable body is ErrMalformed; an
// error result is ErrTranscodeFailed carrying the orchestrator's message; a
// result with neither is ErrUnknownResponse. The decoded result is returned
// whenever the body parsed, so the caller can still read Info.
func DecodeTranscodeResult(body []byte) (*lpnet.TranscodeResult, *lpnet.TranscodeData, error) {
	tr := &lpnet.TranscodeResult{}
	if err := proto.Unmarshal(body, tr); err != nil {
		return nil, nil, fmt.Errorf("%w: transcode result: %w", ErrMalformed, err)
	}
	switch res := tr.Result.(type) {
	case *lpnet.TranscodeResult_Error:
		return tr, nil, fmt.Errorf("%w: %s", ErrTranscodeFailed, res.Error)
	case *lpnet.TranscodeResult_Data:
		if res.Data == nil {
			return tr, nil, ErrUnknownResponse
		}
		return tr, res.Data, nil
	default:
		return tr, nil, ErrUnknownResponse
	}
}

// ResultSigner is the address a broadcaster verifies TranscodeData.Sig
// against, and whether it verifies at all: only when the orchestrator info
// carries an address and ticket params, i.e. on-chain; the address falls
// back to the ticket recipient when it is the zero address
// (verification/verify.go:186-205).
func ResultSigner(info *lpnet.OrchestratorInfo) (ethcommon.Address, bool) {
	if info == nil || info.Address == nil || info.TicketParams == nil {
		return ethcommon.Address{}, false
	}
	addr := ethcommon.BytesToAddress(info.Address)
	if addr == (ethcommon.Address{}) {
		addr = ethcommon.BytesToAddress(info.TicketParams.Recipient)
	}
	return addr, true
}

// VerifyTranscodeResult is the broadcaster's sigVerification
// (verification/verify.go:186-214): the downloaded renditions must match
// the reported segments one for one, and td.Sig must be orch's signature
// over RenditionsHash. go-livepeer reports both failures as
// errPMCheckFailed; here they are ErrRenditionCount and ErrBadSignature.
func VerifyTranscodeResult(td *lpnet.TranscodeData, orch ethcommon.Address, renditions [][]byte) error {
	if len(td.GetSegments()) != len(renditions) {
		return fmt.Errorf("%w: %d segments, %d renditions", ErrRenditionCount, len(td.GetSegments()), len(renditions))
	}
	if !ethVerify(orch, RenditionsHash(renditions), td.GetSig()) {
		return fmt.Errorf("%w: renditions not signed by %s", ErrBadSignature, orch.Hex())
	}
	return nil
}

// TotalPixels is the pixel count both sides bill: the sum of the reported
// segments' pixels (orchestrator, server/segment_rpc.go:205,225;
// broadcaster, server/segment_rpc.go:591-596).
func TotalPixels(td *lpnet.TranscodeData) int64 {
	var n int64
	for _, s := range td.GetSegments() {
		n += s.GetPixels()
	}
	return n
}
