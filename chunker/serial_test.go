package chunker

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/cac"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/storage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/keccak"
)

// TestReferenceMatchesBee: the serial tree gives Bee's pipeline's
// reference at every size where the tree's shape changes: empty, within
// one chunk, chunk boundaries, one and two full intermediate chunks and
// one reference over, the lone reference carried up, and past the third
// level.
func TestReferenceMatchesBee(t *testing.T) {
	const c, b = swarm.ChunkSize, swarm.Branches
	sizes := []int{0, 1, 31, 32, 33, 64, 4095, c, c + 1, 2 * c, 3*c - 7, b * c, b*c + 1, b*c + c, (b+1)*c + 5,
		2 * b * c, 2*b*c + 1, b * b * c, b*b*c + 1, 1 << 20, 5<<20 + 12345}
	rng := rand.NewChaCha8([32]byte{7})
	for _, n := range sizes {
		data := make([]byte, n)
		_, _ = rng.Read(data)
		var bee collector
		want, err := beePipeline(context.Background(), data, redundancy.NONE, &bee)
		require.NoError(t, err)
		require.Equal(t, want, referenceNone(data), "size %d", n)
		var c collector
		root := treeNone(data, &c)
		chunks := c.chunks
		require.Equal(t, want, root, "size %d", n)
		require.ElementsMatch(t, bee.chunks, chunks, "size %d: the same chunks, addresses and data", n)
		require.Equal(t, want, chunks[len(chunks)-1].Address(), "size %d: root last", n)
	}
	// Repeated chunks (zeros) hash the same on every goroutine.
	zeros := make([]byte, 3*b*c+17)
	want, err := beePipeline(context.Background(), zeros, redundancy.NONE, storage.PutterFunc(func(context.Context, swarm.Chunk) error { return nil }))
	require.NoError(t, err)
	require.Equal(t, want, referenceNone(zeros))
}

// BenchmarkReference1MiB compares, in one run, the reference of 1 MiB
// through Bee's pipeline and through referenceNone (CPU per MiB is what
// the orchestrator pays to check every reported reference).
//
//	go test ./chunker -run '^$' -bench Reference1MiB -benchtime 200x
func BenchmarkReference1MiB(b *testing.B) {
	data := make([]byte, 1<<20)
	_, _ = rand.NewChaCha8([32]byte{3}).Read(data)
	discard := storage.PutterFunc(func(context.Context, swarm.Chunk) error { return nil })
	b.Run("bee-pipeline", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := beePipeline(context.Background(), data, redundancy.NONE, discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("serial", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			referenceNone(data)
		}
	})
}

// TestChunkAddressMatchesBee: a chunk's address, hashed eight siblings at a
// time or one at a time, is Bee's BMT hash of the chunk, at every payload
// size where a level of the tree fills.
func TestChunkAddressMatchesBee(t *testing.T) {
	rng := rand.NewChaCha8([32]byte{9})
	hashers := map[string]*bmtHasher{"generic": {k: keccak.NewGeneric()}, "default": newBMTHasher()}
	t.Logf("default hasher hashes eight at a time: %v", hashers["default"].k.Wide())
	for _, n := range []int{0, 1, 32, 63, 64, 65, 256, 511, 512, 513, 1024, 2048, 4000, swarm.ChunkSize} {
		payload := make([]byte, n)
		_, _ = rng.Read(payload)
		span := uint64(n) + 1<<40 // an intermediate chunk's span is not its length
		data := binary.LittleEndian.AppendUint64(nil, span)
		want, err := cac.NewWithDataSpan(append(data, payload...))
		require.NoError(t, err)
		for name, h := range hashers {
			got := h.address(span, payload)
			require.Equal(t, want.Address().Bytes(), got[:], "%s, %d bytes", name, n)
		}
	}
}

// BenchmarkChunkAddress compares, in one run, a full chunk's address
// hashed one Keccak at a time and eight at a time (where the CPU has
// AVX-512).
//
//	go test ./chunker -run '^$' -bench ChunkAddress
func BenchmarkChunkAddress(b *testing.B) {
	payload := make([]byte, swarm.ChunkSize)
	_, _ = rand.NewChaCha8([32]byte{4}).Read(payload)
	for _, v := range []struct {
		name string
		h    *bmtHasher
	}{{"generic", &bmtHasher{k: keccak.NewGeneric()}}, {"default", newBMTHasher()}} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(swarm.ChunkSize)
			for b.Loop() {
				v.h.address(swarm.ChunkSize, payload)
			}
		})
	}
}
