package postage

import (
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Worked examples are from https://docs.ethswarm.org (postage-stamps and
// buy-a-stamp-batch pages) unless the comment shows the arithmetic.

func plur(t *testing.T, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	require.True(t, ok, s)
	return v
}

func TestTheoreticalCapacity(t *testing.T) {
	tests := []struct {
		depth uint8
		want  uint64
	}{
		{16, 268_435_456},    // docs: 2^16 × 4 kb = 262144 kb = 2^28 bytes
		{24, 68_719_476_736}, // docs: 2^(24+12) = 68,719,476,736 bytes
		{51, 1 << 63},        // 2^(51+12)
		{52, math.MaxUint64}, // 2^64 saturates
		{255, math.MaxUint64},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, TheoreticalCapacity(tt.depth), "depth %d", tt.depth)
	}
}

func TestCost(t *testing.T) {
	tests := []struct {
		name   string
		depth  uint8
		amount string
		want   string
		bzz    string
	}{
		// docs: 2^24 × 1000000000 = 16777216000000000 PLUR = 1.6777216 xBZZ
		{"docs depth 24", 24, "1000000000", "16777216000000000", "1.6777216"},
		// docs (swarm-cli): depth 20, amount 100000000, "Estimated cost:
		// 0.010 BZZ"; exactly 2^20 × 10^8 = 104857600000000.
		{"docs depth 20", 20, "100000000", "104857600000000", "0.01048576"},
		// 24 h minimum at depth 17: 414720000 × 2^17
		// = 81 × 2^9 × 10^4 × 2^17 = 81 × 2^26 × 10^4 = 54358179840000.
		{"minimum batch", 17, "414720000", "54358179840000", "0.005435817984"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Cost(tt.depth, plur(t, tt.amount))
			require.Equal(t, tt.want, got.String())
			require.Equal(t, tt.bzz, FormatBZZ(got))
		})
	}
}

func TestMinimumAmount(t *testing.T) {
	// Contract: minimumInitialBalancePerChunk = minimumValidityBlocks ×
	// lastPrice = 17280 × 24000 = 414,720,000.
	require.Equal(t, "414720000", MinimumAmount(big.NewInt(24000)).String())
}

func TestAmountForTTL(t *testing.T) {
	tests := []struct {
		name      string
		ttl       time.Duration
		price     int64
		blockTime time.Duration
		want      string
	}{
		// docs: (24000 ÷ 5) × 1036800 = 4976640000 for 12 days.
		{"docs 12 days", 12 * 24 * time.Hour, 24000, GnosisBlockTime, "4976640000"},
		// 86400 s / 5 s = 17280 blocks × 24000 = 414720000, the minimum.
		{"24 hours", 24 * time.Hour, 24000, GnosisBlockTime, "414720000"},
		// 7 s × 3 / 5 s = 4.2 → rounded up to 5.
		{"rounds up", 7 * time.Second, 3, GnosisBlockTime, "5"},
		// 1 ns × 24000 / 5e9 ns → rounded up to 1.
		{"one nanosecond", time.Nanosecond, 24000, GnosisBlockTime, "1"},
		{"zero ttl", 0, 24000, GnosisBlockTime, "0"},
		{"negative ttl", -time.Hour, 24000, GnosisBlockTime, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AmountForTTL(tt.ttl, big.NewInt(tt.price), tt.blockTime)
			require.NoError(t, err)
			require.Equal(t, tt.want, got.String())
		})
	}
}

