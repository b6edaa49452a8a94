package payments

import (
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"

	"github.com/lpswarm/archiver/postage"
)

// ErrInvalidParams reports PostageParams that cannot be priced.
var ErrInvalidParams = errors.New("invalid postage pricing parameters")

// PostageParams are the inputs of PriceFromPostage. Every field is
// required unless its comment says otherwise; money is exact.
type PostageParams struct {
	// PricePerChunkPerBlock is the postage price in PLUR per chunk per
	// block, as a Bee node reports it in /chainstate ("currentPrice").
	PricePerChunkPerBlock *big.Int
	// BlockTime is the chain's block time (postage.GnosisBlockTime).
	BlockTime time.Duration
	// Retention is how long archives must stay on Swarm. Batches funded
	// for less than the contract minimum (24 h) are priced at the minimum,
	// since that is what the contract charges.
	Retention time.Duration
	// Depth is the depth of the batches the operator buys. A batch of
	// depth d costs amount × 2^d PLUR but is only expected to hold
	// postage.EffectiveCapacity(d) bytes before a bucket fills, so that
	// capacity, not 2^d × 4096, is what the cost is spread over.
	Depth uint8
	// Redundancy is the erasure-coding level archives are uploaded with.
	Redundancy redundancy.Level
	// FileBytes is a typical size of one archived file (a segment).
	// Optional: 0 prices the large-file limit; see RedundancyFactor.
	FileBytes int64
	// Overhead is manifest and playlist bytes stored per media byte
	// (1/100 for 1 %). Zero is allowed.
	Overhead *big.Rat
	// WeiPerPLUR is the exchange rate the operator sells at, in wei per
	// PLUR (1 xBZZ = 10^16 PLUR). Supplied by the operator: this package
	// reads no oracle.
	WeiPerPLUR *big.Rat
	// Margin multiplies the cost (6/5 for 20 %). It must be at least 1:
	// a lower margin sells storage that cannot be deleted below cost.
	Margin *big.Rat
}

// PriceBreakdown shows each step of PriceFromPostage so that an operator
// can check the price by hand. All values are exact.
type PriceBreakdown struct {
	// AmountPerChunk is the PLUR per chunk that funds Retention at the
	// given price: ceil(Retention/BlockTime × price), raised to the
	// contract minimum.
	AmountPerChunk *big.Int
	// BatchCost is AmountPerChunk × 2^Depth PLUR.
	BatchCost *big.Int
	// EffectiveBytes is postage.EffectiveCapacity(Depth).
	EffectiveBytes uint64
	// StoragePLURPerByte is BatchCost / EffectiveBytes: PLUR per stamped
	// byte.
	StoragePLURPerByte *big.Rat
	// RedundancyFactor is stamped bytes per payload byte.
	RedundancyFactor *big.Rat
	// OverheadFactor is 1 + Overhead.
	OverheadFactor *big.Rat
	// PLURPerByte is StoragePLURPerByte × RedundancyFactor ×
	// OverheadFactor: the postage cost of one media byte.
	PLURPerByte *big.Rat
	// CostWeiPerByte is PLURPerByte × WeiPerPLUR, before margin.
	CostWeiPerByte *big.Rat
	// WeiPerByte is CostWeiPerByte × Margin: the archive price.
	WeiPerByte *big.Rat
}

// PriceFromPostage derives an archive price in wei per media byte from the
// cost of the postage that stores it:
//
//	amount      = max(ceil(Retention / BlockTime × price), 17280 × price)
//	storage     = amount × 2^Depth / EffectiveCapacity(Depth)   PLUR/byte
//	plur        = storage × RedundancyFactor × (1 + Overhead)
//	wei/byte    = plur × WeiPerPLUR × Margin
//
// Convert the result with PriceInfo to quote it. Rounding happens only in
// the amount (up, as postage.AmountForTTL does) and in PriceInfo (up), so
// the price never falls below the cost times the margin.
func PriceFromPostage(p PostageParams) (*big.Rat, *PriceBreakdown, error) {
	if err := p.validate(); err != nil {
		return nil, nil, err
	}
	capacity, ok := postage.EffectiveCapacity(p.Depth)
	if !ok {
		return nil, nil, fmt.Errorf("%w: depth %d has no effective capacity (want %d..%d)",
			ErrInvalidParams, p.Depth, postage.MinDepth, postage.MaxTableDepth)
	}
	amount, err := postage.AmountForTTL(p.Retention, p.PricePerChunkPerBlock, p.BlockTime)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	if minimum := postage.MinimumAmount(p.PricePerChunkPerBlock); amount.Cmp(minimum) < 0 {
		amount = minimum
	}
	redundancyFactor, err := RedundancyFactor(p.Redundancy, p.FileBytes)
	if err != nil {
		return nil, nil, err
	}
	b := &PriceBreakdown{
		AmountPerChunk:   amount,
		BatchCost:        postage.Cost(p.Depth, amount),
		EffectiveBytes:   capacity,
		RedundancyFactor: redundancyFactor,
		OverheadFactor:   new(big.Rat).Add(big.NewRat(1, 1), p.Overhead),
	}
	b.StoragePLURPerByte = new(big.Rat).SetFrac(b.BatchCost, new(big.Int).SetUint64(capacity))
	b.PLURPerByte = new(big.Rat).Mul(b.StoragePLURPerByte, b.RedundancyFactor)
	b.PLURPerByte.Mul(b.PLURPerByte, b.OverheadFactor)
	b.CostWeiPerByte = new(big.Rat).Mul(b.PLURPerByte, p.WeiPerPLUR)
	b.WeiPerByte = new(big.Rat).Mul(b.CostWeiPerByte, p.Margin)
	return new(big.Rat).Set(b.WeiPerByte), b, nil
}

func (p PostageParams) validate() error {
	switch {
	case p.PricePerChunkPerBlock == nil || p.PricePerChunkPerBlock.Sign() <= 0:
		return fmt.Errorf("%w: postage price must be positive", ErrInvalidParams)
	case p.BlockTime <= 0:
		return fmt.Errorf("%w: block time must be positive", ErrInvalidParams)
	case p.Retention <= 0:
		return fmt.Errorf("%w: retention must be positive", ErrInvalidParams)
	case !p.Redundancy.Validate():
		return fmt.Errorf("%w: redundancy level %d", ErrInvalidParams, p.Redundancy)
	case p.FileBytes < 0:
		return fmt.Errorf("%w: file size %d", ErrInvalidParams, p.FileBytes)
	case p.Overhead == nil || p.Overhead.Sign() < 0:
		return fmt.Errorf("%w: overhead must be set and not negative", ErrInvalidParams)
	case p.WeiPerPLUR == nil || p.WeiPerPLUR.Sign() <= 0:
		return fmt.Errorf("%w: exchange rate must be positive", ErrInvalidParams)
	case p.Margin == nil || p.Margin.Cmp(big.NewRat(1, 1)) < 0:
		return fmt.Errorf("%w: margin must be set and at least 1", ErrInvalidParams)
	}
	return nil
}
