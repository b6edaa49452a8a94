package watch_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/chaintest"
	"github.com/lpswarm/archiver/postage/onchain"
	"github.com/lpswarm/archiver/postage/watch"
)

// TestWatchTopsUpAKeyOwnedBatch: for a batch the operator's key owns, the
// watcher reads the contract and tops up from the key's own BZZ. The key
// pays exactly 2^depth × the amount, the batch's balance grows by exactly
// the amount, the cap stops a second top-up, and a top-up refused before
// sending (another key's batch) costs the cap nothing.
func TestWatchTopsUpAKeyOwnedBatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	net, err := chaintest.StartChain(ctx, chaintest.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = net.Close() })
	owner, stranger := fundedClient(t, ctx, net), fundedClient(t, ctx, net)

	const depth = 17
	id, _, err := owner.Buy(ctx, depth, big.NewInt(1_000_000_000), false)
	require.NoError(t, err)
	hexID := hex.EncodeToString(id[:])
	before, err := owner.Batch(ctx, id)
	require.NoError(t, err)
	_, bzzBefore, err := owner.Balances(ctx, owner.Owner())
	require.NoError(t, err)

	// A day of one-second blocks at the contract's price.
	amount := new(big.Int).Mul(big.NewInt(86400), before.Price)
	cost := new(big.Int).Lsh(amount, depth)
	cfg := func(c *onchain.Client, ledger string) watch.Config {
		return watch.Config{WarnBelow: 7 * 24 * time.Hour, TopUp: &watch.TopUpConfig{TopUpper: watch.ContractTopUp{Client: c},
			Add: 24 * time.Hour, Cap: cost, Ledger: ledger, Settle: time.Nanosecond, BlockTime: time.Second}}
	}

	// Someone else's key: refused before sending, the cap untouched.
	w, err := watch.New(watch.ContractBatches{Client: stranger}, cfg(stranger, filepath.Join(t.TempDir(), "l.json")))
	require.NoError(t, err)
	w.Add(hexID)
	err = w.Check(ctx)
	require.ErrorIs(t, err, onchain.ErrNotOwner)
	require.ErrorIs(t, err, watch.ErrNotSent)
	require.Zero(t, w.Spent().Sign(), "a top-up never sent costs nothing")

	w, err = watch.New(watch.ContractBatches{Client: owner}, cfg(owner, filepath.Join(t.TempDir(), "l.json")))
	require.NoError(t, err)
	w.Add(hexID)
	require.NoError(t, w.Check(ctx))
	require.Equal(t, cost, w.Spent())
	after, err := owner.Batch(ctx, id)
	require.NoError(t, err)
	require.Equal(t, new(big.Int).Add(before.NormalisedBalance, amount), after.NormalisedBalance)
	_, bzzAfter, err := owner.Balances(ctx, owner.Owner())
	require.NoError(t, err)
	require.Equal(t, cost, new(big.Int).Sub(bzzBefore, bzzAfter), "the key paid exactly 2^depth × the amount")

	require.ErrorIs(t, w.Check(ctx), watch.ErrCapReached)
	final, err := owner.Batch(ctx, id)
	require.NoError(t, err)
	require.Equal(t, after.NormalisedBalance, final.NormalisedBalance, "no second top-up")
}

func fundedClient(t *testing.T, ctx context.Context, net *chaintest.Net) *onchain.Client {
	t.Helper()
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	require.NoError(t, net.Fund(ctx, crypto.PubkeyToAddress(key.PublicKey), big.NewInt(1e18), big.NewInt(1e16)))
	return contractClient(t, ctx, net, key)
}

func contractClient(t *testing.T, ctx context.Context, net *chaintest.Net, key *ecdsa.PrivateKey) *onchain.Client {
	t.Helper()
	c, err := onchain.New(ctx, net.RPCURL(), net.Contracts().PostageStamp, key,
		onchain.Options{BlockTime: time.Second, PollInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}
