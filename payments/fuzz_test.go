package payments

import (
	"errors"
	"math"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
)

// FuzzPrice: archive prices arrive as PriceInfo (in OrchestratorInfo, in a
// payment's expected price) and fees are computed from them. A price is
// refused as ErrInvalidPrice or read exactly; fees are exact and never
// negative; a payment's expected price passes only when it equals the
// session's as a rational.
func FuzzPrice(f *testing.F) {
	f.Add(int64(3), int64(1000), int64(1<<20), int64(6), int64(2000))
	f.Add(int64(0), int64(1), int64(0), int64(0), int64(7))
	f.Add(int64(math.MaxInt64), int64(1), int64(math.MaxInt64), int64(math.MaxInt64), int64(1))
	f.Add(int64(1), int64(0), int64(1), int64(-1), int64(-3))
	f.Add(int64(math.MinInt64), int64(math.MinInt64), int64(-1), int64(1), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, perUnit, units, bytes, expPerUnit, expUnits int64) {
		p := price(perUnit, units)
		rate, err := PerByte(p)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidPrice)
			require.False(t, perUnit >= 0 && units > 0)
		} else {
			require.GreaterOrEqual(t, rate.Sign(), 0)
			back, err := PriceInfo(rate)
			require.NoError(t, err, "a price read from the wire must be writable")
			again, err := PerByte(back)
			require.NoError(t, err)
			require.Zero(t, rate.Cmp(again), "the price changed in a round trip")
		}

		fee, err := Fee(p, bytes)
		switch {
		case rate == nil:
			require.ErrorIs(t, err, ErrInvalidPrice)
		case bytes < 0:
			require.ErrorIs(t, err, ErrInvalidSize)
		default:
			require.NoError(t, err)
			want := new(big.Rat).Mul(rate, new(big.Rat).SetInt64(bytes))
			require.Zero(t, want.Cmp(fee))
		}

		var s SessionPrices
		pinned, err := s.CheckExpected(common.Address{1}, "session", p, price(expPerUnit, expUnits))
		expected, expErr := PerByte(price(expPerUnit, expUnits))
		if err == nil {
			require.NotNil(t, rate)
			require.NoError(t, expErr)
			require.Zero(t, rate.Cmp(expected), "a different expected price was accepted")
			require.Equal(t, perUnit, pinned.GetPricePerUnit())
			require.Equal(t, units, pinned.GetPixelsPerUnit())
		} else {
			require.True(t, errors.Is(err, ErrInvalidPrice) || errors.Is(err, ErrPriceMismatch), "unexpected error kind: %v", err)
			require.False(t, rate != nil && expErr == nil && rate.Cmp(expected) == 0, "an equal price was refused: %v", err)
		}
	})
}

// FuzzCeilApprox: PriceInfo rounds a price that no int64 fraction carries
// up, never down, to the closest fraction within the limit. x is any
// rational with up to 256-bit parts (prices computed from postage costs);
// the limit is small enough to check every candidate.
func FuzzCeilApprox(f *testing.F) {
	f.Add([]byte{1}, []byte{3}, uint8(40))
	f.Add([]byte{0x13, 0x88}, []byte{0x0f, 0xa1}, uint8(40))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []byte{0x03}, uint8(1))
	f.Add([]byte{}, []byte{1}, uint8(0))
	f.Fuzz(func(t *testing.T, numBytes, denBytes []byte, rawLimit uint8) {
		if len(numBytes) > 32 || len(denBytes) > 32 {
			return
		}
		den := new(big.Int).SetBytes(denBytes)
		if den.Sign() == 0 {
			return
		}
		x := new(big.Rat).SetFrac(new(big.Int).SetBytes(numBytes), den)
		limit := int64(rawLimit%64) + 1
		num, d, ok := ceilApprox(x, big.NewInt(limit))

		var best *big.Rat
		for q := int64(1); q <= limit; q++ {
			// The smallest p/q ≥ x for this q is ceil(x·q)/q.
			pq := new(big.Rat).Mul(x, big.NewRat(q, 1))
			p := new(big.Int).Quo(pq.Num(), pq.Denom())
			if new(big.Rat).SetInt(p).Cmp(pq) < 0 {
				p.Add(p, big.NewInt(1))
			}
			if p.Cmp(big.NewInt(limit)) > 0 {
				continue
			}
			if c := new(big.Rat).SetFrac(p, big.NewInt(q)); best == nil || c.Cmp(best) < 0 {
				best = c
			}
		}
		if best == nil {
			require.False(t, ok, "x=%s", x.RatString())
			return
		}
		require.True(t, ok, "x=%s", x.RatString())
		require.LessOrEqual(t, num.Int64(), limit)
		require.LessOrEqual(t, d.Int64(), limit)
		got := new(big.Rat).SetFrac(num, d)
		require.GreaterOrEqual(t, got.Cmp(x), 0, "rounded down")
		require.Zero(t, best.Cmp(got), "x=%s got %s want %s", x.RatString(), got.RatString(), best.RatString())
	})
}
