package integration_test

import (
	"context"
	"errors"
	"math/big"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/broadcaster"
	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/internal/tickets"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// simCore stands in for go-livepeer's core orchestrator (not buildable
// here): session balances credited by real PM tickets through
// tickets.Recipient and debited as core.DebitFees does, and a transcoder
// whose renditions have sizes the broadcaster cannot predict.
type simCore struct {
	rcp *tickets.Recipient
	rng *rand.Rand

	mu       sync.Mutex
	balances map[string]*big.Rat
}

func (c *simCore) key(a common.Address, id archiver.ManifestID) string {
	return a.Hex() + string(id)
}

func (c *simCore) Balance(a common.Address, id archiver.ManifestID) *big.Rat {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.balances[c.key(a, id)]; b != nil {
		return new(big.Rat).Set(b)
	}
	return nil
}

func (c *simCore) add(a common.Address, id archiver.ManifestID, v *big.Rat) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.balances[c.key(a, id)]
	if b == nil {
		b = new(big.Rat)
		c.balances[c.key(a, id)] = b
	}
	b.Add(b, v)
}

func (c *simCore) ProcessPayment(ctx context.Context, p *lpnet.Payment, id archiver.ManifestID) error {
	ev, err := c.rcp.ReceivePayment(ctx, p)
	if err != nil {
		return err
	}
	c.add(common.BytesToAddress(p.Sender), id, ev)
	return nil
}

func (c *simCore) DebitFees(a common.Address, id archiver.ManifestID, price *lpnet.PriceInfo, units int64) {
	fee := big.NewRat(price.PricePerUnit, price.PixelsPerUnit)
	c.add(a, id, fee.Neg(fee.Mul(fee, big.NewRat(units, 1))))
}

func (c *simCore) TranscodeSeg(_ context.Context, _ *orchestrator.SegTranscodingMetadata, seg *orchestrator.HLSSegment) (*orchestrator.TranscodeResult, error) {
	c.mu.Lock()
	a, b := c.rng.IntN(len(seg.Data)/2+1), c.rng.IntN(len(seg.Data)/4+1)
	c.mu.Unlock()
	return &orchestrator.TranscodeResult{TranscodeData: &orchestrator.TranscodeData{Segments: []*orchestrator.TranscodedSegmentData{
		{Data: make([]byte, a+1)}, {Data: make([]byte, b+1)},
	}}}, nil
}

func (c *simCore) Capabilities() *lpnet.Capabilities {
	return &lpnet.Capabilities{Bitstring: []uint64{1}}
}
func (c *simCore) PriceInfo(common.Address, archiver.ManifestID) (*lpnet.PriceInfo, error) {
	return &lpnet.PriceInfo{PricePerUnit: 0, PixelsPerUnit: 1}, nil
}
func (c *simCore) SufficientBalance(a common.Address, id archiver.ManifestID) bool {
	b := c.Balance(a, id)
	return b != nil && b.Cmp(c.rcp.EV()) >= 0
}

// simSpool accepts most jobs, refuses some as full and fails some.
type simSpool struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func (s *simSpool) Submit(archiver.Job) <-chan archiver.Outcome {
	s.mu.Lock()
	roll := s.rng.IntN(100)
	s.mu.Unlock()
	ch := make(chan archiver.Outcome, 1)
	switch {
	case roll < 5:
		ch <- archiver.Outcome{Err: archiver.ErrSpoolFull}
	case roll < 8:
		ch <- archiver.Outcome{Err: errors.New("disk write failed")}
	default:
		ch <- archiver.Outcome{}
	}
	return ch
}

