package upload

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethersphere/bee/v2/pkg/soc"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/bee"
)

// UploadSOC stores a signed single-owner chunk (a feed update) through
// Bee's /soc, stamped as the uploader stamps everything else: by the node
// with its batch, or here with one stamp over the chunk's address. ch must
// be valid (bee's soc.Valid); the address Bee answers must be ch's.
func (u *Uploader) UploadSOC(ctx context.Context, ch swarm.Chunk) (Receipt, error) {
	if !soc.Valid(ch) {
		return Receipt{}, fmt.Errorf("upload: soc %s: not a valid single-owner chunk", ch.Address())
	}
	s, err := soc.FromChunk(ch)
	if err != nil {
		return Receipt{}, fmt.Errorf("upload: soc %s: %w", ch.Address(), err)
	}
	if u.stamper == nil {
		return u.uploadNodeSOC(ctx, ch, s)
	}
	stamps, err := u.stamper.Stamp(ctx, []swarm.Address{ch.Address()})
	if err != nil {
		return Receipt{}, fmt.Errorf("upload: stamp soc %s: %w", ch.Address(), err)
	}
	if len(stamps) != 1 {
		return Receipt{}, fmt.Errorf("upload: stamper returned %d stamps for one chunk", len(stamps))
	}
	var opts bee.SOCOptions
	if opts.Stamp, err = stamps[0].MarshalBinary(); err != nil {
		return Receipt{}, fmt.Errorf("upload: marshal stamp: %w", err)
	}
	batches := batchesOf(stamps)
	ref, err := u.bee.UploadSOC(ctx, s.OwnerAddress(), s.ID(), s.Signature(), s.WrappedChunk().Data(), opts)
	if err != nil {
		return Receipt{}, fmt.Errorf("upload: soc %s: %w", ch.Address(), err)
	}
	if !ref.Equal(ch.Address()) {
		return Receipt{}, fmt.Errorf("upload: soc: %w: bee %s, offline %s", ErrReferenceMismatch, ref, ch.Address())
	}
	return Receipt{Reference: ref, Bytes: int64(len(ch.Data())), Chunks: 1, Batches: batches}, nil
}

// uploadNodeSOC stores a SOC stamped by the node, on the first batch with
// room, as uploadBytes does.
func (u *Uploader) uploadNodeSOC(ctx context.Context, ch swarm.Chunk, s *soc.SOC) (Receipt, error) {
	var overissued error
	for {
		id := u.nextBatch()
		if id == "" {
			return Receipt{}, fmt.Errorf("upload: soc %s: %w: %d batches full: %w", ch.Address(), ErrNoPostage, len(u.batches), overissued)
		}
		ref, err := u.bee.UploadSOC(ctx, s.OwnerAddress(), s.ID(), s.Signature(), s.WrappedChunk().Data(), bee.SOCOptions{BatchID: id})
		if errors.Is(err, bee.ErrOverissued) {
			u.markFull(id)
			overissued = err
			continue
		}
		if err != nil {
			return Receipt{}, fmt.Errorf("upload: soc %s: %w", ch.Address(), err)
		}
		if !ref.Equal(ch.Address()) {
			return Receipt{}, fmt.Errorf("upload: soc: %w: bee %s, offline %s", ErrReferenceMismatch, ref, ch.Address())
		}
		return Receipt{Reference: ref, Bytes: int64(len(ch.Data())), Chunks: 1, Batches: []string{id}}, nil
	}
}
