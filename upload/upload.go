// Package upload stores files on Swarm through a Bee node, stamped either by
// the node (node-side: its own batch id) or by us (client-side: every chunk of
// the file tree carries a stamp signed with the operator's key).
//
// In both modes the reference is computed offline first, as Bee's own
// pipeline computes it, or given by whoever computed it from the same bytes
// (UploadKnown), and must equal what Bee answers: an archive's references
// never depend on trusting the node.
package upload

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/chunker"
)

// ErrReferenceMismatch: Bee answered a reference other than the one computed
// offline. The upload is not trusted.
var ErrReferenceMismatch = errors.New("reference from bee differs from the one computed offline")

// ErrTagsNotTracked: Tag was asked of an uploader made without
// Config.TrackTags.
var ErrTagsNotTracked = errors.New("upload: tags not tracked (Config.TrackTags)")

// ErrNoPostage: every batch a node-stamped uploader may use is full (Bee
// answered 402 "batch is overissued" for each). It is the uploader's
// trouble, not the file's: another uploader with postage can store it.
var ErrNoPostage = errors.New("no postage batch has room")

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
	// AbortGrace is how long Bee may still take to clean up an upload
	// session after its request broke off (see inflight); 5 s if zero.
	AbortGrace time.Duration
	// SkipVerify, node-side stamping only, trusts the reference Bee answers
	// instead of splitting the file offline to check it: the worker's
	// share of the hashing goes (the orchestrator still checks every
	// reported reference). Receipts then count no chunks, and the guard
	// against Bee's clean-up of a failed twin session (see inflight)
	// covers identical files only, not distinct files sharing a chunk.
	SkipVerify bool
	// TrackTags keeps the tag of every upload so that Tag can sum them
	// (archiver-node import waits for them to sync). Off for a worker that
	// runs for months: the list would grow with every file and nobody
	// reads it.
	TrackTags bool
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
	batches []string   // node-side stamping, in the order they are used
	stamper Stamper    // client-side stamping
	memo    *stampMemo // client-side: stamps already given to chunks

	inflight *inflight // the chunks of the uploads whose sessions may be open

	mu   sync.Mutex
	full map[string]bool // node-side batches Bee called overissued
	// The tags of the uploads not known to be synced, and the sums of
	// those that are (see Tag).
	tags   []uint64
	synced bee.Tag
}

// NodeStamped returns an uploader whose chunks the node stamps with batchID.
func NodeStamped(c *bee.Client, batchID string, cfg Config) *Uploader {
	return NodeStampedBatches(c, []string{batchID}, cfg)
}

// NodeStampedBatches returns an uploader whose chunks the node stamps with
// the first of batchIDs that has room. When Bee refuses a file because a
// batch is overissued, the batch is remembered as full and the whole file
// is uploaded again with the next one: the chunks already stored under the
// full batch stay (an immutable batch never overwrites), and the reference
// does not depend on the batch. With every batch full, Upload fails with
// ErrNoPostage until Recheck finds room.
func NodeStampedBatches(c *bee.Client, batchIDs []string, cfg Config) *Uploader {
	return &Uploader{
		bee: c, cfg: normalize(cfg), batches: slices.Clone(batchIDs), full: map[string]bool{}, inflight: newInflight(),
	}
}

// ClientStamped returns an uploader that stamps every chunk itself.
func ClientStamped(c *bee.Client, s Stamper, cfg Config) *Uploader {
	return &Uploader{bee: c, cfg: normalize(cfg), stamper: s, memo: newStampMemo(stampMemory), inflight: newInflight()}
}

func normalize(cfg Config) Config {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.AbortGrace <= 0 {
		cfg.AbortGrace = 5 * time.Second
	}
	return cfg
}

// Redundancy is the level every upload uses.
func (u *Uploader) Redundancy() redundancy.Level { return u.cfg.Redundancy }

// Upload stores data as one Swarm file and returns its receipt once Bee has
// accepted every chunk.
func (u *Uploader) Upload(ctx context.Context, data []byte) (Receipt, error) {
	return u.UploadKnown(ctx, data, Known{})
}

