package lpwire

import (
	"encoding/base64"
	"fmt"

	ethcommon "github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"
	"google.golang.org/protobuf/proto"
)

// HTTP names of the segment request (server/segment_rpc.go:34-35, 473-490).
const (
	// SegmentPath is appended to the orchestrator's transcoder URL
	// (server/segment_rpc.go:473).
	SegmentPath = "/segment"
	// SegmentHeader carries EncodeSegHeader's value.
	SegmentHeader = "Livepeer-Segment"
	// PaymentHeader carries EncodePaymentHeader's value.
	PaymentHeader = "Livepeer-Payment"
	// ContentTypeSegment is sent with segment bytes in the body, whatever
	// their container (server/segment_rpc.go:486-489).
	ContentTypeSegment = "video/MP2T"
	// ContentTypeURI is sent when the body is the segment's URL instead
	// (server/segment_rpc.go:484-485, 144-163); the hash still covers the
	// segment bytes, which the orchestrator downloads.
	ContentTypeURI = "application/vnd+livepeer.uri"
)

// EncodeSegHeader is the Livepeer-Segment value: standard padded base64 of
// the protobuf SegData (server/segment_rpc.go:657-662).
func EncodeSegHeader(sd *lpnet.SegData) (string, error) {
	if sd == nil {
		return "", fmt.Errorf("%w: nil SegData", ErrMalformed)
	}
	buf, err := proto.Marshal(sd)
	if err != nil {
		return "", fmt.Errorf("lpwire: marshal SegData: %w", err)
	}
	return base64.StdEncoding.EncodeToString(buf), nil
}

// DecodeSegHeader reverses EncodeSegHeader as verifySegCreds does
// (server/segment_rpc.go:343-353). Either failure is ErrMalformed, which
// go-livepeer answers with 403. An empty header decodes to an empty SegData,
// as in go-livepeer; it then fails signature verification.
func DecodeSegHeader(h string) (*lpnet.SegData, error) {
	buf, err := base64.StdEncoding.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %w", ErrMalformed, err)
	}
	sd := &lpnet.SegData{}
	if err := proto.Unmarshal(buf, sd); err != nil {
		return nil, fmt.Errorf("%w: protobuf: %w", ErrMalformed, err)
	}
	return sd, nil
}

// EncodePaymentHeader is the Livepeer-Payment value: standard padded base64
// of the protobuf Payment (server/segment_rpc.go:815-820). A nil payment is
// an off-chain broadcaster's, which sends an empty header
// (server/segment_rpc.go:759-761).
func EncodePaymentHeader(p *lpnet.Payment) (string, error) {
	if p == nil {
		return "", nil
	}
	buf, err := proto.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("lpwire: marshal Payment: %w", err)
	}
	return base64.StdEncoding.EncodeToString(buf), nil
}

// DecodePaymentHeader reverses EncodePaymentHeader as getPayment does
// (server/segment_rpc.go:257-268); failures are ErrBadPayment (402). An
// empty header is an empty payment, not an error.
func DecodePaymentHeader(h string) (*lpnet.Payment, error) {
	buf, err := base64.StdEncoding.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %w", ErrBadPayment, err)
	}
	p := &lpnet.Payment{}
	if err := proto.Unmarshal(buf, p); err != nil {
		return nil, fmt.Errorf("%w: protobuf: %w", ErrBadPayment, err)
	}
	return p, nil
}

// PaymentSender is the address the orchestrator verifies the segment
// signature against: Payment.Sender, or the zero address when absent
// (server/segment_rpc.go:270-275).
func PaymentSender(p *lpnet.Payment) ethcommon.Address {
	if p.GetSender() == nil {
		return ethcommon.Address{}
	}
	return ethcommon.BytesToAddress(p.GetSender())
}
