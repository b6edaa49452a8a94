package postage

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// Chain rules of the postage contract on Gnosis mainnet
// (github.com/ethersphere/storage-incentives, src/PostageStamp.sol).
const (
	// MainnetBucketDepth is the contract's minimumBucketDepth; Bee always
	// buys batches with exactly this bucket depth.
	MainnetBucketDepth = 16
	// MinDepth is the smallest depth the contract accepts: it requires
	// bucketDepth < depth.
	MinDepth = MainnetBucketDepth + 1
	// MinimumValidityBlocks is the contract's minimumValidityBlocks: a batch
	// must be funded for at least this many blocks (24 h of 5 s blocks).
	MinimumValidityBlocks = 17280
)

// Issuer limits. They are not chain rules: they bound memory and keep
// counters in the uint32 the stamp index format allows.
const (
	// MaxBucketDepth bounds the counter table (2^MaxBucketDepth entries).
	MaxBucketDepth = 20
	// maxSlotDepth is the largest depth-bucketDepth whose per-bucket count
	// (up to and including a full bucket) fits the uint32 counters.
	maxSlotDepth = 31
)

var (
	// ErrInvalidBatch reports a Batch that breaks a chain rule or an issuer
	// limit.
	ErrInvalidBatch = errors.New("invalid postage batch")
	// ErrInvalidBatchID reports a batch ID that is not 32 hex-encoded bytes.
	ErrInvalidBatchID = errors.New("invalid batch ID")
)

// Batch describes a postage batch as bought on chain.
type Batch struct {
	ID    [32]byte
	Owner common.Address
	// Depth is log2 of the number of chunks the batch can stamp.
	Depth uint8
	// BucketDepth is log2 of the number of collision buckets.
	BucketDepth uint8
	// Amount is the per-chunk amount paid in PLUR (Bee's /stamps "amount").
	// It is not the normalised balance; see BatchTTL.
	Amount *big.Int
	// Immutable batches refuse stamps once a bucket is full. This package
	// never wraps either kind.
	Immutable bool
	// BlockNumber is the block the batch was created in.
	BlockNumber uint64
	// Lease restricts this issuer to part of every bucket, so several
	// issuers (one per worker) can share the batch without ever using the
	// same index. The zero value is the whole bucket.
	Lease Lease
}

// Lease is a range of counters [From, To) in every bucket of a batch.
type Lease struct {
	From, To uint32
}

// counters returns the absolute counter range an issuer of b may use.
func (b Batch) counters() (from, to uint64) {
	if b.Lease == (Lease{}) {
		return 0, b.BucketCapacity()
	}
	return uint64(b.Lease.From), uint64(b.Lease.To)
}

// Validate checks b against the postage contract's creation rules and the
// issuer's limits. Use it on batches read from configuration or the chain.
// OpenIssuer only enforces the structural subset (see checkShape) so that
// tests and private chains can use tiny batches.
func (b Batch) Validate() error {
	if err := b.checkShape(); err != nil {
		return err
	}
	if b.BucketDepth < MainnetBucketDepth {
		return fmt.Errorf("%w: bucket depth %d below chain minimum %d", ErrInvalidBatch, b.BucketDepth, MainnetBucketDepth)
	}
	if b.Depth < MinDepth {
		return fmt.Errorf("%w: depth %d below chain minimum %d", ErrInvalidBatch, b.Depth, MinDepth)
	}
	if b.Amount == nil || b.Amount.Sign() <= 0 {
		return fmt.Errorf("%w: amount must be positive", ErrInvalidBatch)
	}
	return nil
}

// checkShape enforces what the issuer itself relies on.
func (b Batch) checkShape() error {
	switch {
	case b.ID == [32]byte{}:
		return fmt.Errorf("%w: zero batch ID", ErrInvalidBatch)
	case b.Owner == common.Address{}:
		return fmt.Errorf("%w: zero owner", ErrInvalidBatch)
	case b.BucketDepth == 0:
		return fmt.Errorf("%w: bucket depth must be positive", ErrInvalidBatch)
	case b.BucketDepth > MaxBucketDepth:
		return fmt.Errorf("%w: bucket depth %d above %d", ErrInvalidBatch, b.BucketDepth, MaxBucketDepth)
	case b.BucketDepth >= b.Depth:
		return fmt.Errorf("%w: bucket depth %d must be below depth %d", ErrInvalidBatch, b.BucketDepth, b.Depth)
	case b.Depth-b.BucketDepth > maxSlotDepth:
		return fmt.Errorf("%w: depth %d exceeds bucket depth %d by more than %d", ErrInvalidBatch, b.Depth, b.BucketDepth, maxSlotDepth)
	case b.Lease != (Lease{}) && (b.Lease.From >= b.Lease.To || uint64(b.Lease.To) > b.BucketCapacity()):
		return fmt.Errorf("%w: lease [%d, %d) outside the bucket capacity %d", ErrInvalidBatch, b.Lease.From, b.Lease.To, b.BucketCapacity())
	}
	return nil
}

// BucketCapacity is the number of stamps each bucket holds,
// 2^(Depth-BucketDepth).
func (b Batch) BucketCapacity() uint64 {
	return 1 << (b.Depth - b.BucketDepth)
}

// ParseBatchID decodes a hex batch ID, with or without a 0x prefix.
func ParseBatchID(s string) ([32]byte, error) {
	var id [32]byte
	raw := s
	if strings.HasPrefix(raw, "0x") || strings.HasPrefix(raw, "0X") {
		raw = raw[2:]
	}
	if hex.DecodedLen(len(raw)) != len(id) {
		return id, fmt.Errorf("%w: %q: want 64 hex digits", ErrInvalidBatchID, s)
	}
	if _, err := hex.Decode(id[:], []byte(raw)); err != nil {
		return id, fmt.Errorf("%w: %q: %w", ErrInvalidBatchID, s, err)
	}
	return id, nil
}
