// Package chunker turns a file into Swarm chunks offline, with Bee's own file
// pipeline (BMT hashing, intermediate chunks and, with redundancy, parity
// chunks and the root's dispersed replicas, which are single-owner chunks),
// so that the reference of every upload is known before Bee answers
// and anyone can verify an archive without trusting the node.
package chunker

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/ethersphere/bee/v2/pkg/file/pipeline/builder"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/storage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// File is a file split into its Swarm chunks.
type File struct {
	Root swarm.Address // the file's reference, as Bee's /bytes returns it
	Size int64         // payload bytes
	// Chunks are every distinct chunk of the tree: in the order the
	// pipeline produced them, or with redundancy NONE the data chunks in
	// file order, then each level's intermediate chunks, the root last.
	Chunks []swarm.Chunk
}

// Split computes every chunk of data as stored by Bee at the given
// redundancy level. Identical chunks appear once: they need one stamp.
func Split(ctx context.Context, data []byte, level redundancy.Level) (*File, error) {
	if level == redundancy.NONE {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("chunker: split %d bytes: %w", len(data), err)
		}
		root, chunks := treeNone(data, true)
		return &File{Root: root, Size: int64(len(data)), Chunks: chunks}, nil
	}
	var c collector
	root, err := run(ctx, data, level, &c)
	if err != nil {
		return nil, err
	}
	return &File{Root: root, Size: int64(len(data)), Chunks: c.chunks}, nil
}

// Reference computes data's reference without keeping its chunks.
func Reference(ctx context.Context, data []byte, level redundancy.Level) (swarm.Address, error) {
	if level == redundancy.NONE {
		if err := ctx.Err(); err != nil {
			return swarm.ZeroAddress, fmt.Errorf("chunker: split %d bytes: %w", len(data), err)
		}
		return referenceNone(data), nil
	}
	return run(ctx, data, level, storage.PutterFunc(func(context.Context, swarm.Chunk) error { return nil }))
}

func run(ctx context.Context, data []byte, level redundancy.Level, p storage.Putter) (swarm.Address, error) {
	if !level.Validate() {
		return swarm.ZeroAddress, fmt.Errorf("chunker: invalid redundancy level %d", level)
	}
	pipe := builder.NewPipelineBuilder(ctx, p, false, level)
	root, err := builder.FeedPipeline(ctx, pipe, bytes.NewReader(data))
	if err != nil {
		return swarm.ZeroAddress, fmt.Errorf("chunker: split %d bytes: %w", len(data), err)
	}
	return root, nil
}

// collector keeps the distinct chunks the pipeline emits; the redundancy
// encoder may emit from several goroutines.
type collector struct {
	mu     sync.Mutex
	seen   map[string]struct{}
	chunks []swarm.Chunk
}

func (c *collector) Put(_ context.Context, ch swarm.Chunk) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = make(map[string]struct{})
	}
	key := ch.Address().ByteString()
	if _, dup := c.seen[key]; dup {
		return nil
	}
	c.seen[key] = struct{}{}
	// The pipeline reuses buffers: keep a copy.
	c.chunks = append(c.chunks, swarm.NewChunk(ch.Address(), bytes.Clone(ch.Data())))
	return nil
}

// Addresses lists the chunk addresses of f, the input of a stamp issuer.
func (f *File) Addresses() []swarm.Address {
	out := make([]swarm.Address, len(f.Chunks))
	for i, ch := range f.Chunks {
		out[i] = ch.Address()
	}
	return out
}
