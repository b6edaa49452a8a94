package postage

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"math/big"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/cac"
	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	batchstoremock "github.com/ethersphere/bee/v2/pkg/postage/batchstore/mock"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
)

func randomChunks(t *testing.T, n int) []swarm.Chunk {
	t.Helper()
	chunks := make([]swarm.Chunk, n)
	for i := range chunks {
		data := make([]byte, 1+i*97%swarm.ChunkSize)
		_, err := rand.Read(data)
		require.NoError(t, err)
		ch, err := cac.New(data)
		require.NoError(t, err)
		chunks[i] = ch
	}
	return chunks
}

func addressesOf(chunks []swarm.Chunk) []swarm.Address {
	addrs := make([]swarm.Address, len(chunks))
	for i, ch := range chunks {
		addrs[i] = ch.Address()
	}
	return addrs
}

// beeBatch is the batch as Bee's batch store would hold it.
func beeBatch(b Batch) *beepostage.Batch {
	return &beepostage.Batch{
		ID:          b.ID[:],
		Value:       big.NewInt(1_000_000_000),
		Owner:       b.Owner.Bytes(),
		Depth:       b.Depth,
		BucketDepth: b.BucketDepth,
		Immutable:   b.Immutable,
	}
}

func TestStampsPassBeeValidation(t *testing.T) {
	key, stranger := newKey(t), newKey(t)
	batch := testBatch(ownerOf(key), "bee", 20, 16, true)
	is := openIssuer(t, t.TempDir(), key, batch)
	chunks := randomChunks(t, 64)

	stamps, err := is.Stamp(context.Background(), addressesOf(chunks))
	require.NoError(t, err)
	require.Len(t, stamps, len(chunks))

	validate := beepostage.ValidStamp(batchstoremock.New(batchstoremock.WithBatch(beeBatch(batch))))
	strangersBatch := batch
	strangersBatch.Owner = ownerOf(stranger)
	validateStranger := beepostage.ValidStamp(batchstoremock.New(batchstoremock.WithBatch(beeBatch(strangersBatch))))
	for i, ch := range chunks {
		st := stamps[i]
		require.NoError(t, st.Valid(ch.Address(), batch.Owner.Bytes(), batch.Depth, batch.BucketDepth, batch.Immutable))
		signer, err := beepostage.RecoverBatchOwner(ch.Address(), st)
		require.NoError(t, err)
		require.Equal(t, batch.Owner.Bytes(), signer)

		_, err = validate(ch.WithStamp(st))
		require.NoError(t, err)
		_, err = validateStranger(ch.WithStamp(st))
		require.ErrorIs(t, err, beepostage.ErrOwnerMismatch)
		require.ErrorIs(t,
			st.Valid(ch.Address(), ownerOf(stranger).Bytes(), batch.Depth, batch.BucketDepth, batch.Immutable),
			beepostage.ErrOwnerMismatch)
		// A stamp is bound to its chunk.
		other := chunks[(i+1)%len(chunks)].Address()
		require.Error(t, st.Valid(other, batch.Owner.Bytes(), batch.Depth, batch.BucketDepth, batch.Immutable))
	}
}

func TestStampLayout(t *testing.T) {
	key := newKey(t)
	batch := testBatch(ownerOf(key), "layout", 20, 16, true)
	is := openIssuer(t, t.TempDir(), key, batch)
	// Two calls: counters must continue, not restart, across calls.
	addrs := []swarm.Address{
		addressInBucket(t, 0xbeef, 16), addressInBucket(t, 0x0001, 16),
		addressInBucket(t, 0xbeef, 16), addressInBucket(t, 0xbeef, 16),
	}
	wantBucket := []uint32{0xbeef, 0x0001, 0xbeef, 0xbeef}
	wantCounter := []uint32{0, 0, 1, 2} // per-bucket order of arrival

	before := time.Now().UnixNano()
	first, err := is.Stamp(context.Background(), addrs[:2])
	require.NoError(t, err)
	second, err := is.Stamp(context.Background(), addrs[2:])
	require.NoError(t, err)
	after := time.Now().UnixNano()

	for i, st := range append(first, second...) {
		buf, err := st.MarshalBinary()
		require.NoError(t, err)
		require.Len(t, buf, beepostage.StampSize) // 113
		require.Equal(t, batch.ID[:], buf[:32])
		bucket, counter := beepostage.BucketIndexFromBytes(buf[32:40])
		require.Equal(t, wantBucket[i], bucket, "stamp %d", i)
		require.Equal(t, wantCounter[i], counter, "stamp %d", i)
		ts := int64(binary.BigEndian.Uint64(buf[40:48]))
		require.GreaterOrEqual(t, ts, before)
		require.LessOrEqual(t, ts, after)
		require.Equal(t, st.Sig(), buf[48:])
		require.Len(t, buf[48:], 65)
	}
}

