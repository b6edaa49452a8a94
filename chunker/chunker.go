// Package chunker turns a file into Swarm chunks offline, exactly as Bee
// v2.7.0's file pipeline does (BMT hashing, intermediate chunks and, with
// redundancy, parity chunks and the root's dispersed replicas, which are
// single-owner chunks), so that the reference of every upload is known
// before Bee answers and anyone can verify an archive without trusting
// the node. The tree is built here, faster than the pipeline; the tests
// hold it to the pipeline's output.
package chunker

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// File is a file split into its Swarm chunks.
type File struct {
	Root swarm.Address // the file's reference, as Bee's /bytes returns it
	Size int64         // payload bytes
	// Chunks are every distinct chunk of the tree: the data chunks in
	// file order, then each level's parity and intermediate chunks, the
	// root, and with redundancy the root's replicas (single-owner chunks)
	// last.
	Chunks []swarm.Chunk
}

// Split computes every chunk of data as stored by Bee at the given
// redundancy level. Identical chunks appear once: they need one stamp.
func Split(ctx context.Context, data []byte, level redundancy.Level) (*File, error) {
	if err := check(ctx, data, level); err != nil {
		return nil, err
	}
	var c collector
	root, err := tree(ctx, data, level, &c)
	if err != nil {
		return nil, err
	}
	return &File{Root: root, Size: int64(len(data)), Chunks: c.chunks}, nil
}

// Addresses computes data's reference and the address of every distinct
// chunk Split would return, in the same order, without keeping the
// chunks: what an uploader that does not split needs to know of a file.
func Addresses(ctx context.Context, data []byte, level redundancy.Level) (swarm.Address, []swarm.Address, error) {
	if err := check(ctx, data, level); err != nil {
		return swarm.ZeroAddress, nil, err
	}
	c := collector{addrOnly: true}
	root, err := tree(ctx, data, level, &c)
	if err != nil {
		return swarm.ZeroAddress, nil, err
	}
	out := make([]swarm.Address, len(c.chunks))
	for i, ch := range c.chunks {
		out[i] = ch.Address()
	}
	return root, out, nil
}

// tree builds data's chunk tree at level, collecting its chunks in c when
// c is given.
func tree(ctx context.Context, data []byte, level redundancy.Level, c *collector) (swarm.Address, error) {
	if level == redundancy.NONE {
		return treeNone(data, c), nil
	}
	root, err := treeRedundant(ctx, data, level, c)
	if err != nil {
		return swarm.ZeroAddress, fmt.Errorf("chunker: split %d bytes: %w", len(data), err)
	}
	return root, nil
}

// Reference computes data's reference without keeping its chunks.
func Reference(ctx context.Context, data []byte, level redundancy.Level) (swarm.Address, error) {
	if err := check(ctx, data, level); err != nil {
		return swarm.ZeroAddress, err
	}
	return tree(ctx, data, level, nil)
}

func check(ctx context.Context, data []byte, level redundancy.Level) error {
	if !level.Validate() {
		return fmt.Errorf("chunker: invalid redundancy level %d", level)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("chunker: split %d bytes: %w", len(data), err)
	}
	return nil
}

// collector keeps distinct chunks, or with addrOnly their addresses only;
// Bee's replica putter (and the pipeline, in tests) put from several
// goroutines.
type collector struct {
	addrOnly bool
	mu       sync.Mutex
	seen     map[string]struct{}
	chunks   []swarm.Chunk
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
	if c.addrOnly {
		c.chunks = append(c.chunks, swarm.NewChunk(ch.Address().Clone(), nil))
		return nil
	}
	// Putters may reuse buffers: keep a copy.
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
