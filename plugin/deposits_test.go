package plugin

import (
	"context"
	"errors"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
)

// TestDepositsCache: a sender's first lookup waits for the chain; a failed
// read leaves the deposit unknown (the segment is refused) and is retried
// in the background on the next refresh; a fresh value is not read again.
func TestDepositsCache(t *testing.T) {
	addr := common.HexToAddress("0xb0b")
	var calls atomic.Int32
	var fail atomic.Bool
	d := newDeposits(func(context.Context, common.Address) (*big.Int, error) {
		calls.Add(1)
		if fail.Load() {
			return nil, errors.New("rpc down")
		}
		return big.NewInt(42), nil
	})
	_, ok := d.Deposit(addr)
	require.False(t, ok, "unknown before any lookup")

	fail.Store(true)
	d.refresh(context.Background(), addr)
	_, ok = d.Deposit(addr)
	require.False(t, ok, "a failed read leaves it unknown")

	fail.Store(false)
	d.refresh(context.Background(), addr)
	require.Eventually(t, func() bool { _, ok := d.Deposit(addr); return ok }, 5*time.Second, time.Millisecond,
		"retried in the background")
	v, _ := d.Deposit(addr)
	require.Equal(t, int64(42), v.Int64())

	d.refresh(context.Background(), addr)
	require.Equal(t, int32(2), calls.Load(), "a fresh value is not read again")

	// A stale value is refreshed in the background; the old one serves meanwhile.
	d.mu.Lock()
	d.m[addr].at = time.Now().Add(-2 * depositTTL)
	d.mu.Unlock()
	d.refresh(context.Background(), addr)
	_, ok = d.Deposit(addr)
	require.True(t, ok)
	require.Eventually(t, func() bool { return calls.Load() == 3 }, 5*time.Second, time.Millisecond)
}

// TestDepositsFirstLookupWaits: a session's first lookup is done when
// refresh returns, so its first segment is decided on the real deposit.
func TestDepositsFirstLookupWaits(t *testing.T) {
	d := newDeposits(func(context.Context, common.Address) (*big.Int, error) { return big.NewInt(7), nil })
	addr := common.HexToAddress("0xa11ce")
	d.refresh(context.Background(), addr)
	v, ok := d.Deposit(addr)
	require.True(t, ok)
	require.Equal(t, int64(7), v.Int64())
}

// TestDepositsBounded: a full cache drops senders not seen for long.
func TestDepositsBounded(t *testing.T) {
	d := newDeposits(func(context.Context, common.Address) (*big.Int, error) { return big.NewInt(1), nil })
	old := time.Now().Add(-11 * depositTTL)
	for i := range maxDeposits {
		d.m[common.BigToAddress(big.NewInt(int64(i+1)))] = &deposit{value: big.NewInt(1), at: old, used: old, tried: true}
	}
	d.refresh(context.Background(), common.HexToAddress("0xfeed"))
	require.Len(t, d.m, 1, "only the new sender is left")
}
