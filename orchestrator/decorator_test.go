package orchestrator_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/payments"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

var (
	broadcaster = common.HexToAddress("0x00000000000000000000000000000000000000b1")
	session     = archiver.ManifestID("session-1")
	archiveBit  = capability.DefaultArchiveID
)

// 3 wei per 1000 bytes
func price() *lpnet.PriceInfo { return &lpnet.PriceInfo{PricePerUnit: 3, PixelsPerUnit: 1000} }

type fixture struct {
	orch *fakeOrch
	arch *fakeArchiver
	dec  *orchestrator.Decorator
}

func newFixture(t *testing.T, cfg orchestrator.Config) fixture {
	t.Helper()
	f := fixture{orch: newFakeOrch(300, 200), arch: &fakeArchiver{}}
	cfg.CapabilityID = archiveBit
	if cfg.AcceptWait == 0 {
		// These tests read each outcome in its own reply; the default
		// (no wait) is TestDefaultReplyNeverWaits'.
		cfg.AcceptWait = time.Minute
	}
	if cfg.Price == nil {
		cfg.Price = price
	}
	dec, err := orchestrator.New(f.orch, f.orch, f.arch, cfg)
	require.NoError(t, err)
	f.dec = dec
	require.NoError(t, dec.ProcessPayment(context.Background(), &lpnet.Payment{Sender: broadcaster.Bytes()}, session))
	return f
}

func segment(seq int64, archive bool) (*orchestrator.SegTranscodingMetadata, *orchestrator.HLSSegment) {
	caps := &lpnet.Capabilities{Bitstring: []uint64{0b11}}
	if archive {
		caps = capability.Request(caps, archiveBit)
	}
	md := &orchestrator.SegTranscodingMetadata{ManifestID: session, Seq: seq, Caps: caps, Profiles: []string{"360p", "240p"}}
	return md, &orchestrator.HLSSegment{SeqNo: uint64(seq), Data: make([]byte, 500)}
}

func onlyReceipt(t *testing.T, d *orchestrator.Decorator) *archiverpb.ArchiveReceipt {
	t.Helper()
	rs := d.TakeReceipts(session)
	require.Len(t, rs.Receipts, 1)
	return rs.Receipts[0]
}

// TestAdvertisedFromConfiguration: the bit is advertised with no worker
// connected at all (go-livepeer refuses segments whose bits the orchestrator
// does not advertise), and go-livepeer's own capabilities stay as they were.
func TestAdvertisedFromConfiguration(t *testing.T) {
	f := newFixture(t, orchestrator.Config{})
	caps := f.dec.Capabilities()
	require.True(t, capability.Offers(caps, archiveBit))
	require.False(t, capability.Offers(f.orch.caps, archiveBit), "inner capabilities mutated")
	require.Equal(t, f.orch.caps.Bitstring[0], capability.Strip(caps, archiveBit).Bitstring[0])
}

// TestArchiveAcceptedAndCharged: the transcoders never see the bit, the
// result is returned untouched, the archiver gets source and renditions,
// and the fee for every byte is debited once, at acceptance.
func TestArchiveAcceptedAndCharged(t *testing.T) {
	f := newFixture(t, orchestrator.Config{})
	f.orch.credit(broadcaster, session, big.NewRat(10, 1))
	md, seg := segment(4, true)
	res, err := f.dec.TranscodeSeg(context.Background(), md, seg)
	require.NoError(t, err)
	require.Equal(t, []byte("signed hashes"), res.Sig)
	require.Len(t, res.TranscodeData.Segments, 2)

	require.False(t, capability.Requested(f.orch.transcoded[0].Caps, archiveBit), "the transcoder saw the Archive bit")
	require.True(t, capability.Requested(md.Caps, archiveBit), "caller's metadata mutated")

	jobs := f.arch.submitted()
	require.Len(t, jobs, 1)
	require.Equal(t, broadcaster, jobs[0].Sender)
	require.Equal(t, seg.Data, jobs[0].Source)
	require.Equal(t, "360p", jobs[0].Renditions[0].Name)
	require.Equal(t, res.TranscodeData.Segments[1].Data, jobs[0].Renditions[1].Data)

	r := onlyReceipt(t, f.dec)
	require.Equal(t, archiverpb.ArchiveReceipt_ACCEPTED, r.Status)
	require.Equal(t, uint64(1000), r.BytesCharged) // 500 + 300 + 200
	require.Equal(t, "3/1", r.FeeWei)              // 1000 bytes × 3/1000 wei
	require.Equal(t, big.NewRat(7, 1), f.orch.Balance(broadcaster, session))
}

