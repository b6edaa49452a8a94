package lpwire

import (
	"testing"

	ethcommon "github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// core/core_test.go:91-128 (TestTranscodeSeg) signs with eth.StubClient,
// whose Sign returns its input, so it pins the exact message handed to
// Eth.Sign: keccak256 of the concatenated per-rendition keccak256s.
func TestRenditionsHash_GoLivepeerComputation(t *testing.T) {
	data := [][]byte{[]byte("rendition 720p"), []byte("rendition 144p")}
	resHashes := make([][]byte, len(data))
	for i, v := range data {
		resHashes[i] = ethcrypto.Keccak256(v)
	}
	require.Equal(t, ethcrypto.Keccak256(resHashes...), RenditionsHash(data))
	require.Equal(t, ethcrypto.Keccak256(), RenditionsHash(nil))
}

func testRenditions() []Rendition {
	return []Rendition{
		{URL: "https://o/stream/P720p30fps16x9/7.ts", Pixels: 1280 * 720 * 60, Data: []byte("720p bytes")},
		{URL: "https://o/stream/P360p30fps16x9/7.ts", Pixels: 640 * 360 * 60, PerceptualHashURL: "https://o/p.phash", Data: []byte("360p bytes")},
	}
}

func renditionData(rs []Rendition) [][]byte {
	out := make([][]byte, len(rs))
	for i, r := range rs {
		out[i] = r.Data
	}
	return out
}

func TestTranscodeResult_RoundTrip(t *testing.T) {
	oKey, oAddr := testKey(t, oKeyHex)
	rends := testRenditions()
	info := &lpnet.OrchestratorInfo{Transcoder: "https://o", Address: oAddr.Bytes(), TicketParams: &lpnet.TicketParams{}}

	tr, err := BuildTranscodeResult(oKey, 7, rends, info)
	require.NoError(t, err)
	body, err := proto.Marshal(tr)
	require.NoError(t, err)

	got, td, err := DecodeTranscodeResult(body)
	require.NoError(t, err)
	require.Equal(t, int64(7), got.Seq)
	require.True(t, proto.Equal(info, got.Info))
	require.Len(t, td.Segments, 2)
	for i, s := range td.Segments {
		require.Equal(t, rends[i].URL, s.Url)
		require.Equal(t, rends[i].Pixels, s.Pixels)
		require.Equal(t, rends[i].PerceptualHashURL, s.PerceptualHashUrl)
	}
	require.Equal(t, int64(1280*720*60+640*360*60), TotalPixels(td))
	// The signature is Eth.Sign(RenditionsHash) (core/orchestrator.go:647-648):
	// the segment scheme minus its extra keccak256.
	require.Equal(t, accountManagerSign(t, oKey, RenditionsHash(renditionData(rends))), td.Sig)

	signer, ok := ResultSigner(got.Info)
	require.True(t, ok)
	require.Equal(t, oAddr, signer)
	require.NoError(t, VerifyTranscodeResult(td, signer, renditionData(rends)))
}

// Mirrors the failure cases of verification/verify_test.go:162-221.
func TestVerifyTranscodeResult_Tampering(t *testing.T) {
	oKey, oAddr := testKey(t, oKeyHex)
	_, otherAddr := testKey(t, bKeyHex)

	tests := []struct {
		name       string
		tamperTD   func(*lpnet.TranscodeData)
		renditions func([][]byte) [][]byte
		addr       ethcommon.Address
		wantErr    error
	}{
		{name: "untouched"},
		{name: "rendition bytes", renditions: func(r [][]byte) [][]byte { r[1] = []byte("360p bytez"); return r }, wantErr: ErrBadSignature},
		{name: "rendition order", renditions: func(r [][]byte) [][]byte { r[0], r[1] = r[1], r[0]; return r }, wantErr: ErrBadSignature},
		{name: "fewer renditions", renditions: func(r [][]byte) [][]byte { return r[:1] }, wantErr: ErrRenditionCount},
		{name: "no renditions", renditions: func([][]byte) [][]byte { return [][]byte{} }, wantErr: ErrRenditionCount},
		{name: "segment dropped", tamperTD: func(td *lpnet.TranscodeData) { td.Segments = td.Segments[:1] }, wantErr: ErrRenditionCount},
		{name: "missing sig", tamperTD: func(td *lpnet.TranscodeData) { td.Sig = nil }, wantErr: ErrBadSignature},
		{name: "sig bit", tamperTD: func(td *lpnet.TranscodeData) { td.Sig[3] ^= 1 }, wantErr: ErrBadSignature},
		{name: "other orchestrator", addr: otherAddr, wantErr: ErrBadSignature},
		// URLs and pixel counts are not signed; go-livepeer checks pixels separately.
		{name: "pixels unsigned", tamperTD: func(td *lpnet.TranscodeData) { td.Segments[0].Pixels = 1 }},
		{name: "url unsigned", tamperTD: func(td *lpnet.TranscodeData) { td.Segments[0].Url = "x" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rends := testRenditions()
			tr, err := BuildTranscodeResult(oKey, 7, rends, nil)
			require.NoError(t, err)
			td := tr.GetData()
			if tc.tamperTD != nil {
				tc.tamperTD(td)
			}
			data := renditionData(rends)
			if tc.renditions != nil {
				data = tc.renditions(data)
			}
			addr := oAddr
			if tc.addr != (ethcommon.Address{}) {
				addr = tc.addr
			}
			require.ErrorIs(t, VerifyTranscodeResult(td, addr, data), tc.wantErr)
		})
	}
}

func TestBuildTranscodeResult_OffChain(t *testing.T) {
	tr, err := BuildTranscodeResult(nil, 1, testRenditions(), nil)
	require.NoError(t, err)
	require.Nil(t, tr.GetData().Sig)
	_, ok := ResultSigner(tr.Info)
	require.False(t, ok)
}

// server/segment_rpc_test.go:124-179 (TestServeSegment_TranscodeSegError)
// and server/segment_rpc.go:544-584.
func TestDecodeTranscodeResult(t *testing.T) {
	marshal := func(tr *lpnet.TranscodeResult) []byte {
		b, err := proto.Marshal(tr)
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name    string
		body    []byte
		wantTR  bool
		wantErr error
		wantMsg string
	}{
		{name: "transcode error", body: marshal(ErrorTranscodeResult(3, "TranscodeSeg error", nil)),
			wantTR: true, wantErr: ErrTranscodeFailed, wantMsg: "TranscodeSeg error"},
		{name: "neither data nor error", body: marshal(&lpnet.TranscodeResult{Seq: 3}), wantTR: true, wantErr: ErrUnknownResponse},
		{name: "empty body", body: nil, wantTR: true, wantErr: ErrUnknownResponse},
		{name: "garbage", body: []byte{0xff, 0xff, 0xff}, wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, td, err := DecodeTranscodeResult(tc.body)
			require.ErrorIs(t, err, tc.wantErr)
			require.Nil(t, td)
			require.Equal(t, tc.wantTR, tr != nil)
			if tc.wantMsg != "" {
				require.ErrorContains(t, err, tc.wantMsg)
			}
		})
	}
}

// verification/verify_test.go:174-205: the recipient stands in for a zero
// orchestrator address; nothing is verified without ticket params.
func TestResultSigner(t *testing.T) {
	recipient := ethcommon.BytesToAddress([]byte("foo"))
	orch := ethcommon.BytesToAddress([]byte("bar"))
	params := &lpnet.TicketParams{Recipient: recipient.Bytes()}
	tests := []struct {
		name   string
		info   *lpnet.OrchestratorInfo
		want   ethcommon.Address
		wantOK bool
	}{
		{"nil info", nil, ethcommon.Address{}, false},
		{"no address", &lpnet.OrchestratorInfo{TicketParams: params}, ethcommon.Address{}, false},
		{"no ticket params", &lpnet.OrchestratorInfo{Address: orch.Bytes()}, ethcommon.Address{}, false},
		{"zero address falls back to recipient", &lpnet.OrchestratorInfo{Address: ethcommon.Address{}.Bytes(), TicketParams: params}, recipient, true},
		{"orchestrator address", &lpnet.OrchestratorInfo{Address: orch.Bytes(), TicketParams: params}, orch, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ResultSigner(tc.info)
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.want, got)
		})
	}
}