func TestBucketFullNeverWraps(t *testing.T) {
	for _, immutable := range []bool{true, false} {
		t.Run(map[bool]string{true: "immutable", false: "mutable"}[immutable], func(t *testing.T) {
			key := newKey(t)
			// Depth 17, bucket depth 16: two stamps per bucket.
			batch := testBatch(ownerOf(key), "full", 17, 16, immutable)
			is := openIssuer(t, t.TempDir(), key, batch)
			ctx := context.Background()

			_, err := is.Stamp(ctx, []swarm.Address{addressInBucket(t, 7, 16), addressInBucket(t, 7, 16)})
			require.NoError(t, err)
			for range 3 { // retrying must not wrap either
				_, err = is.Stamp(ctx, []swarm.Address{addressInBucket(t, 7, 16)})
				var full *BucketFullError
				require.ErrorAs(t, err, &full)
				require.ErrorIs(t, err, ErrBucketFull)
				require.Equal(t, uint32(7), full.Bucket)
			}
			counters, err := is.BucketCounters(batch.ID)
			require.NoError(t, err)
			require.Equal(t, uint32(2), counters[7])
			require.Equal(t, []BatchUsage{{
				ID: batch.ID, Depth: 17, BucketDepth: 16, Immutable: immutable, Issued: 2, MaxBucketCount: 2,
			}}, is.Usage())
			require.Equal(t, 1.0, is.Usage()[0].Utilization())
		})
	}
}

func TestBucketFullAllOrNothing(t *testing.T) {
	key := newKey(t)
	batch := testBatch(ownerOf(key), "aon", 17, 16, true)
	is := openIssuer(t, t.TempDir(), key, batch)
	ctx := context.Background()
	_, err := is.Stamp(ctx, []swarm.Address{addressInBucket(t, 7, 16), addressInBucket(t, 7, 16)})
	require.NoError(t, err)

	// The first address has room, the second does not: neither is issued.
	_, err = is.Stamp(ctx, []swarm.Address{addressInBucket(t, 9, 16), addressInBucket(t, 7, 16)})
	require.ErrorIs(t, err, ErrBucketFull)
	counters, err := is.BucketCounters(batch.ID)
	require.NoError(t, err)
	require.Zero(t, counters[9])
	require.Equal(t, uint64(2), is.Usage()[0].Issued)

	// Within one call the planned reservations count: three for a
	// two-slot bucket fails as a whole.
	_, err = is.Stamp(ctx, []swarm.Address{addressInBucket(t, 3, 16), addressInBucket(t, 3, 16), addressInBucket(t, 3, 16)})
	require.ErrorIs(t, err, ErrBucketFull)
	counters, err = is.BucketCounters(batch.ID)
	require.NoError(t, err)
	require.Zero(t, counters[3])
}

func TestBucketFullMovesToNextBatch(t *testing.T) {
	key := newKey(t)
	owner := ownerOf(key)
	first := testBatch(owner, "first", 17, 16, true)
	second := testBatch(owner, "second", 17, 16, false)
	// A third batch with another bucket depth: bucket 7 at depth 16 is
	// bucket 0 at depth 12 for these addresses.
	third := testBatch(owner, "third", 13, 12, true)
	is := openIssuer(t, t.TempDir(), key, first, second, third)

	addrs := make([]swarm.Address, 6)
	for i := range addrs {
		addrs[i] = addressInBucket(t, 7, 16)
	}
	stamps, err := is.Stamp(context.Background(), addrs)
	require.NoError(t, err)
	want := []struct {
		batch           [32]byte
		bucket, counter uint32
	}{
		{first.ID, 7, 0}, {first.ID, 7, 1},
		{second.ID, 7, 0}, {second.ID, 7, 1},
		{third.ID, 0, 0}, {third.ID, 0, 1},
	}
	byID := map[[32]byte]Batch{first.ID: first, second.ID: second, third.ID: third}
	for i, st := range stamps {
		require.Equal(t, want[i].batch[:], st.BatchID(), "stamp %d", i)
		bucket, counter := beepostage.BucketIndexFromBytes(st.Index())
		require.Equal(t, want[i].bucket, bucket, "stamp %d", i)
		require.Equal(t, want[i].counter, counter, "stamp %d", i)
		b := byID[want[i].batch]
		require.NoError(t, st.Valid(addrs[i], owner.Bytes(), b.Depth, b.BucketDepth, b.Immutable))
	}

	_, err = is.Stamp(context.Background(), []swarm.Address{addressInBucket(t, 7, 16)})
	require.ErrorIs(t, err, ErrBucketFull)
}

