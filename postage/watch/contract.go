package watch

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/postage/onchain"
)

// ContractBatches reads batches straight from the PostageStamp contract:
// for batches the operator's key owns, without asking Bee for its whole
// batch list.
type ContractBatches struct{ Client *onchain.Client }

// Batch implements Source.
func (s ContractBatches) Batch(ctx context.Context, id string) (Batch, error) {
	parsed, err := postage.ParseBatchID(id)
	if err != nil {
		return Batch{}, err
	}
	b, err := s.Client.Batch(ctx, parsed)
	if err != nil {
		return Batch{}, err
	}
	return Batch{ID: id, Depth: b.Depth, TTL: b.TTL, Price: b.Price, Utilization: -1}, nil
}

// ContractTopUp tops up batches the operator's key owns, from the key's
// BZZ: approve, then topUp on the contract.
type ContractTopUp struct{ Client *onchain.Client }

// notSent are the onchain errors raised before any BZZ can move: checks
// made before sending, and a reverted transaction (which moves nothing).
var notSent = []error{onchain.ErrNoKey, onchain.ErrWrongChain, onchain.ErrNoContract, onchain.ErrNoBatch,
	onchain.ErrNotOwner, onchain.ErrAmountTooLow, onchain.ErrExpired, onchain.ErrInsufficientBZZ,
	onchain.ErrInsufficientETH, onchain.ErrPaused, onchain.ErrWouldRevert, onchain.ErrReverted}

// TopUp implements TopUpper; it returns the topUp transaction's hash.
func (t ContractTopUp) TopUp(ctx context.Context, id string, amountPerChunk *big.Int) (string, error) {
	parsed, err := postage.ParseBatchID(id)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	txs, err := t.Client.TopUp(ctx, parsed, amountPerChunk)
	if err != nil {
		for _, e := range notSent {
			if errors.Is(err, e) {
				return "", fmt.Errorf("%w: %w", ErrNotSent, err)
			}
		}
		return "", err
	}
	for _, tx := range txs {
		if tx.Label == "topUp" {
			return tx.Hash.Hex(), nil
		}
	}
	return "", fmt.Errorf("top-up of %s: no topUp transaction among %d sent", id, len(txs))
}