func TestNoBitNoArchive(t *testing.T) {
	f := newFixture(t, orchestrator.Config{})
	f.orch.credit(broadcaster, session, big.NewRat(10, 1))
	md, seg := segment(1, false)
	_, err := f.dec.TranscodeSeg(context.Background(), md, seg)
	require.NoError(t, err)
	require.Empty(t, f.arch.submitted())
	require.Empty(t, f.dec.TakeReceipts(session).Receipts)
	require.Equal(t, big.NewRat(10, 1), f.orch.Balance(broadcaster, session))
}

func TestRefusals(t *testing.T) {
	deny, err := payments.ParsePolicy("", broadcaster.Hex())
	require.NoError(t, err)
	tests := []struct {
		name    string
		cfg     orchestrator.Config
		balance *big.Rat
		outcome error
		status  archiverpb.ArchiveReceipt_Status
		reason  archiverpb.ArchiveReceipt_Reason
		jobs    int
	}{
		{"insufficient balance", orchestrator.Config{}, big.NewRat(2, 1), nil,
			archiverpb.ArchiveReceipt_REFUSED, archiverpb.ArchiveReceipt_INSUFFICIENT_BALANCE, 0},
		{"too large", orchestrator.Config{MaxSegmentBytes: 999}, big.NewRat(10, 1), nil,
			archiverpb.ArchiveReceipt_REFUSED, archiverpb.ArchiveReceipt_TOO_LARGE, 0},
		{"not allowed", orchestrator.Config{Policy: deny}, big.NewRat(10, 1), nil,
			archiverpb.ArchiveReceipt_REFUSED, archiverpb.ArchiveReceipt_NOT_ALLOWED, 0},
		{"deposit below the minimum", orchestrator.Config{MinDeposit: big.NewInt(1000), Deposits: fixedDeposits{broadcaster: big.NewInt(999)}},
			big.NewRat(10, 1), nil, archiverpb.ArchiveReceipt_REFUSED, archiverpb.ArchiveReceipt_INSUFFICIENT_DEPOSIT, 0},
		{"deposit not known", orchestrator.Config{MinDeposit: big.NewInt(1000), Deposits: fixedDeposits{}},
			big.NewRat(10, 1), nil, archiverpb.ArchiveReceipt_REFUSED, archiverpb.ArchiveReceipt_INSUFFICIENT_DEPOSIT, 0},
		{"spool full", orchestrator.Config{}, big.NewRat(10, 1), archiver.ErrSpoolFull,
			archiverpb.ArchiveReceipt_REFUSED, archiverpb.ArchiveReceipt_SPOOL_FULL, 1},
		{"failed", orchestrator.Config{}, big.NewRat(10, 1), errors.New("disk error"),
			archiverpb.ArchiveReceipt_FAILED, archiverpb.ArchiveReceipt_REASON_UNSPECIFIED, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.cfg)
			f.arch.outcome = tc.outcome
			f.orch.credit(broadcaster, session, tc.balance)
			md, seg := segment(2, true)
			res, err := f.dec.TranscodeSeg(context.Background(), md, seg)
			require.NoError(t, err)
			require.NotNil(t, res.TranscodeData, "a refused archive never fails the transcode")
			r := onlyReceipt(t, f.dec)
			require.Equal(t, tc.status, r.Status)
			require.Equal(t, tc.reason, r.Reason)
			require.Zero(t, r.BytesCharged)
			require.Empty(t, r.FeeWei)
			require.Len(t, f.arch.submitted(), tc.jobs)
			require.Equal(t, tc.balance, f.orch.Balance(broadcaster, session), "nothing debited")
			require.Equal(t, "0/1", f.dec.TakeReceipts(session).SessionFeeWei)
		})
	}
}

