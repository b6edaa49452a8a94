package rig

import (
	"context"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/testbed"
	"github.com/lpswarm/archiver/internal/transcode"
	"github.com/lpswarm/archiver/orchestrator"
)

// TicketEV is what Core credits a session for each payment: one ticket's
// expected value, in wei.
const TicketEV = 1_000_000

// Core stands in for go-livepeer's core behind the decorator, without
// tickets: every payment credits its session TicketEV, fees are debited
// from the session's balance, the transcode price is 1 wei per pixel, and
// the transcoder makes the renditions.
type Core struct {
	transcode testbed.Transcoder

	mu       sync.Mutex
	balances map[coreKey]*big.Rat
}

type coreKey struct {
	sender  common.Address
	session archiver.ManifestID
}

var (
	_ orchestrator.Orchestrator  = (*Core)(nil)
	_ orchestrator.BalanceReader = (*Core)(nil)
)

// NewCore is a core with no balances that transcodes with t, or with
// ffmpeg into 360p and 240p when t is nil.
func NewCore(t testbed.Transcoder) *Core {
	if t == nil {
		t = ffmpeg
	}
	return &Core{transcode: t, balances: map[coreKey]*big.Rat{}}
}

func (c *Core) add(a common.Address, id archiver.ManifestID, v *big.Rat) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.balances[coreKey{a, id}]
	if b == nil {
		b = new(big.Rat)
		c.balances[coreKey{a, id}] = b
	}
	b.Add(b, v)
}

// Forget drops a session's balance, as go-livepeer's TTL does.
func (c *Core) Forget(a common.Address, id archiver.ManifestID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.balances, coreKey{a, id})
}

// Balance is the session's balance; nil if it has none.
func (c *Core) Balance(a common.Address, id archiver.ManifestID) *big.Rat {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.balances[coreKey{a, id}]; b != nil {
		return new(big.Rat).Set(b)
	}
	return nil
}

// ProcessPayment credits the session one ticket's expected value.
func (c *Core) ProcessPayment(_ context.Context, p *lpnet.Payment, id archiver.ManifestID) error {
	c.add(common.BytesToAddress(p.GetSender()), id, big.NewRat(TicketEV, 1))
	return nil
}

// SufficientBalance holds for any credit.
func (c *Core) SufficientBalance(a common.Address, id archiver.ManifestID) bool {
	b := c.Balance(a, id)
	return b != nil && b.Sign() > 0
}

// DebitFees debits as go-livepeer's core does, except that a late debit
// (an outcome that arrived after the session ended) does not bring a
// forgotten balance back: go-livepeer's would, until its TTL; here it
// would only blur a heap figure.
func (c *Core) DebitFees(a common.Address, id archiver.ManifestID, price *lpnet.PriceInfo, units int64) {
	fee := big.NewRat(price.GetPricePerUnit(), price.GetPixelsPerUnit())
	fee.Neg(fee.Mul(fee, big.NewRat(units, 1)))
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.balances[coreKey{a, id}]; b != nil {
		b.Add(b, fee)
	}
}

// Capabilities are go-livepeer's first four.
func (c *Core) Capabilities() *lpnet.Capabilities {
	return &lpnet.Capabilities{Bitstring: []uint64{0b1111}}
}

// PriceInfo is the transcode price: 1 wei per pixel.
func (c *Core) PriceInfo(common.Address, archiver.ManifestID) (*lpnet.PriceInfo, error) {
	return &lpnet.PriceInfo{PricePerUnit: 1, PixelsPerUnit: 1}, nil
}

// TranscodeSeg makes the renditions with the core's transcoder.
func (c *Core) TranscodeSeg(ctx context.Context, md *orchestrator.SegTranscodingMetadata, seg *orchestrator.HLSSegment) (*orchestrator.TranscodeResult, error) {
	td, err := c.transcode(ctx, md, seg.Data)
	if err != nil {
		return &orchestrator.TranscodeResult{Err: err}, nil
	}
	return &orchestrator.TranscodeResult{TranscodeData: td}, nil
}

// ffmpeg transcodes into 360p and 240p, as the testbed's orchestrator.
func ffmpeg(ctx context.Context, _ *orchestrator.SegTranscodingMetadata, source []byte) (*orchestrator.TranscodeData, error) {
	out, err := transcode.Transcode(ctx, source, []transcode.Profile{transcode.P360p(), transcode.P240p()})
	if err != nil {
		return nil, err
	}
	td := &orchestrator.TranscodeData{}
	for _, r := range out {
		td.Segments = append(td.Segments, &orchestrator.TranscodedSegmentData{Data: r.Data, Pixels: r.Pixels})
		td.Pixels += r.Pixels
	}
	return td, nil
}
