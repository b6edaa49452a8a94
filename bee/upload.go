package bee

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// UploadOptions are the Swarm headers of an upload.
type UploadOptions struct {
	// BatchID asks the node to stamp with its own batch (node-side stamping).
	BatchID string
	// Redundancy is always sent: Bee versions differ in their default, and
	// the level changes both the reference and the cost.
	Redundancy redundancy.Level
	// Tag groups the upload's chunks for sync tracking; 0 lets Bee create one.
	Tag uint64
	// Direct asks for a synchronous push to the network instead of a
	// deferred upload. Dev nodes accept only deferred uploads.
	Direct bool
	// Pin keeps a local copy on the node.
	Pin bool
}

func (o UploadOptions) header() http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/octet-stream")
	if o.BatchID != "" {
		h.Set(HeaderBatchID, o.BatchID)
	}
	h.Set(HeaderRedundancy, strconv.Itoa(int(o.Redundancy)))
	h.Set(HeaderDeferred, strconv.FormatBool(!o.Direct))
	if o.Tag != 0 {
		h.Set(HeaderTag, strconv.FormatUint(o.Tag, 10))
	}
	if o.Pin {
		h.Set(HeaderPin, "true")
	}
	return h
}

// UploadResult is Bee's answer to an upload.
type UploadResult struct {
	Reference swarm.Address
	Tag       uint64 // the tag Bee counted the chunks on
	// Failed counts the attempts before the successful one that may have
	// reached Bee. Bee may still be cleaning up their upload sessions,
	// which can delete chunks this upload found there already.
	Failed int
}

type referenceAnswer struct {
	Reference string `json:"reference"`
}

// UploadBytes stores data as a Swarm file with node-side stamping (/bytes).
func (c *Client) UploadBytes(ctx context.Context, data []byte, o UploadOptions) (UploadResult, error) {
	if o.BatchID == "" {
		return UploadResult{}, fmt.Errorf("bee: upload bytes: %w: no batch id", ErrBatchUnusable)
	}
	return c.upload(ctx, request{method: http.MethodPost, path: "/bytes", header: o.header(), body: data})
}

// UploadChunk stores one content-addressed chunk (span | payload) with a
// stamp signed by the caller (client-side stamping), counted on tag.
func (c *Client) UploadChunk(ctx context.Context, chunkData, stamp []byte, tag uint64, direct bool) (UploadResult, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/octet-stream")
	h.Set(HeaderStamp, hex.EncodeToString(stamp))
	h.Set(HeaderDeferred, strconv.FormatBool(!direct))
	if tag != 0 {
		h.Set(HeaderTag, strconv.FormatUint(tag, 10))
	}
	return c.upload(ctx, request{method: http.MethodPost, path: "/chunks", header: h, body: chunkData})
}

func (c *Client) upload(ctx context.Context, req request) (UploadResult, error) {
	resp, failed, err := c.doCounting(ctx, req)
	if err != nil {
		return UploadResult{}, err
	}
	defer resp.Body.Close()
	var ans referenceAnswer
	if err := decode(resp, &ans); err != nil {
		return UploadResult{}, fmt.Errorf("bee: %s %s: %w", req.method, req.path, err)
	}
	ref, err := swarm.ParseHexAddress(ans.Reference)
	if err != nil {
		return UploadResult{}, fmt.Errorf("bee: %s %s: bad reference %q: %w", req.method, req.path, ans.Reference, err)
	}
	res := UploadResult{Reference: ref, Failed: failed}
	if t := resp.Header.Get(HeaderTag); t != "" {
		res.Tag, _ = strconv.ParseUint(t, 10, 64)
	}
	return res, nil
}

// Tag is Bee's progress record of an upload.
type Tag struct {
	UID     uint64 `json:"uid"`
	Split   int64  `json:"split"`
	Seen    int64  `json:"seen"`
	Stored  int64  `json:"stored"`
	Sent    int64  `json:"sent"`
	Synced  int64  `json:"synced"`
	Address string `json:"address"`
}

// Done reports whether every chunk counted on the tag reached the network.
// Chunks already present ("seen") need no sync.
func (t Tag) Done() bool {
	return t.Split > 0 && t.Synced+t.Seen >= t.Split
}

// CreateTag starts a new upload tag.
func (c *Client) CreateTag(ctx context.Context) (Tag, error) {
	var t Tag
	err := c.sendJSON(ctx, request{method: http.MethodPost, path: "/tags"}, &t)
	return t, err
}

// Tag reads an upload tag.
func (c *Client) Tag(ctx context.Context, uid uint64) (Tag, error) {
	var t Tag
	err := c.getJSON(ctx, "/tags/"+strconv.FormatUint(uid, 10), &t)
	return t, err
}
