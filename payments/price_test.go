package payments

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
)

func price(perUnit, units int64) *lpnet.PriceInfo {
	return &lpnet.PriceInfo{PricePerUnit: perUnit, PixelsPerUnit: units}
}

func TestPerByte(t *testing.T) {
	tests := []struct {
		name string
		in   *lpnet.PriceInfo
		want *big.Rat // nil: ErrInvalidPrice
	}{
		{"whole wei", price(5, 1), big.NewRat(5, 1)},
		{"sub-wei", price(1, 3), big.NewRat(1, 3)},
		{"reduced", price(4, 6), big.NewRat(2, 3)},
		{"free", price(0, 1), new(big.Rat)},
		{"extremes", price(math.MaxInt64, math.MaxInt64), big.NewRat(1, 1)},
		{"nil", nil, nil},
		{"zero units", price(1, 0), nil},
		{"negative units", price(1, -3), nil},
		{"negative price", price(-1, 3), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PerByte(tt.in)
			if tt.want == nil {
				require.ErrorIs(t, err, ErrInvalidPrice)
				return
			}
			require.NoError(t, err)
			require.Zero(t, tt.want.Cmp(got), "got %s want %s", got, tt.want)
		})
	}
}

func TestPriceInfo(t *testing.T) {
	huge := new(big.Int).Lsh(big.NewInt(1), 80)
	tests := []struct {
		name    string
		in      *big.Rat
		want    *lpnet.PriceInfo // compared field by field
		wantErr error
	}{
		{"integer", big.NewRat(709490, 1), price(709490, 1), nil},
		{"fraction", big.NewRat(1, 3), price(1, 3), nil},
		{"reduced first", big.NewRat(2, 6), price(1, 3), nil},
		{"zero", new(big.Rat), price(0, 1), nil},
		{"max numerator", big.NewRat(math.MaxInt64, 2), price(math.MaxInt64, 2), nil},
		{"max wei per byte", big.NewRat(math.MaxInt64, 1), price(math.MaxInt64, 1), nil},
		// 1/2^80 is below the smallest representable positive price,
		// 1/MaxInt64: rounding up lands there.
		{"tiny rounds up", new(big.Rat).SetFrac(big.NewInt(1), huge), price(1, math.MaxInt64), nil},
		// (2^80+1)/2^80 just above 1: the closest fraction ≥ it with int64
		// parts is (MaxInt64)/(MaxInt64-1) = 1 + 1/(2^63-2).
		{"just above one", new(big.Rat).SetFrac(new(big.Int).Add(huge, big.NewInt(1)), huge),
			price(math.MaxInt64, math.MaxInt64-1), nil},
		{"too expensive", new(big.Rat).SetFrac(huge, big.NewInt(1)), nil, ErrUnrepresentable},
		// (2^63+1)/2 = 2^62 + 1/2: its numerator does not fit, and with
		// denominator 2 or more neither does any fraction above it.
		{"numerator too large", new(big.Rat).SetFrac(new(big.Int).Add(big.NewInt(math.MaxInt64), big.NewInt(2)), big.NewInt(2)),
			price(1<<62+1, 1), nil},
		{"nil", nil, nil, ErrInvalidPrice},
		{"negative", big.NewRat(-1, 3), nil, ErrInvalidPrice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PriceInfo(tt.in)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want.PricePerUnit, got.PricePerUnit)
			require.Equal(t, tt.want.PixelsPerUnit, got.PixelsPerUnit)
			back, err := PerByte(got)
			require.NoError(t, err)
			require.GreaterOrEqual(t, back.Cmp(tt.in), 0, "never below the requested price")
		})
	}
}

