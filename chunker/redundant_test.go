package chunker

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/file/pipeline/builder"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/soc"
	"github.com/ethersphere/bee/v2/pkg/storage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
)

// beePipeline is the oracle: Bee v2.7.0's own file pipeline, as chunker
// used it before it built the tree itself. p receives every chunk.
func beePipeline(ctx context.Context, data []byte, level redundancy.Level, p storage.Putter) (swarm.Address, error) {
	pipe := builder.NewPipelineBuilder(ctx, p, false, level)
	root, err := builder.FeedPipeline(ctx, pipe, bytes.NewReader(data))
	if err != nil {
		return swarm.ZeroAddress, fmt.Errorf("bee pipeline: split %d bytes: %w", len(data), err)
	}
	return root, nil
}

var discard = storage.PutterFunc(func(context.Context, swarm.Chunk) error { return nil })

var levelNames = map[redundancy.Level]string{
	redundancy.NONE: "none", redundancy.MEDIUM: "medium", redundancy.STRONG: "strong",
	redundancy.INSANE: "insane", redundancy.PARANOID: "paranoid",
}

// redundantSizes are the sizes where the tree at level changes shape, with
// m = level.GetMaxShards() members per group: empty, one partial chunk,
// chunk boundaries, a group of two, one member short of a full group, a
// full group and one byte / one chunk / two chunks over (the lone last
// chunk carried up), two full groups plus a carried chunk, a second level
// that becomes full only when the first level's lone chunk is carried
// into it (Bee's Sum wraps it without encoding), two full levels and one
// byte over (a data chunk carried up two levels), and random sizes
// around 1-2 MiB.
func redundantSizes(level redundancy.Level, rng *rand.Rand) []int {
	const c = swarm.ChunkSize
	m := level.GetMaxShards()
	return []int{0, 1, 4095, c, c + 1, 2 * c, 3*c - 7,
		(m - 1) * c, m*c - 1, m * c, m*c + 1, (m + 1) * c, (m+1)*c + 1, (m + 2) * c,
		2*m*c + 1, ((m-1)*m + 1) * c, m * m * c, m*m*c + 1,
		1<<20 + rng.IntN(1<<20), 1<<20 + rng.IntN(1<<20)}
}

// TestRedundantMatchesBee: at every level above NONE and every size where
// the tree changes shape, Reference gives the pipeline's root and Split
// the pipeline's chunk set exactly (addresses and data, parities and the
// root's replica SOCs included), in the documented order.
func TestRedundantMatchesBee(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(11, 13))
	for _, level := range []redundancy.Level{redundancy.MEDIUM, redundancy.STRONG, redundancy.INSANE, redundancy.PARANOID} {
		for _, n := range redundantSizes(level, rng) {
			t.Run(fmt.Sprintf("%s/%d", levelNames[level], n), func(t *testing.T) {
				data := make([]byte, n)
				_, _ = rand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(n >> 16), byte(level)}).Read(data)
				var bee collector
				want, err := beePipeline(ctx, data, level, &bee)
				require.NoError(t, err)

				ref, err := Reference(ctx, data, level)
				require.NoError(t, err)
				require.Equal(t, want, ref)

				f, err := Split(ctx, data, level)
				require.NoError(t, err)
				require.Equal(t, want, f.Root)
				require.Equal(t, int64(n), f.Size)
				requireSameChunks(t, bee.chunks, f.Chunks)
				// Documented order: the root, then its replicas last.
				replicas := level.GetReplicaCount()
				require.Equal(t, want, f.Chunks[len(f.Chunks)-1-replicas].Address(), "root before the replicas")
				for _, ch := range f.Chunks[len(f.Chunks)-replicas:] {
					require.True(t, soc.Valid(ch), "replica %s is a valid SOC", ch.Address())
				}
			})
		}
	}
}

// TestRedundantRepeatedChunks: identical data chunks (zeros) give
// identical parities and parents; Split keeps each once, as the
// pipeline's deduplicating collector does.
func TestRedundantRepeatedChunks(t *testing.T) {
	ctx := context.Background()
	zeros := make([]byte, 3*redundancy.MEDIUM.GetMaxShards()*swarm.ChunkSize+17)
	var bee collector
	want, err := beePipeline(ctx, zeros, redundancy.MEDIUM, &bee)
	require.NoError(t, err)
	f, err := Split(ctx, zeros, redundancy.MEDIUM)
	require.NoError(t, err)
	require.Equal(t, want, f.Root)
	requireSameChunks(t, bee.chunks, f.Chunks)
}

