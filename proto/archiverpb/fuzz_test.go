package archiverpb_test

import (
	"testing"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver/proto/archiverpb"
)

// withoutUnknown is m with its own unknown fields dropped: what a stock
// go-livepeer node acts on.
func withoutUnknown(m proto.Message) proto.Message {
	c := proto.Clone(m)
	c.ProtoReflect().SetUnknown(nil)
	return c
}

// checkExtension is the property both extension fields share, for a message
// decoded from the wire: reading the field fails only as ErrMalformed;
// writing it never touches go-livepeer's own fields and reads back as
// written; and whatever was read re-attaches unchanged.
func checkExtension[M, E proto.Message](t *testing.T, m M, get func(M) (E, bool, error), set func(M, E) error, sample E) {
	got, ok, err := get(m)
	if err != nil {
		require.ErrorIs(t, err, archiverpb.ErrMalformed)
		// Replacing a malformed field is fine if the rest parses; either
		// way go-livepeer's fields stay as they were.
		c := proto.Clone(m).(M)
		if set(c, sample) == nil {
			require.True(t, proto.Equal(withoutUnknown(m), withoutUnknown(c)))
		}
		return
	}
	exts := []E{sample}
	if ok {
		exts = append(exts, got)
	}
	for _, e := range exts {
		c := proto.Clone(m).(M)
		require.NoError(t, set(c, e))
		require.True(t, proto.Equal(withoutUnknown(m), withoutUnknown(c)), "go-livepeer's fields changed")
		wire, err := proto.Marshal(c)
		require.NoError(t, err)
		back := proto.Clone(m).(M)
		proto.Reset(back)
		require.NoError(t, proto.Unmarshal(wire, back))
		again, ok, err := get(back)
		require.NoError(t, err)
		require.True(t, ok)
		require.True(t, proto.Equal(e, again), "extension changed on the wire")
	}
}

// FuzzExtensions: the archive offer (field 7501 of OrchestratorInfo) and
// the receipts (7502 of TranscodeResult) a broadcaster reads from an
// orchestrator's messages; raw is either message as it came off the wire.
func FuzzExtensions(f *testing.F) {
	info := &lpnet.OrchestratorInfo{Transcoder: "https://127.0.0.1:8935", PriceInfo: &lpnet.PriceInfo{PricePerUnit: 1200, PixelsPerUnit: 1}}
	require.NoError(f, archiverpb.SetOffer(info, offer()))
	res := &lpnet.TranscodeResult{Seq: 7, Result: &lpnet.TranscodeResult_Data{Data: &lpnet.TranscodeData{
		Segments: []*lpnet.TranscodedSegmentData{{Url: "https://o/stream/7.ts", Pixels: 921600}}, Sig: []byte("sig")}}}
	receipts := &archiverpb.ArchiveReceipts{SessionFeeWei: "3/1000", Receipts: []*archiverpb.ArchiveReceipt{{
		ManifestId: []byte("m"), Seq: 7, Status: archiverpb.ArchiveReceipt_ACCEPTED, SourceBytes: 1000,
		Renditions: []*archiverpb.RenditionBytes{{Name: "P720p30fps16x9", Bytes: 2000}}, BytesCharged: 3000, FeeWei: "9",
	}}}
	require.NoError(f, archiverpb.SetReceipts(res, receipts))
	for _, m := range []proto.Message{info, res, &lpnet.OrchestratorInfo{Transcoder: "stock"}} {
		raw, err := proto.Marshal(m)
		require.NoError(f, err)
		f.Add(raw)
	}
	// Field 7501 with the wrong wire type, and with a truncated payload.
	f.Add([]byte{0xe8, 0xd4, 0x03, 0x01})
	f.Add([]byte{0xea, 0xd4, 0x03, 0x02, 0x08})
	f.Fuzz(func(t *testing.T, raw []byte) {
		var oi lpnet.OrchestratorInfo
		if proto.Unmarshal(raw, &oi) == nil {
			checkExtension(t, &oi, archiverpb.GetOffer, archiverpb.SetOffer, offer())
		}
		var tr lpnet.TranscodeResult
		if proto.Unmarshal(raw, &tr) == nil {
			checkExtension(t, &tr, archiverpb.GetReceipts, archiverpb.SetReceipts, receipts)
		}
	})
}
