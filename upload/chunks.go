package upload

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"

	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver/chunker"
)

// uploadChunks splits data offline, stamps every chunk with the client's
// key and posts the chunks one by one to /chunks.
func (u *Uploader) uploadChunks(ctx context.Context, data []byte, tag uint64) (Receipt, error) {
	f, err := chunker.Split(ctx, data, u.cfg.Redundancy)
	if err != nil {
		return Receipt{}, fmt.Errorf("upload: %w", err)
	}
	stamps, err := u.stamp(ctx, f.Addresses())
	if err != nil {
		return Receipt{}, fmt.Errorf("upload: stamp %d chunks: %w", len(f.Chunks), err)
	}
	if len(stamps) != len(f.Chunks) {
		return Receipt{}, fmt.Errorf("upload: stamper returned %d stamps for %d chunks", len(stamps), len(f.Chunks))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(u.cfg.Concurrency)
	for i, ch := range f.Chunks {
		g.Go(func() error { return u.postChunk(gctx, ch, stamps[i], tag) })
	}
	if err := g.Wait(); err != nil {
		return Receipt{}, err
	}
	return Receipt{Reference: f.Root, Bytes: f.Size, Chunks: len(f.Chunks), Batches: batchesOf(stamps), Tag: tag}, nil
}

func (u *Uploader) postChunk(ctx context.Context, ch swarm.Chunk, st *beepostage.Stamp, tag uint64) error {
	raw, err := st.MarshalBinary()
	if err != nil {
		return fmt.Errorf("upload: marshal stamp: %w", err)
	}
	res, err := u.bee.UploadChunk(ctx, ch.Data(), raw, tag, u.cfg.Direct)
	if err != nil {
		return fmt.Errorf("upload: chunk %s: %w", ch.Address(), err)
	}
	if !res.Reference.Equal(ch.Address()) {
		return fmt.Errorf("upload: chunk: %w: bee %s, offline %s", ErrReferenceMismatch, res.Reference, ch.Address())
	}
	return nil
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
