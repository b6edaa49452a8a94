package payments

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/postage"
)

const year = 365 * 24 * time.Hour

// exampleParams are the worked example's inputs (see doc.go).
func exampleParams() PostageParams {
	return PostageParams{
		PricePerChunkPerBlock: big.NewInt(24000),
		BlockTime:             postage.GnosisBlockTime,
		Retention:             year,
		Depth:                 24,
		Redundancy:            redundancy.MEDIUM,
		Overhead:              big.NewRat(1, 100),
		WeiPerPLUR:            big.NewRat(1, 100),
		Margin:                big.NewRat(6, 5),
	}
}

func TestPriceFromPostage(t *testing.T) {
	// The worked example, exactly: 151,372,800,000 × 2^24 / 47,060,000,000
	// × 64/59 × 101/100 × 1/100 × 6/5.
	example := new(big.Rat).SetFrac(new(big.Int).Lsh(big.NewInt(151_372_800_000), 24), big.NewInt(47_060_000_000))
	for _, f := range []*big.Rat{big.NewRat(64, 59), big.NewRat(101, 100), big.NewRat(1, 100), big.NewRat(6, 5)} {
		example.Mul(example, f)
	}
	tests := []struct {
		name    string
		mutate  func(*PostageParams)
		want    *big.Rat // nil: only check the error
		wantErr error
	}{
		{"worked example", func(*PostageParams) {}, example, nil},
		{"worked example exact value", func(*PostageParams) {}, big.NewRat(7_695_030_911_238_144, 10_845_859_375), nil},
		{"no margin, overhead or redundancy", func(p *PostageParams) {
			p.Margin, p.Overhead, p.WeiPerPLUR = big.NewRat(1, 1), new(big.Rat), big.NewRat(1, 1)
			p.Redundancy, p.FileBytes = redundancy.NONE, 4096
			// One full chunk: factor 1, so the price is the batch cost
			// spread over its effective capacity.
		}, new(big.Rat).SetFrac(new(big.Int).Lsh(big.NewInt(151_372_800_000), 24), big.NewInt(47_060_000_000)), nil},
		{"short retention pays the contract minimum", func(p *PostageParams) {
			p.Retention = time.Hour
			p.Margin, p.Overhead, p.WeiPerPLUR = big.NewRat(1, 1), new(big.Rat), big.NewRat(1, 1)
			p.Redundancy, p.FileBytes = redundancy.NONE, 4096
		}, new(big.Rat).SetFrac(new(big.Int).Lsh(big.NewInt(17280*24000), 24), big.NewInt(47_060_000_000)), nil},
		{"nil price", func(p *PostageParams) { p.PricePerChunkPerBlock = nil }, nil, ErrInvalidParams},
		{"zero price", func(p *PostageParams) { p.PricePerChunkPerBlock = new(big.Int) }, nil, ErrInvalidParams},
		{"zero block time", func(p *PostageParams) { p.BlockTime = 0 }, nil, ErrInvalidParams},
		{"zero retention", func(p *PostageParams) { p.Retention = 0 }, nil, ErrInvalidParams},
		{"depth below table", func(p *PostageParams) { p.Depth = 16 }, nil, ErrInvalidParams},
		{"depth above table", func(p *PostageParams) { p.Depth = postage.MaxTableDepth + 1 }, nil, ErrInvalidParams},
		{"bad redundancy", func(p *PostageParams) { p.Redundancy = redundancy.PARANOID + 1 }, nil, ErrInvalidParams},
		{"negative file size", func(p *PostageParams) { p.FileBytes = -1 }, nil, ErrInvalidParams},
		{"nil overhead", func(p *PostageParams) { p.Overhead = nil }, nil, ErrInvalidParams},
		{"negative overhead", func(p *PostageParams) { p.Overhead = big.NewRat(-1, 100) }, nil, ErrInvalidParams},
		{"nil rate", func(p *PostageParams) { p.WeiPerPLUR = nil }, nil, ErrInvalidParams},
		{"zero rate", func(p *PostageParams) { p.WeiPerPLUR = new(big.Rat) }, nil, ErrInvalidParams},
		{"nil margin", func(p *PostageParams) { p.Margin = nil }, nil, ErrInvalidParams},
		{"margin below one", func(p *PostageParams) { p.Margin = big.NewRat(99, 100) }, nil, ErrInvalidParams},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := exampleParams()
			tt.mutate(&p)
			got, b, err := PriceFromPostage(p)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Zero(t, tt.want.Cmp(got), "got %s want %s", got.RatString(), tt.want.RatString())
			require.Zero(t, got.Cmp(b.WeiPerByte))
			got.SetInt64(0)
			require.NotZero(t, b.WeiPerByte.Sign(), "the result does not alias the breakdown")
		})
	}
}

// TestPriceBreakdownSteps recomputes every step from the previous ones so
// that the breakdown an operator reads is the arithmetic performed.
func TestPriceBreakdownSteps(t *testing.T) {
	for _, fileBytes := range []int64{0, 1_000_000, 4096} {
		p := exampleParams()
		p.FileBytes = fileBytes
		_, b, err := PriceFromPostage(p)
		require.NoError(t, err)

		amount, err := postage.AmountForTTL(p.Retention, p.PricePerChunkPerBlock, p.BlockTime)
		require.NoError(t, err)
		require.Zero(t, amount.Cmp(b.AmountPerChunk))
		require.Zero(t, postage.Cost(p.Depth, amount).Cmp(b.BatchCost))
		capacity, _ := postage.EffectiveCapacity(p.Depth)
		require.Equal(t, capacity, b.EffectiveBytes)
		storage := new(big.Rat).SetFrac(b.BatchCost, new(big.Int).SetUint64(capacity))
		require.Zero(t, storage.Cmp(b.StoragePLURPerByte))
		factor, err := RedundancyFactor(p.Redundancy, fileBytes)
		require.NoError(t, err)
		require.Zero(t, factor.Cmp(b.RedundancyFactor))
		require.Zero(t, big.NewRat(101, 100).Cmp(b.OverheadFactor))
		plur := new(big.Rat).Mul(storage, factor)
		plur.Mul(plur, b.OverheadFactor)
		require.Zero(t, plur.Cmp(b.PLURPerByte))
		cost := new(big.Rat).Mul(plur, p.WeiPerPLUR)
		require.Zero(t, cost.Cmp(b.CostWeiPerByte))
		require.Zero(t, new(big.Rat).Mul(cost, p.Margin).Cmp(b.WeiPerByte))
	}
}

// TestPriceFromPostageSmallFiles checks that a typical segment size costs
// more than the large-file limit: a 1 MB file (245 chunks at MEDIUM) pays
// for its partial groups, its parents and two root replicas.
func TestPriceFromPostageSmallFiles(t *testing.T) {
	limitParams := exampleParams()
	segmentParams := exampleParams()
	segmentParams.FileBytes = 1_000_000
	limit, _, err := PriceFromPostage(limitParams)
	require.NoError(t, err)
	segment, b, err := PriceFromPostage(segmentParams)
	require.NoError(t, err)
	require.Positive(t, segment.Cmp(limit))
	// 245 data chunks, 2×9 parities for the full groups and 4 for the
	// 7 left over, 3 parents with 3 parities, a root and 2 replicas:
	// 245 + 22 + 3 + 3 + 1 + 2 = 276 chunks.
	require.Zero(t, big.NewRat(276*4096, 1_000_000).Cmp(b.RedundancyFactor), "got %s", b.RedundancyFactor.RatString())
}
