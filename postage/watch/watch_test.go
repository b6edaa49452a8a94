package watch

import (
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAmount(t *testing.T) {
	price := big.NewInt(24000)
	for _, tc := range []struct {
		name      string
		b         Batch
		add, bt   time.Duration
		want      int64
		wantError string
	}{
		// Gnosis: 5 s blocks; a day is 17280 blocks.
		{name: "a day on Gnosis", b: Batch{TTL: time.Hour, Price: price}, bt: 5 * time.Second, add: 24 * time.Hour, want: 17280 * 24000},
		{name: "a day of 1 s blocks", b: Batch{TTL: time.Hour, Price: price}, bt: time.Second, add: 24 * time.Hour, want: 86400 * 24000},
		{name: "partial block rounds up", b: Batch{TTL: time.Hour, Price: price}, bt: 5 * time.Second, add: 11 * time.Second, want: 3 * 24000},
		{name: "expired", b: Batch{ID: "b1", Price: price}, bt: time.Second, add: time.Hour, wantError: "b1 has expired"},
		{name: "no price", b: Batch{ID: "b2", TTL: time.Hour}, bt: time.Second, add: time.Hour, wantError: "no current price"},
		{name: "no block time", b: Batch{ID: "b3", TTL: time.Hour, Price: price}, add: time.Hour, wantError: "block time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Amount(tc.b, tc.add, tc.bt)
			if tc.wantError != "" {
				require.ErrorContains(t, err, tc.wantError)
				return
			}
			require.NoError(t, err)
			require.Equal(t, big.NewInt(tc.want), got)
		})
	}
}

func TestCost(t *testing.T) {
	require.Equal(t, "271790899200000", Cost(big.NewInt(86400*24000), 17).String())
}

func TestLedgerKeepsSpendingAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "topups.json")
	limit := big.NewInt(250)
	l, err := openLedger(path)
	require.NoError(t, err)
	require.NoError(t, l.reserve("a", big.NewInt(1), big.NewInt(100), limit))
	require.NoError(t, l.confirm("a", "0xaa"))
	// A reservation whose outcome is unknown (a crash before confirm)
	// counts as spent after a restart.
	require.NoError(t, l.reserve("b", big.NewInt(1), big.NewInt(100), limit))

	l, err = openLedger(path)
	require.NoError(t, err)
	require.Equal(t, "200", l.spent().String())
	err = l.reserve("a", big.NewInt(1), big.NewInt(100), limit)
	require.ErrorIs(t, err, ErrCapReached)
	require.Equal(t, "200", l.spent().String(), "a refused reservation spends nothing")

	// A top-up known not to have been sent gives its cost back.
	require.NoError(t, l.release("b", big.NewInt(100)))
	require.Equal(t, "100", l.spent().String())
	require.NoError(t, l.reserve("a", big.NewInt(1), big.NewInt(150), limit))
	require.ErrorContains(t, l.release("c", big.NewInt(1)), "no pending top-up")

	l, err = openLedger(path)
	require.NoError(t, err)
	require.Equal(t, "250", l.spent().String())
	require.Len(t, l.state.TopUps, 2)
	require.Equal(t, "0xaa", l.state.TopUps[0].Tx)
	require.Empty(t, l.state.TopUps[1].Tx)
}

func TestLedgerRefusesCorruptFile(t *testing.T) {
	for name, content := range map[string]string{
		"truncated":  `{"spent": "12`,
		"not number": `{"spent": "twelve"}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "topups.json")
			require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
			_, err := openLedger(path)
			require.ErrorIs(t, err, ErrBadLedger)
		})
	}
}

func TestNewRefusesIncompleteTopUp(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "l.json")
	for name, cfg := range map[string]TopUpConfig{
		"no topupper": {Add: time.Hour, Cap: big.NewInt(1), Ledger: ledger},
		"no add":      {TopUpper: NodeTopUp{}, Cap: big.NewInt(1), Ledger: ledger},
		"no cap":      {TopUpper: NodeTopUp{}, Add: time.Hour, Ledger: ledger},
		"zero cap":    {TopUpper: NodeTopUp{}, Add: time.Hour, Cap: big.NewInt(0), Ledger: ledger},
		"no ledger":   {TopUpper: NodeTopUp{}, Add: time.Hour, Cap: big.NewInt(1)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(NodeBatches{}, Config{TopUp: &cfg})
			require.Error(t, err)
		})
	}
}