// TestReferenceConcurrent: calls on many goroutines share the encoder
// cache and still give the pipeline's reference (run with -race too).
func TestReferenceConcurrent(t *testing.T) {
	ctx := context.Background()
	const c = swarm.ChunkSize
	type file struct {
		data  []byte
		level redundancy.Level
		want  swarm.Address
	}
	var files []file
	for i, level := range []redundancy.Level{redundancy.MEDIUM, redundancy.STRONG, redundancy.INSANE, redundancy.PARANOID} {
		for j, n := range []int{level.GetMaxShards()*c + 5*c, 37*c + 1} {
			data := make([]byte, n)
			_, _ = rand.NewChaCha8([32]byte{byte(i), byte(j), 99}).Read(data)
			want, err := beePipeline(ctx, data, level, discard)
			require.NoError(t, err)
			files = append(files, file{data, level, want})
		}
	}
	var wg sync.WaitGroup
	got := make([][]swarm.Address, 4)
	errs := make([]error, 4)
	for g := range got {
		wg.Go(func() {
			for _, f := range files {
				ref, err := Reference(ctx, f.data, f.level)
				if err != nil {
					errs[g] = err
					return
				}
				got[g] = append(got[g], ref)
			}
		})
	}
	wg.Wait()
	for g := range got {
		require.NoError(t, errs[g])
		for i, f := range files {
			require.Equal(t, f.want, got[g][i], "goroutine %d, file %d", g, i)
		}
	}
}

func TestRedundantHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Reference(ctx, make([]byte, 5*swarm.ChunkSize), redundancy.MEDIUM)
	require.ErrorIs(t, err, context.Canceled)
	_, err = Split(ctx, make([]byte, 5*swarm.ChunkSize), redundancy.PARANOID)
	require.ErrorIs(t, err, context.Canceled)
}

// FuzzRedundantMatchesBee: Reference and Split agree with the pipeline at
// any size up to three full groups and any level.
func FuzzRedundantMatchesBee(f *testing.F) {
	const c = swarm.ChunkSize
	f.Add(uint32(0), uint8(1), uint64(0))
	f.Add(uint32(1), uint8(4), uint64(1))
	f.Add(uint32(119*c+1), uint8(1), uint64(2))
	f.Add(uint32(39*c), uint8(4), uint64(3))
	f.Add(uint32(2*107*c+c), uint8(2), uint64(4))
	f.Add(uint32(97*c-1), uint8(3), uint64(5))
	f.Fuzz(func(t *testing.T, size uint32, lvl uint8, seed uint64) {
		level := redundancy.Level(1 + lvl%4)
		n := int(size % uint32(3*level.GetMaxShards()*c+c))
		data := make([]byte, n)
		_, _ = rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)}).Read(data)
		var bee collector
		want, err := beePipeline(context.Background(), data, level, &bee)
		require.NoError(t, err)
		ref, err := Reference(context.Background(), data, level)
		require.NoError(t, err)
		require.Equal(t, want, ref)
		file, err := Split(context.Background(), data, level)
		require.NoError(t, err)
		require.Equal(t, want, file.Root)
		requireSameChunks(t, bee.chunks, file.Chunks)
	})
}

// requireSameChunks: got holds exactly want's chunks (address and data),
// each once, in any order.
func requireSameChunks(t testing.TB, want, got []swarm.Chunk) {
	t.Helper()
	byAddr := make(map[string][]byte, len(want))
	for _, ch := range want {
		byAddr[ch.Address().ByteString()] = ch.Data()
	}
	seen := make(map[string]bool, len(got))
	for _, ch := range got {
		key := ch.Address().ByteString()
		require.False(t, seen[key], "chunk %s twice", ch.Address())
		seen[key] = true
		data, ok := byAddr[key]
		require.True(t, ok, "chunk %s (%d bytes) is not the pipeline's", ch.Address(), len(ch.Data()))
		require.True(t, bytes.Equal(data, ch.Data()), "chunk %s: data differs from the pipeline's", ch.Address())
	}
	require.Len(t, got, len(want), "chunk count")
}

// BenchmarkReferenceLevels1MiB compares, per redundancy level, the
// reference of 1 MiB through Bee's pipeline and through chunker's own
// tree (the orchestrator checks every reported file at MEDIUM).
//
//	go test ./chunker -run '^$' -bench 'Levels1MiB' -benchtime 20x
func BenchmarkReferenceLevels1MiB(b *testing.B) {
	benchLevels(b, func(data []byte, level redundancy.Level) error {
		_, err := beePipeline(context.Background(), data, level, discard)
		return err
	}, func(data []byte, level redundancy.Level) error {
		_, err := Reference(context.Background(), data, level)
		return err
	})
}

// BenchmarkSplitLevels1MiB is the same for the whole chunk set (the
// worker's upload and offline check).
func BenchmarkSplitLevels1MiB(b *testing.B) {
	benchLevels(b, func(data []byte, level redundancy.Level) error {
		var c collector
		_, err := beePipeline(context.Background(), data, level, &c)
		return err
	}, func(data []byte, level redundancy.Level) error {
		_, err := Split(context.Background(), data, level)
		return err
	})
}

func benchLevels(b *testing.B, bee, own func([]byte, redundancy.Level) error) {
	data := make([]byte, 1<<20)
	_, _ = rand.NewChaCha8([32]byte{3}).Read(data)
	for _, level := range []redundancy.Level{redundancy.MEDIUM, redundancy.STRONG, redundancy.INSANE, redundancy.PARANOID} {
		for _, way := range []struct {
			name string
			fn   func([]byte, redundancy.Level) error
		}{{"bee-pipeline", bee}, {"own-tree", own}} {
			b.Run(levelNames[level]+"/"+way.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if err := way.fn(data, level); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