// Known is what the caller already computed of a file from the same bytes
// (chunker.Addresses at the uploader's redundancy level): the orchestrator
// describes every job's files once, for its own check of the reports.
type Known struct {
	Reference swarm.Address
	Chunks    []swarm.Address // every distinct chunk of the file's tree
}

// UploadKnown is Upload of a file whose reference and chunks are known:
// node-side, Bee's answer is compared with known.Reference instead of a
// reference computed here, and known.Chunks are held against Bee's
// clean-up of a failed twin upload, so the file is not split again; with
// SkipVerify nothing is compared. Client-side stamping splits the file
// anyway (it needs the chunks) and also checks known.Reference. A zero
// Known is Upload.
func (u *Uploader) UploadKnown(ctx context.Context, data []byte, known Known) (Receipt, error) {
	if u.stamper == nil {
		return u.uploadBytes(ctx, data, known)
	}
	return u.uploadChunks(ctx, data, known)
}

// track remembers an upload's tag for Tag, when asked to.
func (u *Uploader) track(tag uint64) {
	if tag == 0 || !u.cfg.TrackTags {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.tags = append(u.tags, tag)
}

// uploadBytes stores data with one POST /bytes, on a tag of its own that
// Bee makes for the request. Never on a tag shared with other uploads: Bee
// (2.7) keeps one "dirty" start time per tag, and when a deferred upload
// fails (its client gave up at a deadline, its connection broke, its batch
// was full) Bee's clean-up deletes every chunk counted on the tag since the
// latest upload on it started and not yet pushed: the chunks of the
// concurrent uploads that succeeded, whose references were already
// reported. Their files read back truncated (TestFailedUploadKeepsOthers).
// Client-side stamping makes a tag per file for the same reason.
//
// The file's chunks are held in u.inflight while its sessions may be open
// on Bee's side, and a success that followed a failed attempt is uploaded
// again once that attempt's clean-up is over (see inflight).
func (u *Uploader) uploadBytes(ctx context.Context, data []byte, known Known) (Receipt, error) {
	f, held, err := u.offline(ctx, data, known)
	if err != nil {
		return Receipt{}, fmt.Errorf("upload: %w", err)
	}
	release, err := u.inflight.acquire(ctx, held)
	if err != nil {
		return Receipt{}, fmt.Errorf("upload: wait for an upload of the same chunks: %w", err)
	}
	linger := u.cfg.AbortGrace // until this upload is known to be over on Bee's side
	defer func() { release(linger) }()
	var overissued error
	for {
		id := u.nextBatch()
		if id == "" {
			return Receipt{}, fmt.Errorf("upload: %w: %d batches full: %w", ErrNoPostage, len(u.batches), overissued)
		}
		res, err := u.bee.UploadBytes(ctx, data, bee.UploadOptions{
			BatchID: id, Redundancy: u.cfg.Redundancy, Direct: u.cfg.Direct,
		})
		if errors.Is(err, bee.ErrOverissued) {
			u.markFull(id)
			overissued = err
			continue
		}
		if err != nil {
			return Receipt{}, fmt.Errorf("upload: %w", err)
		}
		if f != nil && !res.Reference.Equal(f.Root) {
			return Receipt{}, fmt.Errorf("upload: %w: bee %s, offline %s", ErrReferenceMismatch, res.Reference, f.Root)
		}
		u.track(res.Tag)
		if res.Failed > 0 {
			// This session may have counted as seen chunks that a failed
			// attempt's session had put and Bee's clean-up of it deletes:
			// upload again once that is over, storing anew what it took.
			if err := sleep(ctx, u.cfg.AbortGrace); err != nil {
				return Receipt{}, fmt.Errorf("upload: wait for a failed attempt's clean-up: %w", err)
			}
			continue
		}
		linger = 0
		if f == nil {
			return Receipt{Reference: res.Reference, Bytes: int64(len(data)), Batches: []string{id}, Tag: res.Tag}, nil
		}
		return Receipt{Reference: f.Root, Bytes: f.Size, Chunks: f.Chunks, Batches: []string{id}, Tag: res.Tag}, nil
	}
}

// split is what an upload keeps of its offline split: not the chunks,
// which would hold a second copy of the file (and more: a 4,104-byte chunk
// takes a 4,864-byte allocation) for as long as Bee takes, 0.7× a job's
// bytes more on a worker (docs/benchmarks-history.md, memory).
type split struct {
	Root   swarm.Address
	Size   int64
	Chunks int
}

// offline splits data to know its reference and the chunks an upload of
// it holds in u.inflight, unless they are known. With SkipVerify there is
// no split (f is nil) and, unless the chunks are known, the content's
// SHA-256 stands for them: identical files still wait for each other.
func (u *Uploader) offline(ctx context.Context, data []byte, known Known) (f *split, held []swarm.Address, err error) {
	switch {
	case !known.Reference.IsZero() && u.cfg.SkipVerify:
		return nil, known.Chunks, nil
	case !known.Reference.IsZero():
		return &split{Root: known.Reference, Size: int64(len(data)), Chunks: len(known.Chunks)}, known.Chunks, nil
	case u.cfg.SkipVerify:
		sum := sha256.Sum256(data)
		return nil, []swarm.Address{swarm.NewAddress(sum[:])}, nil
	}
	file, err := chunker.Split(ctx, data, u.cfg.Redundancy)
	if err != nil {
		return nil, nil, err
	}
	return &split{Root: file.Root, Size: file.Size, Chunks: len(file.Chunks)}, file.Addresses(), nil
}

// nextBatch is the first node-side batch not known to be full; "" if none.
func (u *Uploader) nextBatch() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, id := range u.batches {
		if !u.full[id] {
			return id
		}
	}
	return ""
}

