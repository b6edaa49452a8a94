package upload

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"sync/atomic"

	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver/chunker"
)

// uploadChunks splits data offline, stamps every chunk with the client's
// key and posts the chunks one by one to /chunks, on a tag of the file's
// own (see uploadBytes).
//
// Each post is a session of its own, but Bee keeps one start time per tag,
// and a post that fails has Bee clean up every chunk put on the tag since
// the latest post on it started: chunks of this file's concurrent posts
// that succeeded. So the file's chunks are held in u.inflight (other
// uploads must not count them as seen meanwhile), and when any post had a
// failed attempt, all are posted again on a fresh tag once the clean-up is
// over, with the same stamps: no batch index is used twice.
func (u *Uploader) uploadChunks(ctx context.Context, data []byte, known Known) (Receipt, error) {
	f, err := chunker.Split(ctx, data, u.cfg.Redundancy)
	if err != nil {
		return Receipt{}, fmt.Errorf("upload: %w", err)
	}
	if !known.Reference.IsZero() && !known.Reference.Equal(f.Root) {
		return Receipt{}, fmt.Errorf("upload: %w: given %s, split %s", ErrReferenceMismatch, known.Reference, f.Root)
	}
	release, err := u.inflight.acquire(ctx, f.Addresses())
	if err != nil {
		return Receipt{}, fmt.Errorf("upload: wait for an upload of the same chunks: %w", err)
	}
	linger := u.cfg.AbortGrace // until this upload is known to be over on Bee's side
	defer func() { release(linger) }()
	stamps, err := u.stamp(ctx, f.Addresses())
	if err != nil {
		return Receipt{}, fmt.Errorf("upload: stamp %d chunks: %w", len(f.Chunks), err)
	}
	if len(stamps) != len(f.Chunks) {
		return Receipt{}, fmt.Errorf("upload: stamper returned %d stamps for %d chunks", len(stamps), len(f.Chunks))
	}
	for {
		t, err := u.bee.CreateTag(ctx)
		if err != nil {
			return Receipt{}, fmt.Errorf("upload: create tag: %w", err)
		}
		var failed atomic.Int64
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(u.cfg.Concurrency)
		for i, ch := range f.Chunks {
			g.Go(func() error {
				n, err := u.postChunk(gctx, ch, stamps[i], t.UID)
				failed.Add(int64(n))
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return Receipt{}, err
		}
		u.track(t.UID)
		if failed.Load() > 0 {
			if err := sleep(ctx, u.cfg.AbortGrace); err != nil {
				return Receipt{}, fmt.Errorf("upload: wait for a failed post's clean-up: %w", err)
			}
			continue
		}
		linger = 0
		return Receipt{Reference: f.Root, Bytes: f.Size, Chunks: len(f.Chunks), Batches: batchesOf(stamps), Tag: t.UID}, nil
	}
}

// postChunk posts one chunk and returns how many failed attempts preceded
// the answer.
func (u *Uploader) postChunk(ctx context.Context, ch swarm.Chunk, st *beepostage.Stamp, tag uint64) (int, error) {
	raw, err := st.MarshalBinary()
	if err != nil {
		return 0, fmt.Errorf("upload: marshal stamp: %w", err)
	}
	res, err := u.bee.UploadChunk(ctx, ch.Data(), raw, tag, u.cfg.Direct)
	if err != nil {
		return 0, fmt.Errorf("upload: chunk %s: %w", ch.Address(), err)
	}
	if !res.Reference.Equal(ch.Address()) {
		return res.Failed, fmt.Errorf("upload: chunk: %w: bee %s, offline %s", ErrReferenceMismatch, res.Reference, ch.Address())
	}
	return res.Failed, nil
}

func batchesOf(stamps []*beepostage.Stamp) []string {
	set := map[string]struct{}{}
	for _, st := range stamps {
		set[hex.EncodeToString(st.BatchID())] = struct{}{}
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
