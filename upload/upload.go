// Package upload stores files on Swarm through a Bee node, stamped either by
// the node (node-side: its own batch id) or by us (client-side: every chunk of
// the file tree carries a stamp signed with the operator's key).
//
// In both modes the reference is computed offline first with Bee's own
// pipeline and must equal what Bee answers: an archive's references never
// depend on trusting the node.
package upload

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/chunker"
)

// ErrReferenceMismatch: Bee answered a reference other than the one computed
// offline. The upload is not trusted.
var ErrReferenceMismatch = errors.New("reference from bee differs from the one computed offline")

// Stamper issues client-side stamps for all chunks of one file at once;
// postage.Issuer implements it. A chunk is stamped once per uploader: a
// retried upload, or the same chunk in a later file, reuses its stamp and
// consumes no new index (see Uploader.stamp).
type Stamper interface {
	Stamp(ctx context.Context, addrs []swarm.Address) ([]*beepostage.Stamp, error)
}

// Config tunes an Uploader.
type Config struct {
	// Redundancy is the erasure-coding level sent with every upload.
	Redundancy redundancy.Level
	// Direct pushes chunks to the network synchronously. Dev nodes accept
	// only deferred uploads; on a real network deferred uploads are synced
	// in the background and tracked by the uploader's tag.
	Direct bool
	// Concurrency bounds parallel /chunks requests in client-side mode.
	Concurrency int
}

// Receipt describes one stored file.
type Receipt struct {
	Reference swarm.Address
	Bytes     int64    // payload bytes
	Chunks    int      // chunks stamped: data, intermediate, parity, replicas
	Batches   []string // batch ids that paid for the chunks (hex)
	Tag       uint64   // Bee tag counting the chunks
}

// Uploader stores files on one Bee node. It is safe for concurrent use.
type Uploader struct {
	bee     *bee.Client
	cfg     Config
	batchID string     // node-side stamping
	stamper Stamper    // client-side stamping
	memo    *stampMemo // client-side: stamps already given to chunks

	mu  sync.Mutex
	tag uint64
}

// NodeStamped returns an uploader whose chunks the node stamps with batchID.
func NodeStamped(c *bee.Client, batchID string, cfg Config) *Uploader {
	return &Uploader{bee: c, cfg: normalize(cfg), batchID: batchID}
}

// ClientStamped returns an uploader that stamps every chunk itself.
func ClientStamped(c *bee.Client, s Stamper, cfg Config) *Uploader {
	return &Uploader{bee: c, cfg: normalize(cfg), stamper: s, memo: newStampMemo(stampMemory)}
}

func normalize(cfg Config) Config {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	return cfg
}

// Redundancy is the level every upload uses.
func (u *Uploader) Redundancy() redundancy.Level { return u.cfg.Redundancy }

// Upload stores data as one Swarm file and returns its receipt once Bee has
// accepted every chunk.
func (u *Uploader) Upload(ctx context.Context, data []byte) (Receipt, error) {
	tag, err := u.ensureTag(ctx)
	if err != nil {
		return Receipt{}, err
	}
	if u.stamper != nil {
		return u.uploadChunks(ctx, data, tag)
	}
	return u.uploadBytes(ctx, data, tag)
}

func (u *Uploader) uploadBytes(ctx context.Context, data []byte, tag uint64) (Receipt, error) {
	f, err := chunker.Split(ctx, data, u.cfg.Redundancy)
	if err != nil {
		return Receipt{}, fmt.Errorf("upload: %w", err)
	}
	res, err := u.bee.UploadBytes(ctx, data, bee.UploadOptions{
		BatchID: u.batchID, Redundancy: u.cfg.Redundancy, Tag: tag, Direct: u.cfg.Direct,
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("upload: %w", err)
	}
	if !res.Reference.Equal(f.Root) {
		return Receipt{}, fmt.Errorf("upload: %w: bee %s, offline %s", ErrReferenceMismatch, res.Reference, f.Root)
	}
	return Receipt{Reference: f.Root, Bytes: f.Size, Chunks: len(f.Chunks), Batches: []string{u.batchID}, Tag: tag}, nil
}

// ensureTag creates the uploader's tag on first use; all its uploads count
// on it, so one tag tells whether an archive has reached the network.
func (u *Uploader) ensureTag(ctx context.Context) (uint64, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.tag != 0 {
		return u.tag, nil
	}
	t, err := u.bee.CreateTag(ctx)
	if err != nil {
		return 0, fmt.Errorf("upload: create tag: %w", err)
	}
	u.tag = t.UID
	return u.tag, nil
}

// Tag reports the progress of everything this uploader stored.
func (u *Uploader) Tag(ctx context.Context) (bee.Tag, error) {
	tag, err := u.ensureTag(ctx)
	if err != nil {
		return bee.Tag{}, err
	}
	return u.bee.Tag(ctx, tag)
}
