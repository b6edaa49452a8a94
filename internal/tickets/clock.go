package tickets

import (
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/event"
	"github.com/livepeer/go-livepeer/pm"
)

// Clock is a settable pm.TimeManager. go-livepeer feeds these values from
// the RoundsManager contract and an L1 block watcher; here the operator (or
// a test) sets them. Ticket params embed the round, the round's block hash
// and an L1 expiration block, so moving the clock forward is how params
// expire.
type Clock struct {
	mu          sync.RWMutex
	round       int64
	blockHash   common.Hash
	prevHash    common.Hash
	l1Block     int64
	poolSize    int64
	roundFeed   event.Feed
	l1BlockFeed event.Feed
}

var _ pm.TimeManager = (*Clock)(nil)

// NewClock returns a clock at the given round (initialised in the L1 block
// with hash blockHash) and last seen L1 block. The transcoder pool size
// starts at 1, so a sender's whole reserve is allocated to one recipient.
func NewClock(round int64, blockHash common.Hash, l1Block int64) *Clock {
	return &Clock{round: round, blockHash: blockHash, l1Block: l1Block, poolSize: 1}
}

// SetRound initialises a new round. The previous round's hash is kept
// because pm falls back to it when the new hash is zero (an Arbitrum quirk,
// see pm/recipient.go ticketExpirationsParams).
func (c *Clock) SetRound(round int64, blockHash common.Hash) {
	c.mu.Lock()
	c.prevHash = c.blockHash
	c.round, c.blockHash = round, blockHash
	c.mu.Unlock()
	// Sent outside the lock: event.Feed.Send blocks until subscribers read.
	c.roundFeed.Send(types.Log{BlockHash: blockHash})
}

// SetL1Block records the latest L1 block seen. pm's recipient subscribes to
// these to forget nonces of expired params.
func (c *Clock) SetL1Block(n int64) {
	c.mu.Lock()
	c.l1Block = n
	c.mu.Unlock()
	c.l1BlockFeed.Send(big.NewInt(n))
}

// SetPoolSize sets the active transcoder pool size, which divides a
// sender's reserve between recipients.
func (c *Clock) SetPoolSize(n int64) {
	c.mu.Lock()
	c.poolSize = n
	c.mu.Unlock()
}

// LastInitializedRound implements pm.TimeManager.
func (c *Clock) LastInitializedRound() *big.Int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return big.NewInt(c.round)
}

// LastInitializedL1BlockHash implements pm.TimeManager.
func (c *Clock) LastInitializedL1BlockHash() [32]byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.blockHash
}

// PreLastInitializedL1BlockHash implements pm.TimeManager.
func (c *Clock) PreLastInitializedL1BlockHash() [32]byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.prevHash
}

// GetTranscoderPoolSize implements pm.TimeManager.
func (c *Clock) GetTranscoderPoolSize() *big.Int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return big.NewInt(c.poolSize)
}

// LastSeenL1Block implements pm.TimeManager.
func (c *Clock) LastSeenL1Block() *big.Int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return big.NewInt(c.l1Block)
}

// SubscribeRounds implements pm.TimeManager.
func (c *Clock) SubscribeRounds(sink chan<- types.Log) event.Subscription {
	return c.roundFeed.Subscribe(sink)
}

// SubscribeL1Blocks implements pm.TimeManager.
func (c *Clock) SubscribeL1Blocks(sink chan<- *big.Int) event.Subscription {
	return c.l1BlockFeed.Subscribe(sink)
}

// GasPriceFeed is a settable pm.GasPriceMonitor. pm's recipient derives the
// ticket face value from it: faceValue = RedeemGas × gasPrice ×
// TxCostMultiplier, so a winning ticket pays for its own redemption.
type GasPriceFeed struct {
	mu  sync.RWMutex
	wei *big.Int
}

var _ pm.GasPriceMonitor = (*GasPriceFeed)(nil)

// NewGasPriceFeed returns a feed reporting wei per gas.
func NewGasPriceFeed(wei *big.Int) *GasPriceFeed {
	g := &GasPriceFeed{}
	g.Set(wei)
	return g
}

// Set changes the reported gas price; nil means unknown (pm then uses 0).
func (g *GasPriceFeed) Set(wei *big.Int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.wei = copyInt(wei)
}

// GasPrice implements pm.GasPriceMonitor.
func (g *GasPriceFeed) GasPrice() *big.Int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return copyInt(g.wei)
}

// copyInt guards shared state against callers mutating returned values.
func copyInt(x *big.Int) *big.Int {
	if x == nil {
		return nil
	}
	return new(big.Int).Set(x)
}
