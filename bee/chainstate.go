package bee

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
)

// ChainState is the node's view of the postage contract (/chainstate).
type ChainState struct {
	ChainTip uint64 `json:"chainTip"` // latest block
	Block    uint64 `json:"block"`    // block of the last postage event the node processed
	// TotalAmount is the cumulative PLUR per chunk paid out since the
	// contract started: a batch whose normalised balance (ChainBatch.Value,
	// Batch.Amount) is at or below it has expired.
	TotalAmount BigInt `json:"totalAmount"`
	// CurrentPrice is PLUR per chunk per block.
	CurrentPrice BigInt `json:"currentPrice"`
}

// ChainState reads the node's postage chain state.
func (c *Client) ChainState(ctx context.Context) (ChainState, error) {
	var s ChainState
	if err := c.getJSON(ctx, "/chainstate", &s); err != nil {
		return ChainState{}, err
	}
	if s.TotalAmount.Int == nil || s.CurrentPrice.Int == nil {
		return ChainState{}, fmt.Errorf("bee: GET /chainstate: answer lacks totalAmount or currentPrice")
	}
	return s, nil
}

// TopUpBatch asks the node to top up one of its own batches by amount PLUR
// per chunk, paid from the node's wallet; it returns the transaction hash.
// Like buying, topping up is not idempotent: it is never retried.
func (c *Client) TopUpBatch(ctx context.Context, id string, amount *big.Int) (string, error) {
	if amount == nil || amount.Sign() <= 0 {
		return "", fmt.Errorf("bee: top-up amount %v: must be positive", amount)
	}
	var ans struct {
		TxHash string `json:"txHash"`
	}
	c2 := c.single()
	path := "/stamps/topup/" + url.PathEscape(id) + "/" + amount.String()
	if err := c2.sendJSON(ctx, request{method: http.MethodPatch, path: path}, &ans); err != nil {
		return "", err
	}
	return ans.TxHash, nil
}
