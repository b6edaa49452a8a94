package bee

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Batch is Bee's view of one of its own postage batches (/stamps/{id}).
type Batch struct {
	BatchID       string `json:"batchID"`
	Utilization   uint32 `json:"utilization"`
	Usable        bool   `json:"usable"`
	Label         string `json:"label"`
	Depth         uint8  `json:"depth"`
	Amount        BigInt `json:"amount"` // PLUR per chunk
	BucketDepth   uint8  `json:"bucketDepth"`
	BlockNumber   uint64 `json:"blockNumber"`
	ImmutableFlag bool   `json:"immutableFlag"`
	Exists        bool   `json:"exists"`
	BatchTTL      int64  `json:"batchTTL"` // seconds
}

// BuyBatch asks the node to buy a postage batch with its own key and returns
// the batch id (hex). On a dev node the batch is usable at once.
func (c *Client) BuyBatch(ctx context.Context, amount *big.Int, depth uint8, label string, immutable bool) (string, error) {
	path := fmt.Sprintf("/stamps/%s/%d", amount.String(), depth)
	if label != "" {
		path += "?label=" + url.QueryEscape(label)
	}
	h := http.Header{}
	h.Set("Immutable", strconv.FormatBool(immutable))
	var ans struct {
		BatchID string `json:"batchID"`
	}
	c2 := c.single()
	if err := c2.sendJSON(ctx, request{method: http.MethodPost, path: path, header: h}, &ans); err != nil {
		return "", err
	}
	return ans.BatchID, nil
}

// Batch reads one of the node's batches; ErrNotFound when the node has none
// by that id.
func (c *Client) Batch(ctx context.Context, id string) (Batch, error) {
	var b Batch
	if err := c.getJSON(ctx, "/stamps/"+url.PathEscape(id), &b); err != nil {
		return Batch{}, err
	}
	return b, nil
}

// BigInt decodes Bee's decimal-string integers.
type BigInt struct{ *big.Int }

// UnmarshalJSON accepts "123" and 123.
func (b *BigInt) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return fmt.Errorf("bee: bad integer %q", s)
	}
	b.Int = v
	return nil
}

// ChainBatch is a batch as the node sees it on chain (/batches): any
// owner's, not only the node's own.
type ChainBatch struct {
	BatchID     string `json:"batchID"`
	Value       BigInt `json:"value"` // normalised balance, PLUR per chunk
	Start       uint64 `json:"start"` // block number of creation
	Owner       string `json:"owner"` // hex address without 0x
	Depth       uint8  `json:"depth"`
	BucketDepth uint8  `json:"bucketDepth"`
	Immutable   bool   `json:"immutable"`
	BatchTTL    int64  `json:"batchTTL"` // seconds
}

// ChainBatch looks a batch up in the node's view of the chain; ErrNotFound
// when the node does not know it (yet: a new batch shows up after a few
// blocks).
func (c *Client) ChainBatch(ctx context.Context, id string) (ChainBatch, error) {
	var ans struct {
		Batches []ChainBatch `json:"batches"`
	}
	if err := c.getJSON(ctx, "/batches", &ans); err != nil {
		return ChainBatch{}, err
	}
	for _, b := range ans.Batches {
		if strings.EqualFold(b.BatchID, strings.TrimPrefix(id, "0x")) {
			return b, nil
		}
	}
	return ChainBatch{}, fmt.Errorf("bee: batch %s: %w", id, ErrNotFound)
}

// single is the client for a call that is not idempotent (buying, topping
// up): never retried, and sent on a fresh connection, because a pooled
// one the node has just closed fails with a bare EOF that cannot tell
// "not received" from "received".
func (c *Client) single() *Client {
	c2 := *c
	c2.retry = Retry{Attempts: 1}
	hc := *c.http
	switch t := hc.Transport.(type) {
	case nil:
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DisableKeepAlives = true
		hc.Transport = tr
	case *http.Transport:
		tr := t.Clone()
		tr.DisableKeepAlives = true
		hc.Transport = tr
	}
	c2.http = &hc
	return &c2
}
