package chunker

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"sync"

	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/internal/keccak"
)

// Without redundancy a file's reference is computed here, not by Bee's
// pipeline: Bee's BMT hasher starts a goroutine for every 64-byte section
// of every chunk, and on a loaded machine the scheduling costs about as
// much CPU as the hashing. This hashes each chunk's BMT on one goroutine
// (chunks spread over GOMAXPROCS goroutines) and builds the same tree as
// Bee's hashtrie writer: 128 references per intermediate chunk, a lone
// last reference carried up a level unwrapped. TestReferenceMatchesBee
// pins it to the pipeline.

const branches = swarm.Branches // references per intermediate chunk

// yieldEvery is how many chunks a hashing goroutine hashes between yields:
// some 100 µs of work.
const yieldEvery = 4

// ref is a chunk's span and address.
type ref struct {
	span uint64
	addr [swarm.HashSize]byte
}

// bmtHasher computes chunk addresses with no goroutines, eight Keccak
// hashes at a time where the CPU allows (internal/keccak).
type bmtHasher struct {
	k     *keccak.Hasher
	level [swarm.ChunkSize]byte
}

func newBMTHasher() *bmtHasher { return &bmtHasher{k: keccak.New()} }

// address is the BMT hash of a chunk: keccak256(span | root of the binary
// Merkle tree over the zero-padded 4 KiB payload). Each level is hashed in
// place, eight pairs of siblings per call.
func (b *bmtHasher) address(span uint64, payload []byte) [swarm.HashSize]byte {
	n := copy(b.level[:], payload)
	clear(b.level[n:])
	level := b.level[:]
	const batch = keccak.Lanes * 2 * swarm.HashSize
	for len(level) > swarm.HashSize {
		for i := 0; i < len(level); i += batch {
			b.k.Sum(level[i/2:], level[i:min(len(level), i+batch)], 2*swarm.HashSize)
		}
		level = level[:len(level)/2]
	}
	var msg [swarm.SpanSize + swarm.HashSize]byte
	binary.LittleEndian.PutUint64(msg[:], span)
	copy(msg[swarm.SpanSize:], level)
	var out [swarm.HashSize]byte
	b.k.Sum(out[:], msg[:], len(msg))
	return out
}

// referenceNone is data's reference at redundancy level NONE.
func referenceNone(data []byte) swarm.Address {
	return treeNone(data, nil)
}

// treeNone builds data's chunk tree at redundancy level NONE and returns
// its root; c, when given, collects every distinct chunk: the data chunks
// in file order, then each level's intermediate chunks, the root last.
func treeNone(data []byte, c *collector) swarm.Address {
	refs := dataRefs(data)
	keep := c != nil
	if keep {
		for i, r := range refs {
			payload := data[i*swarm.ChunkSize : min(len(data), (i+1)*swarm.ChunkSize)]
			c.add(r, payload)
		}
	}
	b := newBMTHasher()
	buf := make([]byte, 0, branches*swarm.HashSize)
	for len(refs) > 1 {
		next := make([]ref, 0, (len(refs)+branches-1)/branches)
		for i := 0; i < len(refs); i += branches {
			group := refs[i:min(len(refs), i+branches)]
			if len(group) == 1 {
				next = append(next, group[0])
				continue
			}
			var span uint64
			buf = buf[:0]
			for _, r := range group {
				span += r.span
				buf = append(buf, r.addr[:]...)
			}
			r := ref{span: span, addr: b.address(span, buf)}
			if keep {
				c.add(r, buf)
			}
			next = append(next, r)
		}
		refs = next
	}
	return swarm.NewAddress(refs[0].addr[:])
}

// dataRefs hashes data's chunks, spread over GOMAXPROCS goroutines. Empty
// data is one empty chunk, as Bee's feeder writes it. Each goroutine
// yields its P every yieldEvery chunks: hashing a file must not keep a
// short task of the same process (go-livepeer's reply to a segment, in the
// orchestrator) waiting for the scheduler's 10 ms preemption.
func dataRefs(data []byte) []ref {
	n := max(1, (len(data)+swarm.ChunkSize-1)/swarm.ChunkSize)
	refs := make([]ref, n)
	workers := min(runtime.GOMAXPROCS(0), max(1, n/32))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			b := newBMTHasher()
			for i := w; i < n; i += workers {
				payload := data[i*swarm.ChunkSize : min(len(data), (i+1)*swarm.ChunkSize)]
				refs[i] = ref{span: uint64(len(payload)), addr: b.address(uint64(len(payload)), payload)}
				if (i/workers)%yieldEvery == yieldEvery-1 {
					runtime.Gosched()
				}
			}
		})
	}
	wg.Wait()
	return refs
}

// add keeps the chunk (span | payload) at r unless it is kept already.
func (c *collector) add(r ref, payload []byte) {
	if c.seen == nil {
		c.seen = make(map[string]struct{})
	}
	if _, dup := c.seen[string(r.addr[:])]; dup {
		return
	}
	c.seen[string(r.addr[:])] = struct{}{}
	if c.addrOnly {
		c.chunks = append(c.chunks, swarm.NewChunk(swarm.NewAddress(bytes.Clone(r.addr[:])), nil))
		return
	}
	data := make([]byte, swarm.SpanSize+len(payload))
	binary.LittleEndian.PutUint64(data, r.span)
	copy(data[swarm.SpanSize:], payload)
	c.chunks = append(c.chunks, swarm.NewChunk(swarm.NewAddress(bytes.Clone(r.addr[:])), data))
}