// fixedDeposits are broadcasters' deposits as read from the chain.
type fixedDeposits map[common.Address]*big.Int

func (d fixedDeposits) Deposit(addr common.Address) (*big.Int, bool) {
	v, ok := d[addr]
	return v, ok
}

// TestMinDepositMet: a deposit at the minimum archives as usual.
func TestMinDepositMet(t *testing.T) {
	f := newFixture(t, orchestrator.Config{MinDeposit: big.NewInt(1000), Deposits: fixedDeposits{broadcaster: big.NewInt(1000)}})
	f.orch.credit(broadcaster, session, big.NewRat(10, 1))
	md, seg := segment(1, true)
	_, err := f.dec.TranscodeSeg(context.Background(), md, seg)
	require.NoError(t, err)
	require.Equal(t, archiverpb.ArchiveReceipt_ACCEPTED, onlyReceipt(t, f.dec).Status)
}

// TestSlowSpoolNeverBlocksTheReply: the reply goes out while the archiver
// has not decided; the outcome and its debit come with a later reply.
// By default the reply does not wait at all; with AcceptWait it waits
// that long at most.
func TestSlowSpoolNeverBlocksTheReply(t *testing.T) {
	for _, wait := range []time.Duration{0, 10 * time.Millisecond} {
		t.Run(fmt.Sprintf("wait=%v", wait), func(t *testing.T) { slowSpool(t, wait) })
	}
}

func slowSpool(t *testing.T, wait time.Duration) {
	f := fixture{orch: newFakeOrch(300, 200), arch: &fakeArchiver{hold: make(chan struct{})}}
	cfg := orchestrator.Config{CapabilityID: archiveBit, Price: price, AcceptWait: wait}
	dec, err := orchestrator.New(f.orch, f.orch, f.arch, cfg)
	require.NoError(t, err)
	f.dec = dec
	require.NoError(t, dec.ProcessPayment(context.Background(), &lpnet.Payment{Sender: broadcaster.Bytes()}, session))
	f.orch.credit(broadcaster, session, big.NewRat(10, 1))
	md, seg := segment(9, true)
	res, err := f.dec.TranscodeSeg(context.Background(), md, seg)
	require.NoError(t, err)
	require.NotNil(t, res)
	r := onlyReceipt(t, f.dec)
	require.Equal(t, archiverpb.ArchiveReceipt_PENDING, r.Status)
	require.Equal(t, big.NewRat(10, 1), f.orch.Balance(broadcaster, session), "no debit before acceptance")

	close(f.arch.hold)
	require.Eventually(t, func() bool {
		return f.orch.Balance(broadcaster, session).Cmp(big.NewRat(7, 1)) == 0
	}, 5*time.Second, time.Millisecond)
	late := onlyReceipt(t, f.dec)
	require.Equal(t, int64(9), late.Seq)
	require.Equal(t, archiverpb.ArchiveReceipt_ACCEPTED, late.Status)
	require.Equal(t, "3/1", late.FeeWei)
}

