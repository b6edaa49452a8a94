package payments

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	lpnet "github.com/livepeer/go-livepeer/net"
)

var (
	// ErrInvalidPrice reports a price that is nil, negative, or has a
	// non-positive unit.
	ErrInvalidPrice = errors.New("invalid archive price")
	// ErrUnrepresentable reports a price no lpnet.PriceInfo can carry
	// without undercharging (more than math.MaxInt64 wei per byte).
	ErrUnrepresentable = errors.New("archive price not representable as PriceInfo")
	// ErrInvalidSize reports a negative byte count.
	ErrInvalidSize = errors.New("invalid byte count")
	// ErrOverflow reports a byte count that does not fit an int64.
	ErrOverflow = errors.New("byte count overflows int64")
)

// PerByte is the exact archive price in wei per byte carried by p.
//
// The archive price reuses Livepeer's PriceInfo message so that it travels
// in OrchestratorInfo and in a payment's expected_price unchanged, but its
// unit is a byte, not a pixel: PricePerUnit wei buys PixelsPerUnit bytes.
// The ratio lets a price below 1 wei per byte be expressed, exactly as
// go-livepeer uses it for sub-wei pixel prices.
//
// A zero price (free archiving) is valid; a negative price or a unit count
// that is not positive is refused.
func PerByte(p *lpnet.PriceInfo) (*big.Rat, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: nil", ErrInvalidPrice)
	}
	if p.GetPixelsPerUnit() <= 0 {
		return nil, fmt.Errorf("%w: %d bytes per unit, want > 0", ErrInvalidPrice, p.GetPixelsPerUnit())
	}
	if p.GetPricePerUnit() < 0 {
		return nil, fmt.Errorf("%w: negative price %d wei", ErrInvalidPrice, p.GetPricePerUnit())
	}
	return big.NewRat(p.GetPricePerUnit(), p.GetPixelsPerUnit()), nil
}

// PriceInfo converts an exact price in wei per byte to the PriceInfo that
// carries it.
//
// When the reduced numerator and denominator both fit an int64 the result
// is exact. Otherwise it is the closest fraction with int64 numerator and
// denominator that is not below weiPerByte: rounding is always up, so an
// orchestrator that quotes the result never undercharges itself, while a
// broadcaster overpays by less than 1/PixelsPerUnit wei per byte. A price
// above math.MaxInt64 wei per byte has no such representation and yields
// ErrUnrepresentable.
func PriceInfo(weiPerByte *big.Rat) (*lpnet.PriceInfo, error) {
	if weiPerByte == nil {
		return nil, fmt.Errorf("%w: nil", ErrInvalidPrice)
	}
	if weiPerByte.Sign() < 0 {
		return nil, fmt.Errorf("%w: negative price %s wei/byte", ErrInvalidPrice, weiPerByte.RatString())
	}
	limit := new(big.Int).SetInt64(math.MaxInt64)
	num, den, ok := ceilApprox(weiPerByte, limit)
	if !ok {
		return nil, fmt.Errorf("%w: %s wei/byte exceeds %d", ErrUnrepresentable, weiPerByte.RatString(), int64(math.MaxInt64))
	}
	return &lpnet.PriceInfo{PricePerUnit: num.Int64(), PixelsPerUnit: den.Int64()}, nil
}

