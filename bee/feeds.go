package bee

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// Header names of Bee's feed API.
const (
	HeaderFeedIndex     = "Swarm-Feed-Index"
	HeaderOnlyRootChunk = "Swarm-Only-Root-Chunk"
)

// ErrNoFeedUpdate: Bee found no update of the feed. Also matches
// ErrNotFound.
var ErrNoFeedUpdate = errors.New("feed has no update")

// noUpdate lists Bee's 404 messages (pkg/api/feed.go) that mean its lookup
// found no update: "no update found" when retrieving update 0 ended in
// "not found", "lookup at failed" when it ended otherwise, which is how an
// absent chunk ends on a small network (no peer left to ask). Bee cannot
// tell the second from a lookup that failed for another reason.
var noUpdate = map[string]bool{"no update found": true, "lookup at failed": true}

// SOCOptions says who pays for a single-owner chunk: the node with its own
// batch (BatchID), or a stamp signed by the caller (Stamp, 113 bytes).
type SOCOptions struct {
	BatchID string
	Stamp   []byte
}

// UploadSOC stores a single-owner chunk (POST /soc/{owner}/{id}?sig=). data
// is the wrapped content-addressed chunk: span | payload. Bee checks the
// signature and returns the chunk's address, keccak256(id | owner). Bee
// pushes single-owner chunks to the network directly, never deferred.
func (c *Client) UploadSOC(ctx context.Context, owner, id, sig, data []byte, o SOCOptions) (swarm.Address, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/octet-stream")
	switch {
	case o.Stamp != nil:
		h.Set(HeaderStamp, hex.EncodeToString(o.Stamp))
	case o.BatchID != "":
		h.Set(HeaderBatchID, o.BatchID)
	default:
		return swarm.ZeroAddress, fmt.Errorf("bee: upload soc: %w: neither a batch id nor a stamp", ErrBatchUnusable)
	}
	path := "/soc/" + hex.EncodeToString(owner) + "/" + hex.EncodeToString(id) + "?sig=" + url.QueryEscape(hex.EncodeToString(sig))
	res, err := c.upload(ctx, request{method: http.MethodPost, path: path, header: h, body: data})
	return res.Reference, err
}

// FeedUpdate is a feed's latest update as Bee resolves it.
type FeedUpdate struct {
	Index uint64
	// Root is the data (span | payload) of the chunk the update points at:
	// the root chunk of the content, e.g. a manifest's root node.
	Root []byte
}

// FeedLatest looks up the latest update of the sequence feed of owner and
// topic (GET /feeds/{owner}/{topic}). ErrNoFeedUpdate when Bee finds none;
// any other 404 (an update exists but what it points at cannot be
// retrieved) is ErrNotFound without ErrNoFeedUpdate, so that a caller does
// not mistake an unreadable feed for an empty one and rewrite update 0.
func (c *Client) FeedLatest(ctx context.Context, owner, topic []byte) (FeedUpdate, error) {
	path := "/feeds/" + hex.EncodeToString(owner) + "/" + hex.EncodeToString(topic)
	h := http.Header{}
	h.Set(HeaderOnlyRootChunk, "true")
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path, header: h})
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound && noUpdate[apiErr.Message] {
		return FeedUpdate{}, fmt.Errorf("%w: %w", ErrNoFeedUpdate, err)
	}
	if err != nil {
		return FeedUpdate{}, err
	}
	defer resp.Body.Close()
	raw, err := hex.DecodeString(resp.Header.Get(HeaderFeedIndex))
	if err != nil || len(raw) != 8 {
		return FeedUpdate{}, fmt.Errorf("bee: GET %s: bad %s header %q", path, HeaderFeedIndex, resp.Header.Get(HeaderFeedIndex))
	}
	root, err := io.ReadAll(io.LimitReader(resp.Body, swarm.ChunkWithSpanSize+1))
	if err != nil {
		return FeedUpdate{}, fmt.Errorf("bee: GET %s: read body: %w", path, err)
	}
	return FeedUpdate{Index: binary.BigEndian.Uint64(raw), Root: root}, nil
}
