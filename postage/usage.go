package postage

import (
	"fmt"
	"slices"
)

// BatchUsage is a read-only view of one batch's issuance.
type BatchUsage struct {
	ID          [32]byte
	Depth       uint8
	BucketDepth uint8
	Immutable   bool
	// Issued counts reserved indices, including any a crash or a failed
	// call wasted.
	Issued uint64
	// MaxBucketCount is the fullest bucket's count, what Bee calls the
	// batch's utilization.
	MaxBucketCount uint32
}

// Utilization is MaxBucketCount as a fraction of the bucket capacity.
func (u BatchUsage) Utilization() float64 {
	return Utilization(u.MaxBucketCount, u.Depth, u.BucketDepth)
}

// Usage reports every configured batch, in configuration order.
func (is *Issuer) Usage() []BatchUsage {
	is.mu.Lock()
	defer is.mu.Unlock()
	out := make([]BatchUsage, 0, len(is.batches))
	for _, bs := range is.batches {
		b := bs.batch
		out = append(out, BatchUsage{
			ID:             b.ID,
			Depth:          b.Depth,
			BucketDepth:    b.BucketDepth,
			Immutable:      b.Immutable,
			Issued:         bs.issued,
			MaxBucketCount: bs.maxCount,
		})
	}
	return out
}

// BucketCounters returns a copy of a batch's per-bucket counters: entry i
// is the number of indices reserved in bucket i.
func (is *Issuer) BucketCounters(id [32]byte) ([]uint32, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	for _, bs := range is.batches {
		if bs.batch.ID == id {
			return slices.Clone(bs.counters), nil
		}
	}
	return nil, fmt.Errorf("%w: %x", ErrUnknownBatch, id)
}
