package postage

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	batchstoremock "github.com/ethersphere/bee/v2/pkg/postage/batchstore/mock"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
)

// stampBucket stamps n fresh chunks of bucket (bucket depth 16) and returns
// them with their stamps.
func stampBucket(t *testing.T, is *Issuer, bucket uint32, n int) ([]swarm.Chunk, []*beepostage.Stamp, error) {
	t.Helper()
	chunks := make([]swarm.Chunk, n)
	addrs := make([]swarm.Address, n)
	for i := range chunks {
		addrs[i] = addressInBucket(t, bucket, 16)
		chunks[i] = swarm.NewChunk(addrs[i], []byte("payload"))
	}
	stamps, err := is.Stamp(context.Background(), addrs)
	return chunks, stamps, err
}

// TestMigrateDepthContinuesPastTheOldBound: a mutable batch of depth 17
// (bucket depth 16, two stamps per bucket) fills a bucket; it is diluted
// to 19 and the state migrated; stamping continues at indices 2..7 of that
// bucket, never reusing 0 or 1, and Bee's ValidStamp accepts every stamp
// at the new depth, while a node still at the old depth refuses the new
// ones (why imports wait until Bee has seen the dilution).
func TestMigrateDepthContinuesPastTheOldBound(t *testing.T) {
	key := newKey(t)
	batch := testBatch(ownerOf(key), "migrate", 17, 16, false)
	dir := t.TempDir()
	const bucket = 4242

	is, err := OpenIssuer(dir, key, []Batch{batch})
	require.NoError(t, err)
	oldChunks, oldStamps, err := stampBucket(t, is, bucket, 2)
	require.NoError(t, err)
	_, _, err = stampBucket(t, is, bucket, 1)
	require.ErrorIs(t, err, ErrBucketFull, "the old bound is 2 per bucket")

	// A live issuer holds the lock; reading its usage needs none.
	_, err = MigrateDepth(dir, batch.ID, 19)
	require.ErrorIs(t, err, ErrLocked)
	u, err := ReadUsage(dir, batch.ID)
	require.NoError(t, err)
	require.Equal(t, BatchUsage{ID: batch.ID, Depth: 17, BucketDepth: 16, Issued: 2, MaxBucketCount: 2}, u)
	require.NoError(t, is.Close())

	n, err := MigrateDepth(dir, batch.ID, 19)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = MigrateDepth(dir, batch.ID, 19)
	require.NoError(t, err)
	require.Equal(t, 0, n, "a second migration rewrites nothing")
	u, err = ReadUsage(dir, batch.ID)
	require.NoError(t, err)
	require.Equal(t, uint8(19), u.Depth)
	require.Equal(t, uint32(2), u.MaxBucketCount, "counters kept")

	// The migrated state refuses the old depth.
	_, err = OpenIssuer(dir, key, []Batch{batch})
	require.ErrorIs(t, err, ErrBatchMismatch)

	deeper := batch
	deeper.Depth = 19
	is = openIssuer(t, dir, key, deeper)
	newChunks, newStamps, err := stampBucket(t, is, bucket, 6)
	require.NoError(t, err)
	_, _, err = stampBucket(t, is, bucket, 1)
	require.ErrorIs(t, err, ErrBucketFull, "the new bound is 8 per bucket")

	validNew := beepostage.ValidStamp(batchstoremock.New(batchstoremock.WithBatch(beeBatch(deeper))))
	validOld := beepostage.ValidStamp(batchstoremock.New(batchstoremock.WithBatch(beeBatch(batch))))
	seen := map[uint32]bool{}
	for i, st := range append(oldStamps, newStamps...) {
		ch := append(oldChunks, newChunks...)[i]
		b, index := beepostage.BucketIndexFromBytes(st.Index())
		require.Equal(t, uint32(bucket), b)
		require.False(t, seen[index], "index %d issued twice", index)
		seen[index] = true
		require.Equal(t, uint32(i), index, "indices continue in order")
		_, err := validNew(ch.WithStamp(st))
		require.NoError(t, err, "index %d at depth 19", index)
		_, err = validOld(ch.WithStamp(st))
		if index < 2 {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, beepostage.ErrInvalidIndex, "index %d is beyond depth 17's bound", index)
		}
	}
	require.Len(t, seen, 8)
}

func TestMigrateDepthRefuses(t *testing.T) {
	key := newKey(t)
	tests := []struct {
		name     string
		batch    Batch
		newDepth uint8
	}{
		{"immutable batch", testBatch(ownerOf(key), "imm", 17, 16, true), 18},
		{"shallower depth", testBatch(ownerOf(key), "shallow", 18, 16, false), 17},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			is, err := OpenIssuer(dir, key, []Batch{tt.batch})
			require.NoError(t, err)
			_, _, err = stampBucket(t, is, 1, 1)
			require.NoError(t, err)
			require.NoError(t, is.Close())
			before, err := os.ReadFile(filepath.Join(dir, stateFileName(tt.batch)))
			require.NoError(t, err)

			_, err = MigrateDepth(dir, tt.batch.ID, tt.newDepth)
			require.ErrorIs(t, err, ErrBatchMismatch)
			after, err := os.ReadFile(filepath.Join(dir, stateFileName(tt.batch)))
			require.NoError(t, err)
			require.Equal(t, before, after, "state untouched")
		})
	}

	// Nothing to migrate is not an error: a fresh machine, another batch.
	n, err := MigrateDepth(filepath.Join(t.TempDir(), "missing"), idFromSeed("x"), 20)
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = ReadUsage(t.TempDir(), idFromSeed("x"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// TestMigrateDepthMigratesLeases: a worker's leased state migrates too, and
// its usage counts from the start of the bucket.
func TestMigrateDepthMigratesLeases(t *testing.T) {
	key := newKey(t)
	batch := testBatch(ownerOf(key), "lease", 17, 16, false)
	batch.Lease = Lease{From: 1, To: 2}
	dir := t.TempDir()
	is, err := OpenIssuer(dir, key, []Batch{batch})
	require.NoError(t, err)
	_, stamps, err := stampBucket(t, is, 7, 1)
	require.NoError(t, err)
	_, index := beepostage.BucketIndexFromBytes(stamps[0].Index())
	require.Equal(t, uint32(1), index)
	require.NoError(t, is.Close())

	u, err := ReadUsage(dir, batch.ID)
	require.NoError(t, err)
	require.Equal(t, uint32(2), u.MaxBucketCount, "index 1 used: two of the bucket's slots are taken")
	require.Equal(t, uint64(1), u.Issued)

	n, err := MigrateDepth(dir, batch.ID, 18)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	batch.Depth = 18
	is = openIssuer(t, dir, key, batch)
	_, _, err = stampBucket(t, is, 7, 1)
	require.ErrorIs(t, err, ErrBucketFull, "the lease stays [1, 2)")
}