func TestTTL(t *testing.T) {
	tests := []struct {
		name      string
		remaining string
		price     int64
		want      time.Duration
	}{
		// docs: 4976640000 lasts 12 days at 24000 per 5 s block.
		{"docs 12 days", "4976640000", 24000, 12 * 24 * time.Hour},
		// docs (swarm-cli): amount 100000000 → "5 hours 47 minutes 13
		// seconds"; exactly 10^8 × 5 s / 24000 = 20833.333333333 s.
		{"docs swarm-cli", "100000000", 24000, 20833*time.Second + 333333333},
		{"minimum is one day", "414720000", 24000, 24 * time.Hour},
		{"empty", "0", 24000, 0},
		{"negative", "-5", 24000, 0},
		// 2^100 × 5 s overflows time.Duration.
		{"saturates", new(big.Int).Lsh(big.NewInt(1), 100).String(), 1, time.Duration(math.MaxInt64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TTL(plur(t, tt.remaining), big.NewInt(tt.price), GnosisBlockTime)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	got, err := TTL(big.NewInt(100_000_000), big.NewInt(24000), GnosisBlockTime)
	require.NoError(t, err)
	require.Equal(t, 5*time.Hour+47*time.Minute+13*time.Second, got.Truncate(time.Second))
}

func TestRateErrors(t *testing.T) {
	one := big.NewInt(1)
	tests := []struct {
		name      string
		price     *big.Int
		blockTime time.Duration
		want      error
	}{
		{"nil price", nil, GnosisBlockTime, ErrInvalidPrice},
		{"zero price", big.NewInt(0), GnosisBlockTime, ErrInvalidPrice},
		{"negative price", big.NewInt(-1), GnosisBlockTime, ErrInvalidPrice},
		{"zero block time", one, 0, ErrInvalidBlockTime},
		{"negative block time", one, -time.Second, ErrInvalidBlockTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TTL(one, tt.price, tt.blockTime)
			require.ErrorIs(t, err, tt.want)
			_, err = AmountForTTL(time.Hour, tt.price, tt.blockTime)
			require.ErrorIs(t, err, tt.want)
			_, err = CostToStore(1, time.Hour, tt.price, tt.blockTime)
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestBatchTTL(t *testing.T) {
	tests := []struct {
		name              string
		normalised, total string
		want              time.Duration
	}{
		// (1000 + 414720000) - 1000 = 414720000 → one day at 24000.
		{"one day left", "414721000", "1000", 24 * time.Hour},
		{"just expired", "1000", "1000", 0},
		{"long expired", "1000", "5000", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BatchTTL(plur(t, tt.normalised), plur(t, tt.total), big.NewInt(24000), GnosisBlockTime)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCostToStore(t *testing.T) {
	tests := []struct {
		name   string
		bytes  uint64
		ttl    time.Duration
		depth  uint8
		amount string
		cost   string
	}{
		// 1 GB: depth 20 holds 687.62 MB, depth 21 holds 2.60 GB. One day is
		// exactly the minimum 414720000; cost 414720000 × 2^21
		// = 81 × 2^9 × 10^4 × 2^21 = 81 × 2^30 × 10^4 = 869730877440000.
		{"1 GB for a day", 1e9, 24 * time.Hour, 21, "414720000", "869730877440000"},
		// One hour would be 17280000, below the contract minimum, so the
		// quote is raised to 414720000.
		{"raised to minimum", 1e9, time.Hour, 21, "414720000", "869730877440000"},
		// Exactly depth 24's 47.06 GB for 12 days: 4976640000 × 2^24
		// = 243 × 2^11 × 10^4 × 2^24 = 243 × 2^35 × 10^4 = 83494164234240000.
		{"exact table entry", 47_060_000_000, 12 * 24 * time.Hour, 24, "4976640000", "83494164234240000"},
		// One byte more needs depth 25: 4976640000 × 2^25 = 2 × the above.
		{"one byte over", 47_060_000_001, 12 * 24 * time.Hour, 25, "4976640000", "166988328468480000"},
		{"empty", 0, 24 * time.Hour, 17, "414720000", "54358179840000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := CostToStore(tt.bytes, tt.ttl, big.NewInt(24000), GnosisBlockTime)
			require.NoError(t, err)
			require.Equal(t, tt.depth, q.Depth)
			require.Equal(t, tt.amount, q.Amount.String())
			require.Equal(t, tt.cost, q.Cost.String())
		})
	}
	// 8.93 PB is the largest effective volume in the table.
	_, err := CostToStore(8_930_000_000_000_001, time.Hour, big.NewInt(24000), GnosisBlockTime)
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestUtilization(t *testing.T) {
	tests := []struct {
		max                uint32
		depth, bucketDepth uint8
		want               float64
	}{
		{2, 18, 16, 0.5}, // docs: depth 18, fullest bucket 2 of 4 slots
		{2, 17, 16, 1},   // 2 of 2: full
		{64, 24, 16, 0.25},
		{0, 24, 16, 0},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Utilization(tt.max, tt.depth, tt.bucketDepth))
	}
}

func TestFormatBZZ(t *testing.T) {
	tests := []struct{ plur, want string }{
		{"0", "0"},
		{"1", "0.0000000000000001"},
		{"10000000000000000", "1"},
		{"16777216000000000", "1.6777216"}, // docs
		{"-5000000000000000", "-0.5"},
		{"123450000000000000000", "12345"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, FormatBZZ(plur(t, tt.plur)), tt.plur)
	}
}
