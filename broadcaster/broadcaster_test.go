package broadcaster_test

import (
	"math/big"
	"testing"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/broadcaster"
	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/proto/archiverpb"
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

// TestSettle: the last segments' outcomes, which no reply carried, are
// taken from the orchestrator's archive status: debited once, at the
// pinned price on the broadcaster's own count, only when every file is
// archived.
func TestSettle(t *testing.T) {
	file := func(seq int64, rendition, state string, bytes uint64) *archiverpb.SegmentStatus {
		return &archiverpb.SegmentStatus{Seq: seq, Rendition: rendition, State: state, Bytes: bytes}
	}
	all := func(seq int64, state string) []*archiverpb.SegmentStatus {
		return []*archiverpb.SegmentStatus{file(seq, "source", "archived", 500), file(seq, "360p", state, 300), file(seq, "240p", "archived", 200)}
	}
	for _, tc := range []struct {
		name     string
		status   []*archiverpb.SegmentStatus
		archived []int64
		pending  []int64
		balance  *big.Rat
		flagged  int
	}{
		{"every file archived", all(2, "archived"), []int64{1, 2}, nil, big.NewRat(94, 1), 0},
		{"a file still pending", all(2, "pending"), []int64{1}, []int64{2}, big.NewRat(97, 1), 0},
		{"a file is a gap", all(2, "gap"), []int64{1}, []int64{2}, big.NewRat(97, 1), 0},
		{"a file missing", all(2, "archived")[:2], []int64{1}, []int64{2}, big.NewRat(97, 1), 0},
		{"bytes differ: flagged, debited on ours", append(all(2, "archived")[:2], file(2, "240p", "archived", 999)), []int64{1, 2}, nil, big.NewRat(94, 1), 1},
		{"segment 1 already settled by its receipt", append(all(1, "archived"), all(2, "archived")...), []int64{1, 2}, nil, big.NewRat(94, 1), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := broadcaster.NewSession(offer(3, 1000))
			require.NoError(t, err)
			s.Credit(big.NewRat(100, 1))
			s.Counted(1, 500, 300, 200)
			s.Counted(2, 500, 300, 200)
			// Segment 2's reply said PENDING; segment 1's outcome came with it.
			s.Reply(&archiverpb.ArchiveReceipts{Receipts: []*archiverpb.ArchiveReceipt{
				receipt(1, archiverpb.ArchiveReceipt_ACCEPTED, 1000, "3/1"),
				{Seq: 2, Status: archiverpb.ArchiveReceipt_PENDING}}, SessionFeeWei: "3/1"})
			require.Equal(t, []int64{2}, s.Status().Pending)

			st := &archiverpb.ArchiveStatus{Segments: tc.status}
			s.Settle(st)
			s.Settle(st) // twice: no double debit
			got := s.Status()
			require.Equal(t, tc.archived, got.Archived)
			require.Equal(t, tc.pending, got.Pending)
			require.Equal(t, tc.balance, s.Balance())
			require.Len(t, got.Disagreements, tc.flagged)
		})
	}
}
