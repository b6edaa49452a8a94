package onchain_test

import (
	"context"
	"crypto/ecdsa"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	beeconfig "github.com/ethersphere/bee/v2/pkg/config"
	sabi "github.com/ethersphere/go-storage-incentives-abi/abi"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver/internal/chaintest"
	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/postage/onchain"
)

// The production defaults are Bee's own.
func TestGnosisDefaultsAreBees(t *testing.T) {
	require.Equal(t, beeconfig.Mainnet.PostageStampAddress, common.HexToAddress(onchain.GnosisPostageStampAddress))
	require.EqualValues(t, beeconfig.Mainnet.ChainID, onchain.GnosisChainID)
	require.EqualValues(t, 100, onchain.GnosisChainID)
}

// Test amounts, PLUR per chunk. The contract's minimum is 17280 blocks ×
// 24000 = 414,720,000; the dev chain makes a block a second.
var (
	buyAmount   = big.NewInt(1_000_000_000)
	topUpAmount = big.NewInt(500_000_000)
	oneETH      = big.NewInt(1e18)
	tenBZZ      = new(big.Int).Mul(big.NewInt(10), big.NewInt(1e16))
)

// chainEnv is a local chain with the contracts and a funded operator key.
type chainEnv struct {
	net    *chaintest.Net
	eth    *ethclient.Client
	ps     *contractReader
	key    *ecdsa.PrivateKey
	owner  common.Address
	client *onchain.Client
}

func startChain(t *testing.T, ctx context.Context) *chainEnv {
	t.Helper()
	began := time.Now()
	net, err := chaintest.StartChain(ctx, chaintest.Options{Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, net.Close()) })
	t.Logf("chain up in %s", time.Since(began).Round(time.Millisecond))
	eth, err := ethclient.DialContext(ctx, net.RPCURL())
	require.NoError(t, err)
	t.Cleanup(eth.Close)
	e := &chainEnv{net: net, eth: eth, ps: newReader(t, eth, net.Contracts().PostageStamp)}
	e.key, e.owner = fundedKey(t, ctx, net, oneETH, tenBZZ)
	e.client = newClient(t, ctx, net, e.key)
	return e
}

func fundedKey(t *testing.T, ctx context.Context, net *chaintest.Net, wei, plur *big.Int) (*ecdsa.PrivateKey, common.Address) {
	t.Helper()
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	addr := crypto.PubkeyToAddress(key.PublicKey)
	require.NoError(t, net.Fund(ctx, addr, wei, plur))
	return key, addr
}