func (u *Uploader) markFull(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.full[id] = true
}

// Full lists the node-side batches known to be full, in order of use.
func (u *Uploader) Full() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, id := range u.batches {
		if u.full[id] {
			out = append(out, id)
		}
	}
	return out
}

// Recheck asks Bee again about the node-side batches known to be full and
// forgets those that have room now (diluted, so their buckets grew): a
// usable batch whose fullest bucket is below its capacity. It reports
// whether any batch may be used. A client-stamped uploader has no batches
// of its own to check and reports true: its stamper decides on the next
// upload.
func (u *Uploader) Recheck(ctx context.Context) (bool, error) {
	if u.stamper != nil {
		return true, nil
	}
	var errs []error
	for _, id := range u.Full() {
		b, err := u.bee.Batch(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("batch %s: %w", id, err))
			continue
		}
		if b.Usable && b.Depth > b.BucketDepth && uint64(b.Utilization) < uint64(1)<<(b.Depth-b.BucketDepth) {
			u.mu.Lock()
			delete(u.full, id)
			u.mu.Unlock()
		}
	}
	return u.nextBatch() != "", errors.Join(errs...)
}

// Tag reports the progress of everything this uploader stored: the sums
// over its uploads' tags (UID is the latest). Tags found synced are summed
// once and not read again. It needs Config.TrackTags.
func (u *Uploader) Tag(ctx context.Context) (bee.Tag, error) {
	if !u.cfg.TrackTags {
		return bee.Tag{}, ErrTagsNotTracked
	}
	u.mu.Lock()
	tags, sum := slices.Clone(u.tags), u.synced
	u.mu.Unlock()
	done := map[uint64]bee.Tag{}
	for _, uid := range tags {
		t, err := u.bee.Tag(ctx, uid)
		if err != nil {
			return bee.Tag{}, err
		}
		addTag(&sum, t)
		if t.Done() {
			done[uid] = t
		}
	}
	u.mu.Lock()
	u.tags = slices.DeleteFunc(u.tags, func(uid uint64) bool {
		t, ok := done[uid]
		if ok {
			addTag(&u.synced, t)
		}
		return ok
	})
	u.mu.Unlock()
	if len(tags) > 0 {
		sum.UID = tags[len(tags)-1]
	}
	return sum, nil
}

func addTag(sum *bee.Tag, t bee.Tag) {
	sum.Split += t.Split
	sum.Seen += t.Seen
	sum.Stored += t.Stored
	sum.Sent += t.Sent
	sum.Synced += t.Synced
}