// TestChargingSimulation runs 1000 segments in 4 sessions with random
// sizes. The broadcaster pays with real PM tickets and mirrors archive fees
// from the bytes it sent and downloaded; the orchestrator debits from the
// bytes the decorator handled. Injected: starved payments (insufficient
// balance), full and failing spools, a price change between sessions, and
// lost replies. After every segment the balances agree to the wei, except
// right after a lost reply, which the broadcaster flags against exactly
// that segment and settles with the next reply.
func TestChargingSimulation(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(42, 1))
	clock := tickets.NewClock(100, common.HexToHash("0xabc1"), 1000)
	bkey, err := crypto.GenerateKey()
	require.NoError(t, err)
	baddr := crypto.PubkeyToAddress(bkey.PublicKey)
	oaddr := common.HexToAddress("0x0a")
	funds := tickets.NewFunds(oaddr, clock)
	ether := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	funds.SetAccount(baddr, tickets.Account{Deposit: new(big.Int).Mul(ether, big.NewInt(10)), Reserve: new(big.Int).Mul(ether, big.NewInt(10))})
	rcp, err := tickets.NewRecipient(tickets.RecipientConfig{Address: oaddr, Secret: [32]byte{7}, EV: big.NewInt(1_000_000_000_000),
		RedeemGas: 100_000, TxCostMultiplier: 100}, funds, clock, tickets.NewGasPriceFeed(big.NewInt(1_000_000_000)))
	require.NoError(t, err)
	sender, err := tickets.NewSender(bkey, clock, funds, tickets.SenderConfig{MaxEV: big.NewRat(1e13, 1), MaxTotalEV: big.NewRat(1e16, 1), DepositMultiplier: 1})
	require.NoError(t, err)

	core := &simCore{rcp: rcp, rng: rand.New(rand.NewPCG(7, 7)), balances: map[string]*big.Rat{}}
	price := &lpnet.PriceInfo{PricePerUnit: 20_000_000, PixelsPerUnit: 7}
	dec, err := orchestrator.New(core, core, &simSpool{rng: rand.New(rand.NewPCG(9, 9))}, orchestrator.Config{
		CapabilityID: capability.DefaultArchiveID, Price: func() *lpnet.PriceInfo { return price }, MaxSegmentBytes: 1 << 20,
	})
	require.NoError(t, err)

	seen := map[archiverpb.ArchiveReceipt_Reason]int{}
	var lostCharged, lostFlagged []int64 // lost replies whose segment was charged; flagged ones
	for sessionNo := range 4 {
		if sessionNo == 2 {
			price = &lpnet.PriceInfo{PricePerUnit: 31_000_000, PixelsPerUnit: 9} // applies to new sessions
		}
		id := archiver.ManifestID("session-" + string(rune('a'+sessionNo)))
		// The transcode price only sizes the tickets here: the simulation
		// charges archiving alone (transcode debits are go-livepeer's, unchanged).
		transcodePrice := &lpnet.PriceInfo{PricePerUnit: 1, PixelsPerUnit: 1}
		params, err := rcp.TicketParams(baddr, transcodePrice)
		require.NoError(t, err)
		payID, err := sender.StartSession(params, transcodePrice)
		require.NoError(t, err)
		ticketEV, err := sender.EV(payID)
		require.NoError(t, err)
		mirror, err := broadcaster.NewSession(dec.Offer(baddr, id))
		require.NoError(t, err)

		for seq := int64(0); seq < 250; seq++ {
			source := make([]byte, 1000+rng.IntN(200_000))
			// Pay enough for this segment's worst case, except when starved.
			if rng.IntN(100) >= 8 {
				worst := new(big.Rat).Mul(big.NewRat(price.PricePerUnit, price.PixelsPerUnit), big.NewRat(int64(len(source))*2, 1))
				if need := new(big.Rat).Sub(worst, mirror.Balance()); need.Sign() > 0 {
					n := tickets.TicketsFor(need, params)
					payment, err := sender.Pay(payID, n)
					require.NoError(t, err)
					require.NoError(t, dec.ProcessPayment(ctx, payment, id))
					mirror.Credit(new(big.Rat).Mul(ticketEV, big.NewRat(int64(n), 1)))
				}
			}
			md := &orchestrator.SegTranscodingMetadata{ManifestID: id, Seq: seq, Profiles: []string{"360p", "240p"},
				Caps: mirror.SegmentCaps(&lpnet.Capabilities{Bitstring: []uint64{1}}, capability.DefaultArchiveID)}
			res, err := dec.TranscodeSeg(ctx, md, &orchestrator.HLSSegment{SeqNo: uint64(seq), Data: source})
			require.NoError(t, err)
			reply := dec.TakeReceipts(id)
			for _, r := range reply.Receipts {
				seen[r.Reason]++
			}

			if seq%97 == 13 && seq != 249 { // the reply never reaches the broadcaster
				mirror.Lost(seq)
				if slices.ContainsFunc(reply.Receipts, func(r *archiverpb.ArchiveReceipt) bool {
					return r.Status == archiverpb.ArchiveReceipt_ACCEPTED
				}) {
					lostCharged = append(lostCharged, seq+int64(sessionNo)*1000)
				}
				continue
			}
			var renditions []int
			for _, s := range res.TranscodeData.Segments {
				renditions = append(renditions, len(s.Data)) // what the broadcaster downloaded
			}
			mirror.Counted(seq, len(source), renditions...)
			mirror.Reply(reply)
			orchBalance := core.Balance(baddr, id)
			if orchBalance == nil {
				orchBalance = new(big.Rat)
			}
			require.Equal(t, orchBalance.RatString(), mirror.Balance().RatString(),
				"session %d seq %d: balances disagree", sessionNo, seq)
		}
		st := mirror.Status()
		for _, d := range st.Disagreements {
			require.Len(t, d.Seqs, 1, "a disagreement not caused by a lost reply: %+v", d)
			lostFlagged = append(lostFlagged, d.Seqs[0]+int64(sessionNo)*1000)
		}
		require.NotEmpty(t, st.Archived)
		dec.EndSession(baddr, id)
	}
	// Exactly the lost replies of charged segments are flagged, each
	// against its own segment.
	require.Equal(t, lostCharged, lostFlagged)
	require.GreaterOrEqual(t, len(lostFlagged), 8)
	require.Positive(t, seen[archiverpb.ArchiveReceipt_INSUFFICIENT_BALANCE], "no starved segment was refused")
	require.Positive(t, seen[archiverpb.ArchiveReceipt_SPOOL_FULL])
}