func newClient(t *testing.T, ctx context.Context, net *chaintest.Net, key *ecdsa.PrivateKey) *onchain.Client {
	t.Helper()
	c, err := onchain.New(ctx, net.RPCURL(), net.Contracts().PostageStamp, key,
		onchain.Options{ChainID: big.NewInt(1337), BlockTime: time.Second, PollInterval: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// contractReader reads PostageStamp at a given block, independently of
// the code under test.
type contractReader struct {
	abi   abi.ABI
	bound *bind.BoundContract
}

func newReader(t *testing.T, eth *ethclient.Client, addr common.Address) *contractReader {
	a, err := abi.JSON(strings.NewReader(sabi.TestnetPostageStampABI))
	require.NoError(t, err)
	return &contractReader{abi: a, bound: bind.NewBoundContract(addr, a, eth, eth, eth)}
}

func (r *contractReader) bigAt(t *testing.T, ctx context.Context, block uint64, method string, args ...any) *big.Int {
	t.Helper()
	var res []any
	require.NoError(t, r.bound.Call(&bind.CallOpts{Context: ctx, BlockNumber: new(big.Int).SetUint64(block)}, &res, method, args...))
	require.Len(t, res, 1)
	return res[0].(*big.Int)
}

func (e *chainEnv) bzz(t *testing.T, ctx context.Context, addr common.Address) *big.Int {
	t.Helper()
	_, plur, err := e.client.Balances(ctx, addr)
	require.NoError(t, err)
	return plur
}

// TestBuyTopUpDilute buys a mutable batch with the operator's key, tops it
// up and dilutes it, and checks every figure against the contract read at
// the blocks the transactions were mined in.
func TestBuyTopUpDilute(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	e := startChain(t, ctx)
	began := time.Now()

	bzzBefore := e.bzz(t, ctx, e.owner)
	id, txs, err := e.client.Buy(ctx, 17, buyAmount, false)
	require.NoError(t, err)
	require.Len(t, txs, 2)
	require.Equal(t, []string{"approve", "createBatch"}, []string{txs[0].Label, txs[1].Label})
	created := txs[1].Block
	t.Logf("gas used by approve %d, createBatch %d", txs[0].GasUsed, txs[1].GasUsed)
	t.Logf("bought in %s", time.Since(began).Round(time.Millisecond))

	owner, err := e.net.BatchOwner(ctx, id)
	require.NoError(t, err)
	require.Equal(t, e.owner, owner, "owner on the contract")
	b, err := e.client.Batch(ctx, id)
	require.NoError(t, err)
	require.Equal(t, e.owner, b.Owner)
	require.Equal(t, uint8(17), b.Depth)
	require.Equal(t, uint8(16), b.BucketDepth)
	require.False(t, b.Immutable)
	require.Equal(t, created, b.LastUpdatedBlock)
	// normalisedBalance = currentTotalOutPayment at creation + amount.
	require.Equal(t, new(big.Int).Add(e.ps.bigAt(t, ctx, created, "currentTotalOutPayment"), buyAmount), b.NormalisedBalance)
	require.Equal(t, new(big.Int).Sub(b.NormalisedBalance, e.ps.bigAt(t, ctx, b.Block, "currentTotalOutPayment")), b.RemainingBalance)
	require.Equal(t, big.NewInt(24000), b.Price)
	ttlNS := new(big.Int).Quo(new(big.Int).Mul(b.RemainingBalance, big.NewInt(int64(time.Second))), big.NewInt(24000))
	require.Equal(t, time.Duration(ttlNS.Int64()), b.TTL, "remaining × 1 s block time / price")
	require.Equal(t, new(big.Int).Lsh(buyAmount, 17), new(big.Int).Sub(bzzBefore, e.bzz(t, ctx, e.owner)),
		"the batch cost exactly amount × 2^17")

	// Top up: the normalised balance grows by exactly the amount.
	bzzBefore = e.bzz(t, ctx, e.owner)
	txs, err = e.client.TopUp(ctx, id, topUpAmount)
	require.NoError(t, err)
	require.Equal(t, []string{"approve", "topUp"}, []string{txs[0].Label, txs[1].Label})
	at := txs[1].Block
	t.Logf("gas used by topUp %d", txs[1].GasUsed)
	before := e.ps.bigAt(t, ctx, at-1, "batchNormalisedBalance", id)
	after := e.ps.bigAt(t, ctx, at, "batchNormalisedBalance", id)
	require.Equal(t, new(big.Int).Add(before, topUpAmount), after)
	require.Equal(t, new(big.Int).Lsh(topUpAmount, 17), new(big.Int).Sub(bzzBefore, e.bzz(t, ctx, e.owner)))

	// Dilute 17 → 18: twice the chunks, the remaining balance halved.
	bzzBefore = e.bzz(t, ctx, e.owner)
	txs, err = e.client.Dilute(ctx, id, 18)
	require.NoError(t, err)
	require.Len(t, txs, 1)
	require.Equal(t, "increaseDepth", txs[0].Label)
	at = txs[0].Block
	b, err = e.client.Batch(ctx, id)
	require.NoError(t, err)
	require.Equal(t, uint8(18), b.Depth)
	require.Equal(t, at, b.LastUpdatedBlock)
	paid := e.ps.bigAt(t, ctx, at, "currentTotalOutPayment")
	remaining := new(big.Int).Sub(e.ps.bigAt(t, ctx, at-1, "batchNormalisedBalance", id), paid)
	require.Equal(t, new(big.Int).Add(paid, new(big.Int).Rsh(remaining, 1)), e.ps.bigAt(t, ctx, at, "batchNormalisedBalance", id))
	require.Equal(t, bzzBefore, e.bzz(t, ctx, e.owner), "dilution costs no BZZ")
	require.Equal(t, uint8(18), b.Postage().Depth)
	t.Logf("buy, top up and dilute in %s", time.Since(began).Round(time.Millisecond))
	t.Logf("gas used by increaseDepth: %d", txs[0].GasUsed)
}

// TestRefusals: every operation the contract would refuse, or that is
// almost surely a mistake, fails with its sentinel error and sends nothing
// (the key's nonce and BZZ balance stay as they were).
func TestRefusals(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	e := startChain(t, ctx)

	// Independent keys go at once: one block for all of them.
	var mutable, immutable, foreign [32]byte
	var noBZZKey, noETHKey *ecdsa.PrivateKey
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		if mutable, _, err = e.client.Buy(gctx, 17, buyAmount, false); err != nil {
			return err
		}
		immutable, _, err = e.client.Buy(gctx, 17, buyAmount, true)
		return err
	})
	g.Go(func() (err error) {
		otherKey, _ := fundedKey(t, gctx, e.net, oneETH, tenBZZ)
		foreign, _, err = newClient(t, gctx, e.net, otherKey).Buy(gctx, 17, buyAmount, false)
		return err
	})
	g.Go(func() error { noBZZKey, _ = fundedKey(t, gctx, e.net, oneETH, nil); return nil })
	g.Go(func() error { noETHKey, _ = fundedKey(t, gctx, e.net, nil, tenBZZ); return nil })
	require.NoError(t, g.Wait())
	minimum, err := e.client.MinimumAmount(ctx)
	require.NoError(t, err)
	require.Equal(t, big.NewInt(17280*24000), minimum)

	readOnly := newClient(t, ctx, e.net, nil)

	tests := []struct {
		name   string
		client *onchain.Client
		op     func(c *onchain.Client) error
		want   error
		msg    string
	}{
		{"dilute an immutable batch", e.client, func(c *onchain.Client) error { _, err := c.Dilute(ctx, immutable, 18); return err },
			onchain.ErrImmutable, "bought immutable"},
		{"dilute another key's batch", e.client, func(c *onchain.Client) error { _, err := c.Dilute(ctx, foreign, 18); return err },
			onchain.ErrNotOwner, "only the owner"},
		{"top up another key's batch", e.client, func(c *onchain.Client) error { _, err := c.TopUp(ctx, foreign, topUpAmount); return err },
			onchain.ErrNotOwner, "belongs to"},
		{"dilute to the same depth", e.client, func(c *onchain.Client) error { _, err := c.Dilute(ctx, mutable, 17); return err },
			onchain.ErrInvalidDepth, "must exceed the batch's depth 17"},
		{"dilute below the minimum balance", e.client, func(c *onchain.Client) error { _, err := c.Dilute(ctx, mutable, 19); return err },
			onchain.ErrAmountTooLow, "top up first"},
		{"top up a batch that does not exist", e.client, func(c *onchain.Client) error {
			_, err := c.TopUp(ctx, [32]byte{1}, topUpAmount)
			return err
		}, onchain.ErrNoBatch, ""},
		{"buy at the bucket depth", e.client, func(c *onchain.Client) error { _, _, err := c.Buy(ctx, 16, buyAmount, false); return err },
			onchain.ErrInvalidDepth, "must exceed the bucket depth 16"},
		{"buy at the minimum amount", e.client, func(c *onchain.Client) error { _, _, err := c.Buy(ctx, 17, minimum, false); return err },
			onchain.ErrAmountTooLow, "must exceed 414720000"},
		{"buy without BZZ", newClient(t, ctx, e.net, noBZZKey), func(c *onchain.Client) error {
			_, _, err := c.Buy(ctx, 17, buyAmount, false)
			return err
		}, onchain.ErrInsufficientBZZ, "holds 0 PLUR (0 xBZZ), the operation costs 131072000000000 PLUR"},
		{"buy without gas money", newClient(t, ctx, e.net, noETHKey), func(c *onchain.Client) error {
			_, _, err := c.Buy(ctx, 17, buyAmount, false)
			return err
		}, onchain.ErrInsufficientETH, "holds 0 wei"},
		{"buy without a key", readOnly, func(c *onchain.Client) error { _, _, err := c.Buy(ctx, 17, buyAmount, false); return err },
			onchain.ErrNoKey, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := tt.client.Owner()
			nonce, err := e.eth.NonceAt(ctx, from, nil)
			require.NoError(t, err)
			bzz := e.bzz(t, ctx, from)
			err = tt.op(tt.client)
			require.ErrorIs(t, err, tt.want)
			require.ErrorContains(t, err, tt.msg)
			after, err := e.eth.PendingNonceAt(ctx, from)
			require.NoError(t, err)
			require.Equal(t, nonce, after, "a transaction was sent")
			require.Equal(t, bzz, e.bzz(t, ctx, from))
		})
	}

	// Paying for another key's batch on purpose works, and the batch
	// stays its owner's.
	b, err := e.client.Batch(ctx, foreign)
	require.NoError(t, err)
	_, err = e.client.TopUpAnyOwner(ctx, foreign, topUpAmount)
	require.NoError(t, err)
	after, err := e.client.Batch(ctx, foreign)
	require.NoError(t, err)
	require.Equal(t, new(big.Int).Add(b.NormalisedBalance, topUpAmount), after.NormalisedBalance)
	require.Equal(t, b.Owner, after.Owner)
}

