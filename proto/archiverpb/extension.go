package archiverpb

import (
	"errors"
	"fmt"

	lpnet "github.com/livepeer/go-livepeer/net"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Field numbers under which the archiver's messages ride inside
// go-livepeer's messages. Far above go-livepeer's own numbers (≤ 38 in
// v0.7.9); proto3 parsers keep and ignore unknown fields, so stock nodes are
// unaffected.
const (
	OfferField    protowire.Number = 7501 // ArchiveOffer in net.OrchestratorInfo
	ReceiptsField protowire.Number = 7502 // ArchiveReceipts in net.TranscodeResult
)

// ErrMalformed: an extension field is present but cannot be decoded.
var ErrMalformed = errors.New("malformed archiver extension")

// SetOffer attaches the archive offer to an OrchestratorInfo.
func SetOffer(info *lpnet.OrchestratorInfo, offer *ArchiveOffer) error {
	return setExtension(info, OfferField, offer)
}

// GetOffer reads the archive offer; ok is false when the orchestrator sent
// none (a stock orchestrator).
func GetOffer(info *lpnet.OrchestratorInfo) (offer *ArchiveOffer, ok bool, err error) {
	offer = new(ArchiveOffer)
	ok, err = getExtension(info, OfferField, offer)
	if !ok || err != nil {
		return nil, ok, err
	}
	return offer, true, nil
}

// SetReceipts attaches archive receipts to a TranscodeResult. The result's
// own fields, including the signed transcode data, are not touched.
func SetReceipts(res *lpnet.TranscodeResult, r *ArchiveReceipts) error {
	return setExtension(res, ReceiptsField, r)
}

// GetReceipts reads archive receipts; ok is false when there are none.
func GetReceipts(res *lpnet.TranscodeResult) (r *ArchiveReceipts, ok bool, err error) {
	r = new(ArchiveReceipts)
	ok, err = getExtension(res, ReceiptsField, r)
	if !ok || err != nil {
		return nil, ok, err
	}
	return r, true, nil
}

// Field numbers of ArchiveReceipts, for its wire form built piece by piece
// (AppendReceipt, ReceiptsWire); TestReceiptsWireFields checks them
// against the generated descriptor.
const (
	receiptsEntryField protowire.Number = 1 // ArchiveReceipts.receipts
	sessionFeeField    protowire.Number = 2 // ArchiveReceipts.session_fee_wei
)

// AppendReceipt appends r to b as one entry of ArchiveReceipts.receipts in
// wire form. An orchestrator marshals each receipt when it is decided, so
// that a reply only joins bytes (ReceiptsWire, SetReceiptsWire).
func AppendReceipt(b []byte, r *ArchiveReceipt) ([]byte, error) {
	payload, err := proto.Marshal(r)
	if err != nil {
		return b, fmt.Errorf("archiverpb: marshal receipt: %w", err)
	}
	b = protowire.AppendTag(b, receiptsEntryField, protowire.BytesType)
	return protowire.AppendBytes(b, payload), nil
}

// ReceiptsWire is the wire form of ArchiveReceipts holding the entries
// AppendReceipt built and the session's fee total. It appends to receipts.
func ReceiptsWire(receipts []byte, sessionFeeWei string) []byte {
	b := protowire.AppendTag(receipts, sessionFeeField, protowire.BytesType)
	return protowire.AppendString(b, sessionFeeWei)
}

// SetReceiptsWire is SetReceipts for receipts in wire form (ReceiptsWire).
func SetReceiptsWire(res *lpnet.TranscodeResult, wire []byte) error {
	return setExtensionWire(res, ReceiptsField, wire)
}

// setExtension replaces field num in m's unknown fields with ext.
func setExtension(m proto.Message, num protowire.Number, ext proto.Message) error {
	payload, err := proto.Marshal(ext)
	if err != nil {
		return fmt.Errorf("archiverpb: marshal field %d: %w", num, err)
	}
	return setExtensionWire(m, num, payload)
}

// setExtensionWire replaces field num in m's unknown fields with payload,
// a message in wire form.
func setExtensionWire(m proto.Message, num protowire.Number, payload []byte) error {
	rest, _, err := split(m.ProtoReflect().GetUnknown(), num)
	if err != nil {
		return err
	}
	rest = protowire.AppendTag(rest, num, protowire.BytesType)
	rest = protowire.AppendBytes(rest, payload)
	m.ProtoReflect().SetUnknown(rest)
	return nil
}

// getExtension decodes field num of m's unknown fields into ext.
func getExtension(m proto.Message, num protowire.Number, ext proto.Message) (bool, error) {
	_, payload, err := split(m.ProtoReflect().GetUnknown(), num)
	if err != nil || payload == nil {
		return false, err
	}
	if err := proto.Unmarshal(payload, ext); err != nil {
		return true, fmt.Errorf("archiverpb: field %d: %w: %w", num, ErrMalformed, err)
	}
	return true, nil
}

// split separates field num (its last occurrence, as proto semantics say)
// from the other unknown fields.
func split(unknown []byte, num protowire.Number) (rest, payload []byte, err error) {
	for len(unknown) > 0 {
		n, typ, tagLen := protowire.ConsumeTag(unknown)
		if tagLen < 0 {
			return nil, nil, fmt.Errorf("archiverpb: %w: %w", ErrMalformed, protowire.ParseError(tagLen))
		}
		valLen := protowire.ConsumeFieldValue(n, typ, unknown[tagLen:])
		if valLen < 0 {
			return nil, nil, fmt.Errorf("archiverpb: %w: %w", ErrMalformed, protowire.ParseError(valLen))
		}
		field := unknown[:tagLen+valLen]
		if n == num {
			if typ != protowire.BytesType {
				return nil, nil, fmt.Errorf("archiverpb: field %d: %w: wire type %d", num, ErrMalformed, typ)
			}
			payload, _ = protowire.ConsumeBytes(unknown[tagLen:])
		} else {
			rest = append(rest, field...)
		}
		unknown = unknown[tagLen+valLen:]
	}
	return rest, payload, nil
}
