package broadcaster_test

import (
	"math/big"
	"testing"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/broadcaster"
	"github.com/lpswarm/archiver/capability"
	archiverpb "github.com/lpswarm/archiver/proto"
)

const bit = capability.DefaultArchiveID

func offer(perUnit, bytes int64) *archiverpb.ArchiveOffer {
	return &archiverpb.ArchiveOffer{CapabilityId: uint32(bit), Price: &archiverpb.Price{PricePerUnit: perUnit, BytesPerUnit: bytes}}
}

func info(uri string, o *archiverpb.ArchiveOffer) *lpnet.OrchestratorInfo {
	i := &lpnet.OrchestratorInfo{Transcoder: uri, Capabilities: &lpnet.Capabilities{Bitstring: []uint64{1}}}
	if o != nil {
		i.Capabilities = capability.Advertise(i.Capabilities, bit)
		if err := archiverpb.SetOffer(i, o); err != nil {
			panic(err)
		}
	}
	return i
}

func TestChoosePrefersAnArchivingOrchestrator(t *testing.T) {
	stock, archiving := info("stock", nil), info("archiving", offer(3, 1000))
	got, o := broadcaster.Choose([]*lpnet.OrchestratorInfo{stock, archiving}, bit)
	require.Equal(t, "archiving", got.Transcoder)
	require.Equal(t, int64(3), o.Price.PricePerUnit)

	// Bit without an offer, or an offer without the bit: not archiving.
	bitOnly := info("bit only", nil)
	bitOnly.Capabilities = capability.Advertise(bitOnly.Capabilities, bit)
	got, o = broadcaster.Choose([]*lpnet.OrchestratorInfo{bitOnly, stock}, bit)
	require.Equal(t, "bit only", got.Transcoder)
	require.Nil(t, o)
}

// TestNoArchivingOrchestratorStillGoesLive: the stream goes to a stock
// orchestrator without the bit, and its archive status shows the gap.
func TestNoArchivingOrchestratorStillGoesLive(t *testing.T) {
	got, o := broadcaster.Choose([]*lpnet.OrchestratorInfo{info("stock", nil)}, bit)
	require.Equal(t, "stock", got.Transcoder)
	s, err := broadcaster.NewSession(o)
	require.NoError(t, err)
	caps := s.SegmentCaps(capability.Request(&lpnet.Capabilities{Bitstring: []uint64{1}}, bit), bit)
	require.False(t, capability.Requested(caps, bit), "a stock orchestrator must not get the bit")
	s.Counted(1, 100, 50)
	require.Equal(t, []broadcaster.Gap{{Seq: 1, Reason: "no orchestrator offers archiving"}}, s.Status().Gaps)
}

func receipt(seq int64, status archiverpb.ArchiveReceipt_Status, bytes uint64, fee string) *archiverpb.ArchiveReceipt {
	return &archiverpb.ArchiveReceipt{Seq: seq, Status: status, BytesCharged: bytes, FeeWei: fee}
}

func TestMirror(t *testing.T) {
	s, err := broadcaster.NewSession(offer(3, 1000))
	require.NoError(t, err)
	s.Credit(big.NewRat(100, 1))

	s.Counted(1, 500, 300, 200)
	s.Reply(&archiverpb.ArchiveReceipts{Receipts: []*archiverpb.ArchiveReceipt{
		receipt(1, archiverpb.ArchiveReceipt_ACCEPTED, 1000, "3/1")}, SessionFeeWei: "3/1"})
	require.Equal(t, big.NewRat(97, 1), s.Balance())
	require.Empty(t, s.Status().Disagreements)

	// Overcharged: the receipt claims more bytes than we handled.
	s.Counted(2, 500)
	s.Reply(&archiverpb.ArchiveReceipts{Receipts: []*archiverpb.ArchiveReceipt{
		receipt(2, archiverpb.ArchiveReceipt_ACCEPTED, 600, "9/5")}, SessionFeeWei: "24/5"})
	st := s.Status()
	require.Len(t, st.Disagreements, 2)
	require.Equal(t, []int64{2}, st.Disagreements[0].Seqs)
	require.Equal(t, big.NewRat(3, 2), st.Disagreements[0].Ours) // 500 × 3/1000

	// Refused: a gap, no debit.
	before := s.Balance()
	s.Counted(3, 500)
	s.Reply(&archiverpb.ArchiveReceipts{Receipts: []*archiverpb.ArchiveReceipt{{
		Seq: 3, Status: archiverpb.ArchiveReceipt_REFUSED, Reason: archiverpb.ArchiveReceipt_SPOOL_FULL}}, SessionFeeWei: "24/5"})
	require.Equal(t, before, s.Balance())
	require.Equal(t, int64(3), s.Status().Gaps[0].Seq)

	// A lost reply: the next session total shows the difference, which is
	// flagged against the lost segment and adopted.
	s.Counted(4, 1000)
	s.Lost(4)
	s.Reply(&archiverpb.ArchiveReceipts{SessionFeeWei: "39/5"}) // 24/5 + 3
	st = s.Status()
	last := st.Disagreements[len(st.Disagreements)-1]
	require.Equal(t, []int64{4}, last.Seqs)
	require.Equal(t, big.NewRat(3, 1), last.Theirs)
	require.Equal(t, new(big.Rat).Sub(big.NewRat(100, 1), big.NewRat(39, 5)), s.Balance())
}

func TestBadOffer(t *testing.T) {
	_, err := broadcaster.NewSession(offer(3, 0))
	require.ErrorIs(t, err, broadcaster.ErrBadOffer)
	_, err = broadcaster.NewSession(offer(-1, 10))
	require.ErrorIs(t, err, broadcaster.ErrBadOffer)
}