// TestNewChecksTheChain: a client refuses an endpoint on another chain and
// an address without a contract.
func TestNewChecksTheChain(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	net, err := chaintest.StartChain(ctx, chaintest.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, net.Close()) })
	ps := net.Contracts().PostageStamp

	_, err = onchain.New(ctx, net.RPCURL(), ps, nil, onchain.Options{ChainID: big.NewInt(onchain.GnosisChainID)})
	require.ErrorIs(t, err, onchain.ErrWrongChain)
	require.ErrorContains(t, err, "serves chain 1337, want 100")
	_, err = onchain.New(ctx, net.RPCURL(), common.HexToAddress(onchain.GnosisPostageStampAddress), nil, onchain.Options{})
	require.ErrorIs(t, err, onchain.ErrNoContract)

	c, err := onchain.New(ctx, net.RPCURL(), ps, nil, onchain.Options{ChainID: big.NewInt(1337)})
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, net.Contracts().Token, c.Token(), "token read from PostageStamp.bzzToken")
	require.Equal(t, postage.GnosisBlockTime, c.BlockTime())
	price, err := c.Price(ctx)
	require.NoError(t, err)
	require.Equal(t, big.NewInt(24000), price)
	_, err = c.Batch(ctx, [32]byte{7})
	require.ErrorIs(t, err, onchain.ErrNoBatch)
}
