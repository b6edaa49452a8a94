package lpwire

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	ethcommon "github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// Fuzz targets for everything an orchestrator decodes from a broadcaster's
// request (Livepeer-Segment, Livepeer-Payment) and a broadcaster decodes
// from an orchestrator's reply (TranscodeResult).

func fuzzKey(tb testing.TB, hexKey string) (*ecdsa.PrivateKey, ethcommon.Address) {
	tb.Helper()
	k, err := ethcrypto.HexToECDSA(hexKey)
	require.NoError(tb, err)
	return k, ethcrypto.PubkeyToAddress(k.PublicKey)
}

// fuzzSegments are real signed segments: the tests' segment, one with every
// optional field, an off-chain one and one in the legacy profile field.
func fuzzSegments(tb testing.TB, body []byte) []*lpnet.SegData {
	key, _ := fuzzKey(tb, bKeyHex)
	base := SegMeta{
		ManifestID: "abcdef", Seq: 1234, Hash: HashSegment(body), Duration: 2500 * time.Millisecond,
		Profiles: []Profile{
			{Name: "P720p30fps16x9", Width: 1280, Height: 720, Bitrate: 4_000_000, FPS: 30},
			{Name: "mp4", Width: 640, Height: 360, Bitrate: 1_000_000, Format: lpnet.VideoProfile_MP4, GOP: GOPIntraOnly, FPSDen: 1001},
		},
		Capabilities: &lpnet.Capabilities{Bitstring: []uint64{0xff | 1<<63}, Version: "0.7.9"},
		AuthToken:    &lpnet.AuthToken{Token: []byte("tok"), SessionId: "sess", Expiration: 1 << 40},
	}
	full := base
	full.Storage = &lpnet.OSInfo{StorageType: lpnet.OSInfo_S3}
	full.Clip = &Clip{From: time.Second, To: 2 * time.Second}
	full.CalcPerceptualHash, full.ForceSessionReinit = true, true
	var out []*lpnet.SegData
	for _, m := range []SegMeta{base, full} {
		sd, err := SignSegment(key, m)
		require.NoError(tb, err)
		out = append(out, sd)
	}
	off, err := SignSegment(nil, base)
	require.NoError(tb, err)
	legacy := proto.Clone(out[0]).(*lpnet.SegData)
	id := ProfileID("P720p30fps16x9")
	legacy.FullProfiles, legacy.Profiles = nil, id[:]
	return append(out, off, legacy)
}

// requireSegErr checks an orchestrator-side failure is one of the
// package's sentinels and answered 403, as go-livepeer answers it.
func requireSegErr(t *testing.T, err error) {
	t.Helper()
	require.True(t, errors.Is(err, ErrMalformed) || errors.Is(err, ErrBadSignature) ||
		errors.Is(err, ErrMissingAuthToken) || errors.Is(err, ErrHashMismatch), "unexpected error kind: %v", err)
	require.Equal(t, http.StatusForbidden, HTTPStatus(err))
}

// signedBy recovers the signer of a segment signature without lpwire's
// verifier (go-livepeer's crypto.VerifySig), as an independent check.
func signedBy(m SegMeta, sig []byte) (ethcommon.Address, bool) {
	if len(sig) != 65 || (sig[64] != 27 && sig[64] != 28) {
		return ethcommon.Address{}, false
	}
	s := bytes.Clone(sig)
	s[64] -= 27
	pub, err := ethcrypto.SigToPub(accounts.TextHash(ethcrypto.Keccak256(m.Flatten())), s)
	if err != nil {
		return ethcommon.Address{}, false
	}
	return ethcrypto.PubkeyToAddress(*pub), true
}

