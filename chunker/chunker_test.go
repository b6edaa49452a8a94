package chunker_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/cac"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/soc"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/chunker"
)

// pattern returns n deterministic bytes with no repeated 4 KiB chunk.
func pattern(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(b)
	return b
}

func TestSplitSmallFileIsOneContentChunk(t *testing.T) {
	data := []byte("hello swarm")
	f, err := chunker.Split(context.Background(), data, redundancy.NONE)
	require.NoError(t, err)
	want, err := cac.New(data)
	require.NoError(t, err)
	require.Equal(t, want.Address(), f.Root)
	require.Len(t, f.Chunks, 1)
	require.Equal(t, want.Data(), f.Chunks[0].Data())
}

func TestSplitChunksAreContentAddressed(t *testing.T) {
	for _, level := range []redundancy.Level{redundancy.NONE, redundancy.MEDIUM, redundancy.PARANOID} {
		f, err := chunker.Split(context.Background(), pattern(300_000), level)
		require.NoError(t, err)
		// 300,000 bytes = 74 data chunks + 1 root; parities come on top.
		if level == redundancy.NONE {
			require.Len(t, f.Chunks, 75)
		} else {
			require.Greater(t, len(f.Chunks), 75)
		}
		var sawRoot bool
		var replicas int
		for _, ch := range f.Chunks {
			// With redundancy the root is also dispersed as replica SOCs.
			if soc.Valid(ch) {
				replicas++
				continue
			}
			require.True(t, cac.Valid(ch), "chunk %s is not content addressed", ch.Address())
			sawRoot = sawRoot || ch.Address().Equal(f.Root)
		}
		require.True(t, sawRoot, "root chunk missing")
		require.Equal(t, level.GetReplicaCount(), replicas)
		ref, err := chunker.Reference(context.Background(), pattern(300_000), level)
		require.NoError(t, err)
		require.Equal(t, f.Root, ref)
	}
}

func TestSplitDeduplicatesIdenticalChunks(t *testing.T) {
	f, err := chunker.Split(context.Background(), make([]byte, 5*4096), redundancy.NONE)
	require.NoError(t, err)
	require.Len(t, f.Chunks, 2) // one zero chunk used five times, one root
}

func TestSplitRejectsBadLevel(t *testing.T) {
	_, err := chunker.Split(context.Background(), []byte("x"), redundancy.Level(9))
	require.Error(t, err)
}

func BenchmarkSplit1MiB(b *testing.B) {
	data := pattern(1 << 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := chunker.Split(context.Background(), data, redundancy.MEDIUM); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAddressesMatchSplit: the addresses-only split lists exactly Split's
// chunks under the same root (the root's replicas are put concurrently, in
// no fixed order), at every level and for sizes at the tree's edges.
func TestAddressesMatchSplit(t *testing.T) {
	ctx := context.Background()
	for _, level := range []redundancy.Level{redundancy.NONE, redundancy.MEDIUM, redundancy.PARANOID} {
		for _, n := range []int{0, 1, swarm.ChunkSize, swarm.ChunkSize + 1, 128 * swarm.ChunkSize, 129*swarm.ChunkSize + 7, 1 << 20} {
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(i*31 + i>>12)
			}
			f, err := chunker.Split(ctx, data, level)
			require.NoError(t, err)
			root, addrs, err := chunker.Addresses(ctx, data, level)
			require.NoError(t, err)
			require.Equal(t, f.Root, root, "level %d, %d bytes", level, n)
			require.ElementsMatch(t, f.Addresses(), addrs, "level %d, %d bytes", level, n)
		}
	}
}