func TestStampRepeatedAddressSharesIndex(t *testing.T) {
	key := newKey(t)
	batch := testBatch(ownerOf(key), "dup", 20, 16, true)
	is := openIssuer(t, t.TempDir(), key, batch)
	a, b := randomAddress(t), randomAddress(t)

	stamps, err := is.Stamp(context.Background(), []swarm.Address{a, b, a})
	require.NoError(t, err)
	require.Equal(t, stamps[0].Index(), stamps[2].Index())
	require.Equal(t, stamps[0].Sig(), stamps[2].Sig())
	require.Equal(t, uint64(2), is.Usage()[0].Issued)
}

func TestStampRejectsBadInput(t *testing.T) {
	key := newKey(t)
	batch := testBatch(ownerOf(key), "bad", 20, 16, true)
	is := openIssuer(t, t.TempDir(), key, batch)

	_, err := is.Stamp(context.Background(), []swarm.Address{randomAddress(t), swarm.NewAddress([]byte{1, 2, 3})})
	require.ErrorIs(t, err, ErrInvalidAddress)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = is.Stamp(ctx, []swarm.Address{randomAddress(t)})
	require.ErrorIs(t, err, context.Canceled)

	stamps, err := is.Stamp(context.Background(), nil)
	require.NoError(t, err)
	require.Empty(t, stamps)
	require.Zero(t, is.Usage()[0].Issued)
}

func TestIssuerLockAndClose(t *testing.T) {
	key := newKey(t)
	batch := testBatch(ownerOf(key), "lock", 20, 16, true)
	dir := t.TempDir()
	is, err := OpenIssuer(dir, key, []Batch{batch})
	require.NoError(t, err)

	// flock conflicts between open files even within one process.
	_, err = OpenIssuer(dir, key, []Batch{batch})
	require.ErrorIs(t, err, ErrLocked)

	require.NoError(t, is.Close())
	require.NoError(t, is.Close())
	_, err = is.Stamp(context.Background(), []swarm.Address{randomAddress(t)})
	require.ErrorIs(t, err, ErrClosed)

	reopened := openIssuer(t, dir, key, batch)
	_, err = reopened.Stamp(context.Background(), []swarm.Address{randomAddress(t)})
	require.NoError(t, err)
}

func TestOpenIssuerRejectsConfig(t *testing.T) {
	key := newKey(t)
	owner := ownerOf(key)
	good := testBatch(owner, "good", 20, 16, true)
	tests := []struct {
		name    string
		batches []Batch
		want    error
	}{
		{"foreign batch", []Batch{good, testBatch(ownerOf(newKey(t)), "foreign", 20, 16, true)}, ErrKeyMismatch},
		{"listed twice", []Batch{good, good}, ErrInvalidBatch},
		{"bad shape", []Batch{testBatch(owner, "shape", 16, 16, true)}, ErrInvalidBatch},
		{"no batches", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenIssuer(t.TempDir(), key, tt.batches)
			require.Error(t, err)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
			}
		})
	}
	_, err := OpenIssuer(t.TempDir(), nil, []Batch{good})
	require.Error(t, err)
}

func TestStampConcurrentCallsNeverShareIndex(t *testing.T) {
	key := newKey(t)
	batch := testBatch(ownerOf(key), "conc", 14, 6, true) // 256 per bucket
	is := openIssuer(t, t.TempDir(), key, batch)

	const callers, perCall = 8, 32
	results := make(chan []*beepostage.Stamp, callers)
	errs := make(chan error, callers)
	for range callers {
		addrs := make([]swarm.Address, perCall)
		for i := range addrs {
			addrs[i] = randomAddress(t)
		}
		go func() {
			st, err := is.Stamp(context.Background(), addrs)
			errs <- err
			results <- st
		}()
	}
	seen := map[string]bool{}
	for range callers {
		require.NoError(t, <-errs)
		for _, st := range <-results {
			require.False(t, seen[string(st.Index())], "index %x issued twice", st.Index())
			seen[string(st.Index())] = true
		}
	}
	require.Len(t, seen, callers*perCall)
	require.Equal(t, uint64(callers*perCall), is.Usage()[0].Issued)
}