// FuzzDecodeSegHeader: a Livepeer-Segment header either fails as
// ErrMalformed (403) or parses into metadata that survives a round trip
// through NetSegData, and that verifies once signed.
func FuzzDecodeSegHeader(f *testing.F) {
	for _, sd := range fuzzSegments(f, []byte("segment bytes")) {
		h, err := EncodeSegHeader(sd)
		require.NoError(f, err)
		f.Add(h)
	}
	for _, h := range []string{"", "foo", "!!!!", "-_-_", "////", "CAE=", "OAE="} {
		f.Add(h)
	}
	key, addr := fuzzKey(f, oKeyHex)
	f.Fuzz(func(t *testing.T, h string) {
		sd, err := DecodeSegHeader(h)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			require.Equal(t, http.StatusForbidden, HTTPStatus(err))
			require.Nil(t, sd)
			return
		}
		m, err := ParseSegment(sd)
		if err != nil {
			requireSegErr(t, err)
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		require.True(t, m.Duration > 0 && m.Duration <= MaxSegmentDuration, "duration %v", m.Duration)
		if sp := sd.GetSegmentParameters(); sp != nil && (sp.From > math.MaxInt64/uint64(time.Millisecond) || sp.To > math.MaxInt64/uint64(time.Millisecond)) {
			return // go-livepeer's own ms → Duration conversion wraps here too; the clip is not used
		}
		again, err := NetSegData(m)
		require.NoError(t, err, "parsed metadata must encode")
		m2, err := ParseSegment(again)
		if len(m.Profiles) == 0 {
			// NetSegData always writes the poison legacy value, which is all
			// that remains without profiles: go-livepeer cannot send such a
			// segment either.
			require.ErrorIs(t, err, ErrInvalidProfile)
			return
		}
		require.NoError(t, err)
		require.Equal(t, m.Flatten(), m2.Flatten())
		require.Equal(t, m.Profiles, m2.Profiles)
		require.Equal(t, m.Duration, m2.Duration)
		require.Equal(t, m.Clip, m2.Clip)

		// Whatever parses can be signed and then verifies, with the same
		// signed fields; an unsigned one never does.
		signed, err := SignSegment(key, m)
		require.NoError(t, err)
		signed.AuthToken = &lpnet.AuthToken{}
		v, err := VerifySegCreds(signed, addr)
		require.NoError(t, err)
		require.Equal(t, m.Flatten(), v.Flatten())
		signed.Sig = nil
		_, err = VerifySegCreds(signed, addr)
		require.ErrorIs(t, err, ErrBadSignature)
	})
}

// FuzzVerifySegment: the orchestrator's whole check of a segment request
// (SegData as protobuf, the broadcaster's address, the POST body) accepts
// only what the broadcaster signed over this body, and refuses with one of
// the package's sentinels otherwise.
func FuzzVerifySegment(f *testing.F) {
	body := []byte("segment bytes")
	for _, sd := range fuzzSegments(f, body) {
		raw, err := proto.Marshal(sd)
		require.NoError(f, err)
		f.Add(raw, body)
		f.Add(raw, []byte{})
	}
	f.Add([]byte{}, []byte{})
	_, addr := fuzzKey(f, bKeyHex)
	f.Fuzz(func(t *testing.T, raw, body []byte) {
		sd := &lpnet.SegData{}
		if proto.Unmarshal(raw, sd) != nil {
			return // DecodeSegHeader's failure, covered by FuzzDecodeSegHeader
		}
		m, err := VerifySegment(sd, addr, body)
		if err != nil {
			requireSegErr(t, err)
			return
		}
		require.Equal(t, HashSegment(body), m.Hash)
		require.NotNil(t, m.AuthToken)
		signer, ok := signedBy(m, sd.Sig)
		require.True(t, ok, "accepted a signature that does not recover")
		require.Equal(t, addr, signer)
	})
}

