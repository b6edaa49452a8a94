package watch

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"time"

	"github.com/lpswarm/archiver/bee"
)

// NodeBatches reads batches a Bee node owns (node-side stamping), with
// their utilization.
type NodeBatches struct{ Client *bee.Client }

// Batch implements Source.
func (s NodeBatches) Batch(ctx context.Context, id string) (Batch, error) {
	b, err := s.Client.Batch(ctx, id)
	if err != nil {
		return Batch{}, err
	}
	capacity := float64(uint64(1) << (b.Depth - b.BucketDepth))
	return withPrice(ctx, s.Client, Batch{ID: id, Depth: b.Depth, TTL: ttl(b.BatchTTL),
		Utilization: float64(b.Utilization) / capacity})
}

// ChainBatches reads any owner's batches from a Bee node's view of the
// chain (client-side stamping: the operator's key owns the batch, and only
// the local issuer knows how full it is).
type ChainBatches struct{ Client *bee.Client }

// Batch implements Source.
func (s ChainBatches) Batch(ctx context.Context, id string) (Batch, error) {
	b, err := s.Client.ChainBatch(ctx, id)
	if err != nil {
		return Batch{}, err
	}
	return withPrice(ctx, s.Client, Batch{ID: id, Depth: b.Depth, TTL: ttl(b.BatchTTL), Utilization: -1})
}

// withPrice completes b with the current storage price.
func withPrice(ctx context.Context, c *bee.Client, b Batch) (Batch, error) {
	cs, err := c.ChainState(ctx)
	if err != nil {
		return Batch{}, err
	}
	b.Price = cs.CurrentPrice.Int
	return b, nil
}

// ttl converts Bee's seconds, which for dev batches exceed time.Duration.
func ttl(seconds int64) time.Duration {
	if seconds > int64(1<<62/time.Second) {
		return 1 << 62
	}
	return time.Duration(seconds) * time.Second
}

// NodeTopUp tops up batches a Bee node owns, from the node's wallet.
type NodeTopUp struct{ Client *bee.Client }

// TopUp implements TopUpper. Bee answers 4xx before it sends anything
// (bad batch, out of funds), so those are ErrNotSent.
func (t NodeTopUp) TopUp(ctx context.Context, id string, amountPerChunk *big.Int) (string, error) {
	tx, err := t.Client.TopUpBatch(ctx, id, amountPerChunk)
	var apiErr *bee.APIError
	if errors.As(err, &apiErr) && apiErr.Status >= http.StatusBadRequest && apiErr.Status < http.StatusInternalServerError {
		return "", fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	return tx, err
}
