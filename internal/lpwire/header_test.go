package lpwire

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"

	ethcommon "github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

func TestEncodeSegHeader_StdBase64(t *testing.T) {
	sd := &lpnet.SegData{ManifestId: []byte("m"), Seq: 3, Hash: []byte{0xfb, 0xff}}
	h, err := EncodeSegHeader(sd)
	require.NoError(t, err)
	buf, err := proto.Marshal(sd)
	require.NoError(t, err)
	require.Equal(t, base64.StdEncoding.EncodeToString(buf), h)
}

// Ports server/rpc_test.go:718-790 (TestGetPayment_*).
func TestPaymentHeader(t *testing.T) {
	sender := ethcommon.HexToAddress("0x00000000000000000000000000000000000000aa")
	full := &lpnet.Payment{
		Sender:        sender.Bytes(),
		TicketParams:  &lpnet.TicketParams{Recipient: []byte{1}, FaceValue: []byte{2}, WinProb: []byte{3}},
		ExpectedPrice: &lpnet.PriceInfo{PricePerUnit: 1, PixelsPerUnit: 3},
		TicketSenderParams: []*lpnet.TicketSenderParams{
			{SenderNonce: 1, Sig: []byte("sig1")},
			{SenderNonce: 2, Sig: []byte("sig2")},
		},
		ExpirationParams: &lpnet.TicketExpirationParams{CreationRound: 9, CreationRoundBlockHash: []byte{4}},
	}
	fullHeader, err := EncodePaymentHeader(full)
	require.NoError(t, err)

	tests := []struct {
		name       string
		header     string
		want       *lpnet.Payment
		wantSender ethcommon.Address
		wantErr    error
	}{
		{name: "round trip", header: fullHeader, want: full, wantSender: sender},
		{name: "empty header is empty payment", header: "", want: &lpnet.Payment{}},
		{name: "invalid base64", header: "not base64", wantErr: ErrBadPayment},
		{name: "invalid protobuf", header: base64.StdEncoding.EncodeToString([]byte{0xff, 0xff, 0xff}), wantErr: ErrBadPayment},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := DecodePaymentHeader(tc.header)
			require.ErrorIs(t, err, tc.wantErr)
			if tc.wantErr != nil {
				require.Nil(t, p)
				require.Equal(t, http.StatusPaymentRequired, HTTPStatus(err))
				return
			}
			require.True(t, proto.Equal(tc.want, p), "got %v", p)
			require.Equal(t, tc.wantSender, PaymentSender(p))
		})
	}

	// An off-chain broadcaster sends no payment (server/segment_rpc.go:759-761).
	h, err := EncodePaymentHeader(nil)
	require.NoError(t, err)
	require.Empty(t, h)
	require.Equal(t, ethcommon.Address{}, PaymentSender(nil))
}

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, http.StatusOK},
		{fmt.Errorf("x: %w", ErrBadPayment), http.StatusPaymentRequired},
		{ErrMalformed, http.StatusForbidden},
		{ErrInvalidProfile, http.StatusForbidden},
		{ErrInvalidDuration, http.StatusForbidden},
		{ErrBadSignature, http.StatusForbidden},
		{ErrMissingAuthToken, http.StatusForbidden},
		{ErrHashMismatch, http.StatusForbidden},
		{fmt.Errorf("unrelated"), http.StatusInternalServerError},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.err), func(t *testing.T) {
			require.Equal(t, tc.want, HTTPStatus(tc.err))
		})
	}
}