// FuzzDecodePaymentHeader: a Livepeer-Payment header either fails as
// ErrBadPayment (402) or decodes into a payment that re-encodes to the
// same message.
func FuzzDecodePaymentHeader(f *testing.F) {
	full := &lpnet.Payment{
		Sender:        ethcommon.HexToAddress("0xaa").Bytes(),
		TicketParams:  &lpnet.TicketParams{Recipient: []byte{1}, FaceValue: []byte{2}, WinProb: []byte{3}},
		ExpectedPrice: &lpnet.PriceInfo{PricePerUnit: 1, PixelsPerUnit: 3},
		TicketSenderParams: []*lpnet.TicketSenderParams{
			{SenderNonce: 1, Sig: []byte("sig1")},
			{SenderNonce: 2, Sig: []byte("sig2")},
		},
		ExpirationParams: &lpnet.TicketExpirationParams{CreationRound: 9, CreationRoundBlockHash: []byte{4}},
	}
	h, err := EncodePaymentHeader(full)
	require.NoError(f, err)
	for _, s := range []string{h, "", "not base64", base64.StdEncoding.EncodeToString([]byte{0xff, 0xff, 0xff}), "CgE="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		p, err := DecodePaymentHeader(h)
		if err != nil {
			require.ErrorIs(t, err, ErrBadPayment)
			require.Equal(t, http.StatusPaymentRequired, HTTPStatus(err))
			require.Nil(t, p)
			return
		}
		sender := PaymentSender(p)
		if len(p.GetSender()) == 0 {
			require.Equal(t, ethcommon.Address{}, sender)
		}
		again, err := EncodePaymentHeader(p)
		require.NoError(t, err)
		p2, err := DecodePaymentHeader(again)
		require.NoError(t, err)
		require.True(t, proto.Equal(p, p2), "payment changed in a round trip")
		require.Equal(t, sender, PaymentSender(p2))
	})
}

// FuzzDecodeTranscodeResult: a broadcaster reading an orchestrator's reply
// gets the decoded result whenever the body parses, one of the package's
// sentinels on failure, and accepts renditions only when the orchestrator
// signed exactly them.
func FuzzDecodeTranscodeResult(f *testing.F) {
	key, addr := fuzzKey(f, oKeyHex)
	rends := []Rendition{
		{URL: "https://o/stream/P720p30fps16x9/7.ts", Pixels: 1280 * 720 * 60, Data: []byte("720p bytes")},
		{URL: "https://o/stream/P360p30fps16x9/7.ts", Pixels: 640 * 360 * 60, PerceptualHashURL: "https://o/p.phash", Data: []byte("360p bytes")},
	}
	info := &lpnet.OrchestratorInfo{Address: addr.Bytes(), TicketParams: &lpnet.TicketParams{Recipient: addr.Bytes()}}
	ok, err := BuildTranscodeResult(key, 7, rends, info)
	require.NoError(f, err)
	for _, tr := range []*lpnet.TranscodeResult{ok, ErrorTranscodeResult(3, "TranscodeSeg error", nil), {Seq: 3},
		{Result: &lpnet.TranscodeResult_Data{}}} {
		raw, err := proto.Marshal(tr)
		require.NoError(f, err)
		f.Add(raw, []byte("720p bytes\n360p bytes"))
		f.Add(raw, []byte("720p bytes"))
	}
	f.Add([]byte{0xff, 0xff, 0xff}, []byte{})
	f.Fuzz(func(t *testing.T, body, renditions []byte) {
		tr, td, err := DecodeTranscodeResult(body)
		switch {
		case errors.Is(err, ErrMalformed):
			require.Nil(t, tr)
			require.Nil(t, td)
			return
		case err != nil:
			require.True(t, errors.Is(err, ErrTranscodeFailed) || errors.Is(err, ErrUnknownResponse), "unexpected error kind: %v", err)
			require.NotNil(t, tr, "a parsed body is returned for its Info")
			require.Nil(t, td)
			return
		}
		require.NotNil(t, td)
		_, _ = ResultSigner(tr.GetInfo())
		_ = TotalPixels(td)
		data := bytes.Split(renditions, []byte("\n"))
		err = VerifyTranscodeResult(td, addr, data)
		if err != nil {
			require.True(t, errors.Is(err, ErrRenditionCount) || errors.Is(err, ErrBadSignature), "unexpected error kind: %v", err)
			return
		}
		require.Len(t, td.GetSegments(), len(data))
		sig := bytes.Clone(td.GetSig())
		require.Len(t, sig, 65)
		sig[64] -= 27
		pub, err := ethcrypto.SigToPub(accounts.TextHash(RenditionsHash(data)), sig)
		require.NoError(t, err)
		require.Equal(t, addr, ethcrypto.PubkeyToAddress(*pub), "accepted renditions the orchestrator did not sign")
	})
}
