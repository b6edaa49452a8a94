// Package lpwire is go-livepeer v0.7.9's broadcaster↔orchestrator segment
// wire protocol, re-implemented without go-livepeer's cgo-bound core,
// server and common packages so that the testbed broadcaster and
// orchestrator can speak it byte for byte. It stands in for go-livepeer's
// server package in the testbed only: livepeer-archiver speaks go-livepeer's
// own.
//
// One segment round trip looks like this on the wire:
//
//	POST {orchestrator}/segment
//	Livepeer-Segment: base64std(proto(SegData))   (EncodeSegHeader)
//	Livepeer-Payment: base64std(proto(Payment))   (EncodePaymentHeader)
//	Content-Type: video/MP2T
//	<segment bytes>
//
//	200 OK
//	proto(TranscodeResult)                         (BuildTranscodeResult)
//
// The rules, each cited to go-livepeer v0.7.9 (paths relative to the module
// root, github.com/livepeer/go-livepeer@v0.7.9):
//
//   - SegData.Hash is keccak256 of the segment bytes
//     (server/segment_rpc.go:632), compared with the POST body's keccak256
//     after payment processing (server/segment_rpc.go:165-170).
//   - The broadcaster signs Flatten = manifestID ‖ leftpad32(|seq|) ‖ hash ‖
//     ascii-hex(keccak256(name)[0:4] for each profile)
//     (core/streamdata.go:72-82, common/util.go:275-285). Capabilities,
//     duration, auth token, storage and the full profiles are NOT signed.
//   - "Sign" is keccak256, then go-ethereum's accounts.TextHash (the EIP-191
//     personal-message prefix), then secp256k1 with V moved to 27/28
//     (core/broadcaster.go:14-19, eth/accountmanager.go:159-161,179-193).
//     Verification is go-livepeer's own crypto.VerifySig, which rejects
//     high-S signatures and V outside 27/28 (crypto/verify.go:19-55); this
//     package calls it directly because that package builds without cgo.
//   - Profiles travel in SegData.FullProfiles, FullProfiles2 or
//     FullProfiles3 depending on their formats, FPS denominators, encoder
//     profiles and GOPs (core/streamdata.go:117-150); SegData.Profiles is
//     always the poison value "invalid" (core/streamdata.go:104-105). The
//     orchestrator reads FullProfiles3, then 2, then 1, then the legacy
//     4-byte profile IDs (server/rpc.go:486-494).
//   - Headers are base64 standard encoding with padding
//     (server/segment_rpc.go:258,343,662,820).
//   - The orchestrator signs keccak256(keccak256(r1) ‖ … ‖ keccak256(rn)) over
//     the transcoded renditions, in profile order (core/orchestrator.go:
//     636-648); the broadcaster checks it against the orchestrator's address,
//     or the ticket recipient when that is zero (verification/verify.go:
//     186-214).
//
// Off-chain go-livepeer nodes have no Ethereum account: the broadcaster
// sends an empty signature (core/broadcaster.go:15-16), the orchestrator
// accepts any signature (core/orchestrator.go:66-69) and returns unsigned
// results (core/orchestrator.go:643-645). A nil *ecdsa.PrivateKey reproduces
// the signing side of that; an off-chain orchestrator calls ParseSegment and
// VerifyBody instead of VerifySegment.
//
// Quirks reproduced on purpose, because a real peer has them too:
//
//   - Flatten encodes |seq| (big.Int.Bytes drops the sign), so seq and -seq
//     share one signature.
//   - The broadcaster signs its profile names as given, but names an
//     unnamed profile "ffmpeg_WxH_bitrate" on the wire
//     (common/util.go:198-201); the orchestrator recomputes Flatten from the
//     wire names, so a segment with an unnamed profile never verifies.
//   - The orchestrator drops ColorDepth and ChromaFormat when it decodes
//     profiles (server/segment_rpc.go:325-336); ProfilesFromNet does too.
//
// Values the wire cannot carry (a width beyond int32, a negative clip, a
// duration beyond int32 milliseconds) are rejected with ErrInvalidProfile or
// ErrMalformed rather than silently truncated as go-livepeer would.
package lpwire
