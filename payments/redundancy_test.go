package payments

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/chunker"
)

// randomData has no repeated chunk, so chunker.Split's deduplication does
// not hide any chunk the count expects.
func randomData(n int64) []byte {
	var seed [32]byte
	seed[0] = byte(n)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(seed).Read(b) // never fails
	return b
}

// TestStoredChunksMatchesChunker checks the count derived from Bee's
// erasure tables against the chunks Bee's own pipeline produces, at sizes
// around every group boundary: one chunk, a partial group, a full group,
// a full group plus a lone carried chunk, and a two-level tree.
func TestStoredChunksMatchesChunker(t *testing.T) {
	levels := []redundancy.Level{redundancy.NONE, redundancy.MEDIUM, redundancy.STRONG, redundancy.INSANE, redundancy.PARANOID}
	for _, level := range levels {
		t.Run(fmt.Sprintf("level %d", level), func(t *testing.T) {
			t.Parallel()
			checkStoredChunks(t, level)
		})
	}
}

func checkStoredChunks(t *testing.T, level redundancy.Level) {
	m := int64(level.GetMaxShards())
	sizes := []int64{
		1, swarm.ChunkSize, swarm.ChunkSize + 1, 2 * swarm.ChunkSize,
		(m - 1) * swarm.ChunkSize, m * swarm.ChunkSize, m*swarm.ChunkSize + 1,
		(m+1)*swarm.ChunkSize + 7, (2*m+1)*swarm.ChunkSize - 3,
		(m*m + 1) * swarm.ChunkSize, // a lone chunk carried two levels up
	}
	if testing.Short() && m > 100 {
		sizes = sizes[:len(sizes)-1] // tens of MB through the pipeline
	}
	for _, size := range sizes {
		f, err := chunker.Split(context.Background(), randomData(size), level)
		require.NoError(t, err)
		got, err := StoredChunks(level, size)
		require.NoError(t, err)
		require.Equal(t, int64(len(f.Chunks)), got, "level %d size %d", level, size)
	}
}

func TestStoredChunks(t *testing.T) {
	tests := []struct {
		name    string
		level   redundancy.Level
		bytes   int64
		want    int64
		wantErr error
	}{
		{"one byte", redundancy.NONE, 1, 1, nil},
		{"one byte medium: chunk and 2 replicas", redundancy.MEDIUM, 1, 3, nil},
		// 128 data chunks under one root.
		{"full none group", redundancy.NONE, 128 * swarm.ChunkSize, 129, nil},
		// 119² data chunks: 119 groups of 119+9, 119 parents with 9
		// parities, a root and 2 replicas: 128·120 + 1 + 2.
		{"two full medium levels", redundancy.MEDIUM, 119 * 119 * swarm.ChunkSize, 15363, nil},
		{"zero bytes", redundancy.NONE, 0, 0, ErrInvalidSize},
		{"negative", redundancy.MEDIUM, -1, 0, ErrInvalidSize},
		{"bad level", redundancy.PARANOID + 1, 1, 0, ErrInvalidParams},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StoredChunks(tt.level, tt.bytes)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRedundancyFactor(t *testing.T) {
	tests := []struct {
		name    string
		level   redundancy.Level
		bytes   int64
		want    *big.Rat
		wantErr error
	}{
		{"none limit", redundancy.NONE, 0, big.NewRat(128, 127), nil},
		{"medium limit", redundancy.MEDIUM, 0, big.NewRat(128, 118), nil},
		{"strong limit", redundancy.STRONG, 0, big.NewRat(128, 106), nil},
		{"insane limit", redundancy.INSANE, 0, big.NewRat(128, 96), nil},
		{"paranoid limit", redundancy.PARANOID, 0, big.NewRat(128, 38), nil},
		{"one full chunk", redundancy.NONE, swarm.ChunkSize, big.NewRat(1, 1), nil},
		{"one byte stamps a whole chunk", redundancy.NONE, 1, big.NewRat(swarm.ChunkSize, 1), nil},
		{"two medium levels", redundancy.MEDIUM, 119 * 119 * swarm.ChunkSize, big.NewRat(15363, 119*119), nil},
		{"negative", redundancy.MEDIUM, -1, nil, ErrInvalidSize},
		{"bad level", redundancy.PARANOID + 1, 0, nil, ErrInvalidParams},
		{"too many chunks", redundancy.NONE, math.MaxInt64, nil, ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RedundancyFactor(tt.level, tt.bytes)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Zero(t, tt.want.Cmp(got), "got %s want %s", got.RatString(), tt.want.RatString())
		})
	}
}

// TestRedundancyFactorLimit checks that the table-derived limit is what
// large files approach: the exact factor for a 1 TiB file, whose count is
// itself checked against the chunker above, is within 10^-6 of it.
func TestRedundancyFactorLimit(t *testing.T) {
	for _, level := range []redundancy.Level{redundancy.NONE, redundancy.MEDIUM, redundancy.STRONG, redundancy.INSANE, redundancy.PARANOID} {
		limit, err := RedundancyFactor(level, 0)
		require.NoError(t, err)
		exact, err := RedundancyFactor(level, 1<<40)
		require.NoError(t, err)
		diff := new(big.Rat).Sub(exact, limit)
		diff.Abs(diff)
		require.Negative(t, diff.Cmp(big.NewRat(1, 1_000_000)), "level %d: exact %s limit %s", level, exact.FloatString(8), limit.FloatString(8))
	}
}
