package postage

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
)

const (
	// BZZDecimals is the number of decimals of xBZZ: 1 xBZZ = 10^16 PLUR.
	BZZDecimals = 16
	// GnosisBlockTime is the block time of Gnosis Chain, where the postage
	// contract lives.
	GnosisBlockTime = 5 * time.Second

	chunkSizeLog2 = 12 // 4096-byte chunks
)

var (
	// ErrInvalidPrice reports a price that is nil or not positive.
	ErrInvalidPrice = errors.New("price must be positive")
	// ErrInvalidBlockTime reports a block time that is not positive.
	ErrInvalidBlockTime = errors.New("block time must be positive")
	// ErrTooLarge reports a size no depth in the effective utilisation
	// table can hold.
	ErrTooLarge = errors.New("size exceeds the largest batch depth")
)

// TheoreticalCapacity is the number of bytes 2^depth full 4 KiB chunks hold.
// It saturates at math.MaxUint64 for depths above 51.
func TheoreticalCapacity(depth uint8) uint64 {
	if int(depth)+chunkSizeLog2 >= 64 {
		return math.MaxUint64
	}
	return uint64(1) << (uint(depth) + chunkSizeLog2)
}

// Cost is the PLUR paid for a batch: amount per chunk × 2^depth.
func Cost(depth uint8, amount *big.Int) *big.Int {
	return new(big.Int).Lsh(amount, uint(depth))
}

// MinimumAmount is the smallest per-chunk amount the contract accepts at
// price: MinimumValidityBlocks × price.
func MinimumAmount(price *big.Int) *big.Int {
	return new(big.Int).Mul(price, big.NewInt(MinimumValidityBlocks))
}

// RemainingBalance is the per-chunk balance left in a batch: its normalised
// balance (Bee's batch "value") minus the chain state's cumulative payout
// ("totalAmount"), floored at zero. The per-chunk purchase amount
// (Batch.Amount) is not the normalised balance and must not be passed here.
func RemainingBalance(normalisedBalance, totalAmount *big.Int) *big.Int {
	r := new(big.Int).Sub(normalisedBalance, totalAmount)
	if r.Sign() < 0 {
		r.SetInt64(0)
	}
	return r
}

// TTL is how long a per-chunk balance lasts at price (PLUR per chunk per
// block): remaining × blockTime / price, rounded down to the nanosecond and
// saturating at the largest time.Duration.
func TTL(remaining, price *big.Int, blockTime time.Duration) (time.Duration, error) {
	if err := checkRate(price, blockTime); err != nil {
		return 0, err
	}
	if remaining.Sign() <= 0 {
		return 0, nil
	}
	ns := new(big.Int).Mul(remaining, big.NewInt(int64(blockTime)))
	ns.Quo(ns, price)
	if !ns.IsInt64() {
		return time.Duration(math.MaxInt64), nil
	}
	return time.Duration(ns.Int64()), nil
}

// BatchTTL is the TTL of a batch given its normalised balance and the chain
// state's totalAmount, the way Bee computes batchTTL.
func BatchTTL(normalisedBalance, totalAmount, price *big.Int, blockTime time.Duration) (time.Duration, error) {
	return TTL(RemainingBalance(normalisedBalance, totalAmount), price, blockTime)
}

// AmountForTTL is the smallest per-chunk amount that lasts at least ttl at
// price: ceil(ttl × price / blockTime). It does not apply MinimumAmount.
func AmountForTTL(ttl time.Duration, price *big.Int, blockTime time.Duration) (*big.Int, error) {
	if err := checkRate(price, blockTime); err != nil {
		return nil, err
	}
	if ttl <= 0 {
		return new(big.Int), nil
	}
	num := new(big.Int).Mul(big.NewInt(int64(ttl)), price)
	q, r := new(big.Int).QuoRem(num, big.NewInt(int64(blockTime)), new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q, nil
}

// Quote is the cheapest batch that stores a given size for a given time.
type Quote struct {
	Depth  uint8
	Amount *big.Int // PLUR per chunk, never below MinimumAmount
	Cost   *big.Int // PLUR in total: Amount × 2^Depth
}

// CostToStore quotes the batch for nBytes kept for ttl: the smallest depth
// whose EffectiveCapacity holds nBytes, and the amount for ttl raised to
// the contract minimum (a quote the contract would reject is useless).
func CostToStore(nBytes uint64, ttl time.Duration, price *big.Int, blockTime time.Duration) (Quote, error) {
	depth, ok := DepthForSize(nBytes)
	if !ok {
		return Quote{}, fmt.Errorf("%w: %d bytes", ErrTooLarge, nBytes)
	}
	amount, err := AmountForTTL(ttl, price, blockTime)
	if err != nil {
		return Quote{}, err
	}
	if minimum := MinimumAmount(price); amount.Cmp(minimum) < 0 {
		amount = minimum
	}
	return Quote{Depth: depth, Amount: amount, Cost: Cost(depth, amount)}, nil
}

// Utilization is the fullness of a batch as a fraction: the fullest
// bucket's count over the bucket capacity 2^(depth-bucketDepth). A batch is
// full at 1. depth must exceed bucketDepth.
func Utilization(maxBucketCount uint32, depth, bucketDepth uint8) float64 {
	return math.Ldexp(float64(maxBucketCount), int(bucketDepth)-int(depth))
}

// FormatBZZ renders a PLUR amount as an exact xBZZ decimal without
// trailing zeros, e.g. 16777216000000000 → "1.6777216".
func FormatBZZ(plur *big.Int) string {
	unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(BZZDecimals), nil)
	whole, frac := new(big.Int).QuoRem(new(big.Int).Abs(plur), unit, new(big.Int))
	sign := ""
	if plur.Sign() < 0 {
		sign = "-"
	}
	if frac.Sign() == 0 {
		return sign + whole.String()
	}
	digits := fmt.Sprintf("%0*s", BZZDecimals, frac.String())
	return sign + whole.String() + "." + strings.TrimRight(digits, "0")
}

func checkRate(price *big.Int, blockTime time.Duration) error {
	if price == nil || price.Sign() <= 0 {
		return ErrInvalidPrice
	}
	if blockTime <= 0 {
		return ErrInvalidBlockTime
	}
	return nil
}
