package archiverpb_test

import (
	"testing"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver/proto/archiverpb"
)

func offer() *archiverpb.ArchiveOffer {
	return &archiverpb.ArchiveOffer{
		CapabilityId: 63, Price: &archiverpb.Price{PricePerUnit: 3, BytesPerUnit: 1000},
		RetentionSeconds: 86400 * 30, RedundancyLevel: 1, MaxSegmentBytes: 64 << 20,
	}
}

// TestOfferRidesInOrchestratorInfo: the offer survives the wire inside a
// real OrchestratorInfo, go-livepeer's own fields are unchanged, and a
// stock decoder (which knows nothing of the offer) still reads them.
func TestOfferRidesInOrchestratorInfo(t *testing.T) {
	info := &lpnet.OrchestratorInfo{
		Transcoder: "https://127.0.0.1:8935",
		PriceInfo:  &lpnet.PriceInfo{PricePerUnit: 1200, PixelsPerUnit: 1},
		Address:    []byte{1, 2, 3},
	}
	stockBytes, err := proto.Marshal(info)
	require.NoError(t, err)
	require.NoError(t, archiverpb.SetOffer(info, offer()))
	require.NoError(t, archiverpb.SetOffer(info, offer())) // replaces, never duplicates
	wire, err := proto.Marshal(info)
	require.NoError(t, err)

	var stock lpnet.OrchestratorInfo
	require.NoError(t, proto.Unmarshal(wire, &stock))
	require.Equal(t, "https://127.0.0.1:8935", stock.Transcoder)
	require.Equal(t, int64(1200), stock.PriceInfo.PricePerUnit)

	got, ok, err := archiverpb.GetOffer(&stock)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, proto.Equal(offer(), got))

	var plain lpnet.OrchestratorInfo
	require.NoError(t, proto.Unmarshal(stockBytes, &plain))
	_, ok, err = archiverpb.GetOffer(&plain)
	require.NoError(t, err)
	require.False(t, ok, "a stock orchestrator offers nothing")
}

// TestReceiptsLeaveTranscodeDataUntouched: attaching receipts does not
// change the signed transcode data.
func TestReceiptsLeaveTranscodeDataUntouched(t *testing.T) {
	res := &lpnet.TranscodeResult{Seq: 7, Result: &lpnet.TranscodeResult_Data{Data: &lpnet.TranscodeData{
		Segments: []*lpnet.TranscodedSegmentData{{Url: "https://o/stream/7.ts", Pixels: 921600}},
		Sig:      []byte("signature over the rendition hashes"),
	}}}
	before, err := proto.Marshal(res.GetData())
	require.NoError(t, err)
	r := &archiverpb.ArchiveReceipts{Receipts: []*archiverpb.ArchiveReceipt{{
		Seq: 7, Status: archiverpb.ArchiveReceipt_ACCEPTED, SourceBytes: 1000, BytesCharged: 3000, FeeWei: "9/1",
	}}}
	require.NoError(t, archiverpb.SetReceipts(res, r))
	wire, err := proto.Marshal(res)
	require.NoError(t, err)

	var got lpnet.TranscodeResult
	require.NoError(t, proto.Unmarshal(wire, &got))
	after, err := proto.Marshal(got.GetData())
	require.NoError(t, err)
	require.Equal(t, before, after)
	rr, ok, err := archiverpb.GetReceipts(&got)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, proto.Equal(r, rr))
}

func TestMalformedExtension(t *testing.T) {
	var info lpnet.OrchestratorInfo
	info.ProtoReflect().SetUnknown([]byte{0xea, 0xd4, 0x03, 0x05, 0xff}) // field 7501, bytes, length 5, 1 byte
	_, _, err := archiverpb.GetOffer(&info)
	require.ErrorIs(t, err, archiverpb.ErrMalformed)

	// field 7501 with the right tag but garbage inside
	info.ProtoReflect().SetUnknown([]byte{0xea, 0xd4, 0x03, 0x02, 0xff, 0xff})
	_, ok, err := archiverpb.GetOffer(&info)
	require.True(t, ok)
	require.ErrorIs(t, err, archiverpb.ErrMalformed)
}

// TestReceiptsWire: receipts marshaled one by one and joined with the fee
// total are byte for byte what marshaling ArchiveReceipts gives, and read
// back from a TranscodeResult as the same message; so are no receipts.
func TestReceiptsWire(t *testing.T) {
	rs := []*archiverpb.ArchiveReceipt{
		{ManifestId: []byte("m"), Seq: 4, SourceBytes: 1880, BytesCharged: 2820, FeeWei: "423/50",
			Status: archiverpb.ArchiveReceipt_ACCEPTED, Renditions: []*archiverpb.RenditionBytes{{Name: "P240p30fps16x9", Bytes: 940}}},
		{ManifestId: []byte("m"), Seq: 5, Status: archiverpb.ArchiveReceipt_REFUSED,
			Reason: archiverpb.ArchiveReceipt_INSUFFICIENT_BALANCE, Detail: "balance does not cover the archive fee"},
	}
	for _, n := range []int{0, 1, 2} {
		want := &archiverpb.ArchiveReceipts{Receipts: rs[:n], SessionFeeWei: "423/50"}
		var entries []byte
		for _, r := range rs[:n] {
			var err error
			entries, err = archiverpb.AppendReceipt(entries, r)
			require.NoError(t, err)
		}
		wire := archiverpb.ReceiptsWire(entries, "423/50")
		marshaled, err := proto.MarshalOptions{Deterministic: true}.Marshal(want)
		require.NoError(t, err)
		require.Equal(t, marshaled, wire, "%d receipts", n)

		tr := &lpnet.TranscodeResult{Seq: 9}
		require.NoError(t, archiverpb.SetReceiptsWire(tr, wire))
		got, ok, err := archiverpb.GetReceipts(tr)
		require.NoError(t, err)
		require.True(t, ok)
		require.True(t, proto.Equal(want, got), "%d receipts: got %v", n, got)
	}
}