// TestCeilApproxOptimal checks ceilApprox against brute force with small
// bounds: its answer must be ≥ x, within bounds, and no bounded fraction
// may lie in [x, answer) — except the answer itself.
func TestCeilApproxOptimal(t *testing.T) {
	const limit = 40
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		x := big.NewRat(rng.Int64N(5000), 1+rng.Int64N(5000))
		num, den, ok := ceilApprox(x, big.NewInt(limit))

		var best *big.Rat
		for q := int64(1); q <= limit; q++ {
			for p := int64(0); p <= limit; p++ {
				f := big.NewRat(p, q)
				if f.Cmp(x) >= 0 && (best == nil || f.Cmp(best) < 0) {
					best = f
				}
			}
		}
		if best == nil {
			require.False(t, ok, "x=%s", x)
			continue
		}
		require.True(t, ok, "x=%s", x)
		require.LessOrEqual(t, num.Int64(), int64(limit))
		require.LessOrEqual(t, den.Int64(), int64(limit))
		got := new(big.Rat).SetFrac(num, den)
		require.Zero(t, best.Cmp(got), "x=%s got %s want %s", x, got, best)
	}
}

func TestFee(t *testing.T) {
	tests := []struct {
		name    string
		p       *lpnet.PriceInfo
		bytes   int64
		want    *big.Rat
		wantErr error
	}{
		{"one wei per three bytes, ten bytes", price(1, 3), 10, big.NewRat(10, 3), nil},
		{"whole wei", price(7, 1), 1_000_000, big.NewRat(7_000_000, 1), nil},
		{"zero bytes", price(7, 1), 0, new(big.Rat), nil},
		{"free", price(0, 1), 123, new(big.Rat), nil},
		{"no overflow past int64", price(math.MaxInt64, 1), math.MaxInt64,
			new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(math.MaxInt64), big.NewInt(math.MaxInt64)), big.NewInt(1)), nil},
		{"negative bytes", price(1, 3), -1, nil, ErrInvalidSize},
		{"nil price", nil, 10, nil, ErrInvalidPrice},
		{"zero units", price(1, 0), 10, nil, ErrInvalidPrice},
		{"negative price", price(-1, 1), 10, nil, ErrInvalidPrice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Fee(tt.p, tt.bytes)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Zero(t, tt.want.Cmp(got), "got %s want %s", got.RatString(), tt.want.RatString())
		})
	}
}

// TestFeeAdditive is the property that makes per-segment billing fair:
// paying for a and b separately costs exactly what paying for a+b does.
func TestFeeAdditive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		p := price(rng.Int64(), 1+rng.Int64())
		a, b := rng.Int64N(math.MaxInt64/2), rng.Int64N(math.MaxInt64/2)
		whole, err := Fee(p, a+b)
		require.NoError(t, err)
		fa, err := Fee(p, a)
		require.NoError(t, err)
		fb, err := Fee(p, b)
		require.NoError(t, err)
		require.Zero(t, whole.Cmp(new(big.Rat).Add(fa, fb)), "p=%d/%d a=%d b=%d", p.PricePerUnit, p.PixelsPerUnit, a, b)
	}
}

func TestSegmentBytes(t *testing.T) {
	tests := []struct {
		name       string
		source     int64
		renditions []int64
		want       int64
		wantErr    error
	}{
		{"source only", 1_500_000, nil, 1_500_000, nil},
		{"source and renditions", 1_500_000, []int64{750_000, 375_000}, 2_625_000, nil},
		{"empty", 0, nil, 0, nil},
		{"exactly max", math.MaxInt64 - 2, []int64{1, 1}, math.MaxInt64, nil},
		{"overflow", math.MaxInt64 - 1, []int64{1, 1}, 0, ErrOverflow},
		{"overflow large", math.MaxInt64, []int64{math.MaxInt64}, 0, ErrOverflow},
		{"negative source", -1, []int64{5}, 0, ErrInvalidSize},
		{"negative rendition", 5, []int64{3, -1}, 0, ErrInvalidSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SegmentBytes(tt.source, tt.renditions...)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// BenchmarkFee prices a 2.6 MB segment (source plus two renditions) at
// the worked example's price.
func BenchmarkFee(b *testing.B) {
	p := price(7_695_030_911_238_144, 10_845_859_375)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fee(p, 2_625_000); err != nil {
			b.Fatal(err)
		}
	}
}