// ceilApprox returns the fraction num/den ≥ x, with 0 ≤ num ≤ limit and
// 1 ≤ den ≤ limit, that is closest to x. ok is false when x > limit.
//
// It walks the Stern–Brocot tree towards x, keeping the bracket lo < x ≤ hi
// of Farey neighbours. Every fraction strictly inside such a bracket has a
// numerator and denominator at least those of the mediant, so once the
// mediant leaves the bounds no representable fraction lies between x and
// hi, and hi is the answer. Runs of steps in one direction are taken at
// once, so the walk costs one step per continued-fraction term of x.
func ceilApprox(x *big.Rat, limit *big.Int) (num, den *big.Int, ok bool) {
	n, m := x.Num(), x.Denom() // x = n/m, reduced, m > 0, n ≥ 0
	if n.Cmp(limit) <= 0 && m.Cmp(limit) <= 0 {
		return new(big.Int).Set(n), new(big.Int).Set(m), true
	}
	a, b := big.NewInt(0), big.NewInt(1) // lo = a/b < x (x > 0 here, since 0/1 fits)
	c, d := big.NewInt(1), big.NewInt(0) // hi = c/d ≥ x, 1/0 standing for +∞
	var t1, t2, above, below, k, kb big.Int
	for {
		// above = m·c - n·d ≥ 0 measures how far hi lies above x;
		// below = n·b - m·a > 0 how far lo lies below it.
		above.Sub(t1.Mul(m, c), t2.Mul(n, d))
		below.Sub(t1.Mul(n, b), t2.Mul(m, a))
		if above.Sign() == 0 {
			break // hi is x itself
		}
		// Compare x with the mediant (a+c)/(b+d): x ≤ mediant iff
		// n(b+d) ≤ m(a+c) iff below ≤ above.
		if below.Cmp(&above) <= 0 {
			// hi moves towards lo: the largest k with (c+ka)/(d+kb) ≥ x
			// is floor(above/below), cut so that c+ka and d+kb stay
			// within limit.
			k.Quo(&above, &below)
			if kb.Quo(kb.Sub(limit, d), b); k.Cmp(&kb) > 0 {
				k.Set(&kb)
			}
			if a.Sign() > 0 {
				if kb.Quo(kb.Sub(limit, c), a); k.Cmp(&kb) > 0 {
					k.Set(&kb)
				}
			}
			if k.Sign() == 0 {
				break // the mediant is out of bounds
			}
			c.Add(c, t1.Mul(&k, a))
			d.Add(d, t1.Mul(&k, b))
			continue
		}
		// lo moves towards hi: the largest k with (a+kc)/(b+kd) < x is
		// ceil(below/above) - 1 = floor((below-1)/above) ≥ 1.
		k.Quo(k.Sub(&below, big.NewInt(1)), &above)
		a.Add(a, t1.Mul(&k, c))
		b.Add(b, t1.Mul(&k, d))
		if a.Cmp(limit) > 0 || b.Cmp(limit) > 0 {
			break // every fraction between lo and hi is out of bounds
		}
	}
	if d.Sign() == 0 {
		return nil, nil, false
	}
	return c, d, true
}

// Fee is the exact fee in wei for archiving the given number of bytes at
// price p. It is a big.Rat because go-livepeer keeps balances as big.Rat
// and debits fractional wei; rounding here would make the sum of per-segment
// fees drift from the price of their total.
func Fee(p *lpnet.PriceInfo, bytes int64) (*big.Rat, error) {
	perByte, err := PerByte(p)
	if err != nil {
		return nil, err
	}
	if bytes < 0 {
		return nil, fmt.Errorf("%w: %d bytes", ErrInvalidSize, bytes)
	}
	return perByte.Mul(perByte, new(big.Rat).SetInt64(bytes)), nil
}

// SegmentBytes is the number of bytes a segment is billed for: the source
// and every rendition archived, since each one is stored and stamped on
// Swarm. Negative sizes and totals beyond math.MaxInt64 are refused rather
// than wrapped, so a malformed report can never turn into a tiny fee.
func SegmentBytes(source int64, renditions ...int64) (int64, error) {
	if source < 0 {
		return 0, fmt.Errorf("%w: source %d bytes", ErrInvalidSize, source)
	}
	total := source
	for i, r := range renditions {
		if r < 0 {
			return 0, fmt.Errorf("%w: rendition %d: %d bytes", ErrInvalidSize, i, r)
		}
		if r > math.MaxInt64-total {
			return 0, fmt.Errorf("%w: rendition %d", ErrOverflow, i)
		}
		total += r
	}
	return total, nil
}
