package chunker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/replicas"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/klauspost/reedsolomon"
)

// With redundancy the tree is built here too, for the same reason as at
// NONE (serial.go) and two more: Bee's redundancy package builds a new
// Reed-Solomon encoder, a matrix inversion of about 4 ms, for every group
// it encodes, while the encoding itself takes 20 µs; and the pipeline
// signs the root's replicas even when only the reference is wanted.
//
// The shape is Bee v2.7.0's hashtrie writer with erasure coding
// (pkg/file/pipeline/hashtrie, pkg/file/redundancy): each level is cut
// into groups of level.GetMaxShards() members; a group of two or more gets
// GetParities(members) parity chunks, Reed-Solomon coded over the members'
// chunk data (span | payload, zero-padded to 4104 bytes), whose first 8
// bytes act as their span, and a parent chunk holding the members'
// addresses then the parities'. The parent's span is the sum of the
// members' spans with its top byte replaced by 0x80|level
// (redundancy.EncodeLevel). A lone last member is carried up a level
// unwrapped, as at NONE. The root's replicas are single-owner chunks over
// the root's padded data, made by Bee's own replicas package.
// TestRedundantMatchesBee pins all of it to the pipeline.

// node is a member of a level: a data chunk or a parent chunk.
type node struct {
	span    uint64 // as the parent sums it: parents carry the level byte
	addr    [swarm.HashSize]byte
	payload []byte // the chunk's data after its span
}

// padded is the node's chunk data zero-padded to a full chunk with span,
// as the erasure coder and the root's replicas see it.
func (n *node) padded(dst []byte) []byte {
	dst = dst[:swarm.ChunkWithSpanSize]
	binary.LittleEndian.PutUint64(dst, n.span)
	c := copy(dst[swarm.SpanSize:], n.payload)
	clear(dst[swarm.SpanSize+c:])
	return dst
}

// group is the result of wrapping one group of members.
type group struct {
	parent   node
	parities []parity // kept only for Split
	carried  bool     // a lone last member: parent is that member
}

// parity is a parity chunk: its address and its full chunk data.
type parity struct {
	addr [swarm.HashSize]byte
	data []byte
}

// wrapper wraps groups on one goroutine, with its own hasher and shards.
type wrapper struct {
	bmt    *bmtHasher
	shards [][]byte
}

// wrap builds the parity chunks and the parent of members (two or more).
func (w *wrapper) wrap(members []node, level redundancy.Level, keep bool) (group, error) {
	k := len(members)
	p := level.GetParities(k)
	for len(w.shards) < k+p {
		w.shards = append(w.shards, make([]byte, swarm.ChunkWithSpanSize))
	}
	shards := w.shards[:k+p]
	for i := range members {
		members[i].padded(shards[i])
	}
	enc, err := encoder(k, p)
	if err != nil {
		return group{}, err
	}
	if err := enc.Encode(shards); err != nil {
		return group{}, fmt.Errorf("erasure code %d+%d shards: %w", k, p, err)
	}
	payload := make([]byte, 0, (k+p)*swarm.HashSize)
	var span uint64
	for _, m := range members {
		span += m.span // wraps like Bee's sum: the top byte is replaced below
		payload = append(payload, m.addr[:]...)
	}
	var g group
	for _, sh := range shards[k:] {
		addr := w.bmt.address(binary.LittleEndian.Uint64(sh), sh[swarm.SpanSize:])
		payload = append(payload, addr[:]...)
		if keep {
			g.parities = append(g.parities, parity{addr: addr, data: append([]byte(nil), sh...)})
		}
	}
	if p > 0 {
		span = span&(1<<56-1) | uint64(level|1<<7)<<56
	}
	g.parent = node{span: span, addr: w.bmt.address(span, payload), payload: payload}
	return g, nil
}

// treeRedundant builds data's chunk tree at a redundancy level above NONE
// and returns its root; c, when given, collects every distinct chunk: the
// data chunks in file order, then each level's parity and parent chunks,
// the root, and the root's replicas last.
func treeRedundant(ctx context.Context, data []byte, level redundancy.Level, c *collector) (swarm.Address, error) {
	refs := dataRefs(data)
	nodes := make([]node, len(refs))
	keep := c != nil
	for i, r := range refs {
		payload := data[i*swarm.ChunkSize : min(len(data), (i+1)*swarm.ChunkSize)]
		nodes[i] = node{span: r.span, addr: r.addr, payload: payload}
		if keep {
			c.add(r, payload)
		}
	}
	maxShards := level.GetMaxShards()
	var wrappers []*wrapper // one per goroutine, reused across levels
	for len(nodes) > 1 {
		if err := ctx.Err(); err != nil {
			return swarm.ZeroAddress, err
		}
		groups := make([]group, (len(nodes)+maxShards-1)/maxShards)
		workers := min(runtime.GOMAXPROCS(0), len(groups))
		for len(wrappers) < workers {
			wrappers = append(wrappers, &wrapper{bmt: newBMTHasher()})
		}
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for wi := range workers {
			wg.Go(func() {
				for i := wi; i < len(groups); i += workers {
					members := nodes[i*maxShards : min(len(nodes), (i+1)*maxShards)]
					if len(members) == 1 {
						groups[i] = group{parent: members[0], carried: true}
						continue
					}
					if groups[i], errs[wi] = wrappers[wi].wrap(members, level, keep); errs[wi] != nil {
						return
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return swarm.ZeroAddress, err
		}
		nodes = make([]node, len(groups))
		for i, g := range groups {
			nodes[i] = g.parent
			if !keep || g.carried {
				continue
			}
			for _, p := range g.parities {
				c.add(ref{span: binary.LittleEndian.Uint64(p.data), addr: p.addr}, p.data[swarm.SpanSize:])
			}
			c.add(ref{span: g.parent.span, addr: g.parent.addr}, g.parent.payload)
		}
	}
	root := nodes[0]
	if keep {
		ch := swarm.NewChunk(swarm.NewAddress(root.addr[:]), root.padded(make([]byte, swarm.ChunkWithSpanSize)))
		if err := replicas.NewPutter(c, level).Put(ctx, ch); err != nil {
			return swarm.ZeroAddress, fmt.Errorf("root replicas: %w", err)
		}
	}
	return swarm.NewAddress(root.addr[:]), nil
}

// encoders memoizes reedsolomon.New per shape (data shards, parity shards):
// New inverts a matrix, about 4 ms for MEDIUM's 119+9 shards, where one
// Encode of a group takes 20 µs. An Encoder is immutable after New and
// safe for concurrent Encode calls (Encode only reads the coding matrix
// and takes scratch space from a sync.Pool), so one per shape serves the
// whole process. It is a cache of a pure function over at most 4×128
// shapes, not state that can change what any call returns.
var encoders sync.Map // [2]int -> func() (reedsolomon.Encoder, error)

// encoder returns the Reed-Solomon encoder Bee uses for shards+parities
// (reedsolomon.New's default matrix). One goroutine per encode: chunker
// spreads groups over the cores itself.
func encoder(shards, parities int) (reedsolomon.Encoder, error) {
	key := [2]int{shards, parities}
	f, ok := encoders.Load(key)
	if !ok {
		f, _ = encoders.LoadOrStore(key, sync.OnceValues(func() (reedsolomon.Encoder, error) {
			return reedsolomon.New(shards, parities, reedsolomon.WithMaxGoroutines(1))
		}))
	}
	enc, err := f.(func() (reedsolomon.Encoder, error))()
	if err != nil {
		return nil, fmt.Errorf("reed-solomon encoder %d+%d: %w", shards, parities, err)
	}
	return enc, nil
}