// TestPricePinnedPerSession: a price change applies to new sessions only.
func TestPricePinnedPerSession(t *testing.T) {
	current := price()
	f := newFixture(t, orchestrator.Config{Price: func() *lpnet.PriceInfo { return current }})
	f.orch.credit(broadcaster, session, big.NewRat(100, 1))
	md, seg := segment(1, true)
	_, err := f.dec.TranscodeSeg(context.Background(), md, seg)
	require.NoError(t, err)
	require.Equal(t, "3/1", onlyReceipt(t, f.dec).FeeWei)

	current = &lpnet.PriceInfo{PricePerUnit: 5, PixelsPerUnit: 1000}
	_, err = f.dec.TranscodeSeg(context.Background(), md, seg)
	require.NoError(t, err)
	require.Equal(t, "3/1", onlyReceipt(t, f.dec).FeeWei, "the running session keeps its price")

	other := archiver.ManifestID("session-2")
	require.NoError(t, f.dec.ProcessPayment(context.Background(), &lpnet.Payment{Sender: broadcaster.Bytes()}, other))
	f.orch.credit(broadcaster, other, big.NewRat(100, 1))
	md2, seg2 := segment(1, true)
	md2.ManifestID = other
	_, err = f.dec.TranscodeSeg(context.Background(), md2, seg2)
	require.NoError(t, err)
	rs := f.dec.TakeReceipts(other)
	require.Equal(t, "5/1", rs.Receipts[0].FeeWei)
	require.Equal(t, int64(5), f.dec.Offer(broadcaster, other).Price.PricePerUnit)
}

// TestConcurrentSegmentsCannotSpendTheSameCredit: the fee is reserved
// while the spool decides.
func TestConcurrentSegmentsCannotSpendTheSameCredit(t *testing.T) {
	f := newFixture(t, orchestrator.Config{AcceptWait: time.Millisecond})
	f.arch.hold = make(chan struct{})
	f.orch.credit(broadcaster, session, big.NewRat(5, 1)) // one 3-wei fee fits, two do not
	for seq := int64(1); seq <= 2; seq++ {
		md, seg := segment(seq, true)
		_, err := f.dec.TranscodeSeg(context.Background(), md, seg)
		require.NoError(t, err)
	}
	rs := f.dec.TakeReceipts(session).Receipts
	require.Len(t, rs, 2)
	require.Equal(t, archiverpb.ArchiveReceipt_PENDING, rs[0].Status)
	require.Equal(t, archiverpb.ArchiveReceipt_INSUFFICIENT_BALANCE, rs[1].Reason)
	close(f.arch.hold)
	require.Eventually(t, func() bool {
		return f.orch.Balance(broadcaster, session).Cmp(big.NewRat(2, 1)) == 0
	}, 5*time.Second, time.Millisecond)
}

// TestFreeArchivingNeedsNoBalance: at price 0 nothing is reserved or
// debited, and a session with no credit at all is still archived.
func TestFreeArchivingNeedsNoBalance(t *testing.T) {
	f := newFixture(t, orchestrator.Config{Price: func() *lpnet.PriceInfo { return &lpnet.PriceInfo{PricePerUnit: 0, PixelsPerUnit: 1} }})
	md, seg := segment(1, true)
	_, err := f.dec.TranscodeSeg(context.Background(), md, seg)
	require.NoError(t, err)
	r := onlyReceipt(t, f.dec)
	require.Equal(t, archiverpb.ArchiveReceipt_ACCEPTED, r.Status)
	require.Equal(t, "0/1", r.FeeWei)
	require.Len(t, f.arch.submitted(), 1)
}

// TestReplyHoldObserved: every archived segment's time in the decorator is
// one sample of the hold histogram, the AcceptWait included; segments that
// do not ask for archiving add nothing.
func TestReplyHoldObserved(t *testing.T) {
	f := newFixture(t, orchestrator.Config{AcceptWait: 20 * time.Millisecond})
	f.arch.hold = make(chan struct{})
	defer close(f.arch.hold)
	f.orch.credit(broadcaster, session, big.NewRat(100, 1))
	for seq, archive := range []bool{true, false, true} {
		md, seg := segment(int64(seq), archive)
		_, err := f.dec.TranscodeSeg(context.Background(), md, seg)
		require.NoError(t, err)
	}
	var m dto.Metric
	require.NoError(t, f.dec.Collector().(prometheus.Histogram).Write(&m))
	require.Equal(t, uint64(2), m.GetHistogram().GetSampleCount())
	require.GreaterOrEqual(t, m.GetHistogram().GetSampleSum(), 2*0.020, "each reply waited AcceptWait for the held spool")
}
