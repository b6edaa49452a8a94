package testbed

import (
	"context"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/tickets"
	"github.com/lpswarm/archiver/internal/transcode"
	"github.com/lpswarm/archiver/orchestrator"
)

// core stands in for go-livepeer's core orchestrator: session balances
// credited by PM tickets and debited as core.DebitFees does, and an ffmpeg
// transcoder. It implements orchestrator.Orchestrator and BalanceReader.
type core struct {
	rcp      *tickets.Recipient
	price    *lpnet.PriceInfo // transcode price, wei per pixel
	caps     *lpnet.Capabilities
	profiles []transcode.Profile
	// instant, when set, replaces ffmpeg (OrchestratorConfig.Transcoder).
	instant Transcoder

	mu       sync.Mutex
	balances map[string]*big.Rat
}

var (
	_ orchestrator.Orchestrator  = (*core)(nil)
	_ orchestrator.BalanceReader = (*core)(nil)
)

func balanceKey(a common.Address, id archiver.ManifestID) string {
	return a.Hex() + "/" + string(id)
}

func (c *core) Balance(a common.Address, id archiver.ManifestID) *big.Rat {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.balances[balanceKey(a, id)]; b != nil {
		return new(big.Rat).Set(b)
	}
	return nil
}

func (c *core) add(a common.Address, id archiver.ManifestID, v *big.Rat) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.balances[balanceKey(a, id)]
	if b == nil {
		b = new(big.Rat)
		c.balances[balanceKey(a, id)] = b
	}
	b.Add(b, v)
}

// ProcessPayment validates the tickets (pm.Validator through the
// recipient) and credits their expected value to the session.
func (c *core) ProcessPayment(ctx context.Context, p *lpnet.Payment, id archiver.ManifestID) error {
	ev, err := c.rcp.ReceivePayment(ctx, p)
	if err != nil {
		return err
	}
	c.add(common.BytesToAddress(p.GetSender()), id, ev)
	return nil
}

// SufficientBalance is core's rule: at least one ticket's EV.
func (c *core) SufficientBalance(a common.Address, id archiver.ManifestID) bool {
	b := c.Balance(a, id)
	return b != nil && b.Cmp(c.rcp.EV()) >= 0
}

// DebitFees debits price × units, as core.DebitFees.
func (c *core) DebitFees(a common.Address, id archiver.ManifestID, price *lpnet.PriceInfo, units int64) {
	fee := big.NewRat(price.GetPricePerUnit(), price.GetPixelsPerUnit())
	c.add(a, id, fee.Neg(fee.Mul(fee, big.NewRat(units, 1))))
}

func (c *core) Capabilities() *lpnet.Capabilities { return c.caps }

func (c *core) PriceInfo(common.Address, archiver.ManifestID) (*lpnet.PriceInfo, error) {
	return &lpnet.PriceInfo{PricePerUnit: c.price.GetPricePerUnit(), PixelsPerUnit: c.price.GetPixelsPerUnit()}, nil
}

// TranscodeSeg transcodes with ffmpeg into the testbed's profiles, or
// with the configured Transcoder.
func (c *core) TranscodeSeg(ctx context.Context, md *orchestrator.SegTranscodingMetadata, seg *orchestrator.HLSSegment) (*orchestrator.TranscodeResult, error) {
	if c.instant != nil {
		td, err := c.instant(ctx, md, seg.Data)
		if err != nil {
			return &orchestrator.TranscodeResult{Err: err}, nil
		}
		return &orchestrator.TranscodeResult{TranscodeData: td}, nil
	}
	out, err := transcode.Transcode(ctx, seg.Data, c.profiles)
	if err != nil {
		return &orchestrator.TranscodeResult{Err: err}, nil
	}
	td := &orchestrator.TranscodeData{}
	for _, r := range out {
		td.Segments = append(td.Segments, &orchestrator.TranscodedSegmentData{Data: r.Data, Pixels: r.Pixels})
	}
	return &orchestrator.TranscodeResult{TranscodeData: td}, nil
}
