package onchain

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/chaintest"
)

// TestTransactionsFailClearly: a transaction the contract would revert is
// not sent and names the contract's error; a receipt that does not come
// ends with the context and names the transaction to look for.
func TestTransactionsFailClearly(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	net, err := chaintest.StartChain(ctx, chaintest.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, net.Close()) })
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	c, err := New(ctx, net.RPCURL(), net.Contracts().PostageStamp, key, Options{PollInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	defer c.Close()

	// Sent unchecked: no batch has this id, so the contract says the key
	// is not its owner.
	tx, _, err := c.sendReceipt(ctx, c.postage, "increaseDepth", [32]byte{9}, uint8(20))
	require.ErrorIs(t, err, ErrWouldRevert)
	require.ErrorContains(t, err, "contract error NotBatchOwner()")
	require.ErrorContains(t, err, "nothing sent")
	require.Equal(t, Tx{}, tx)

	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	hash := common.HexToHash("0x1234")
	_, err = c.waitMined(short, "topUp", hash)
	require.ErrorIs(t, err, ErrPending)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "topUp "+hash.Hex())
}
