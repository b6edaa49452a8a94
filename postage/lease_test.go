package postage

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
)

// TestLeasesPartitionABatch: two issuers (two workers) with disjoint
// leases on one batch never use the same index, each stays inside its
// lease, fills at its end, and keeps its own state file.
func TestLeasesPartitionABatch(t *testing.T) {
	key := newKey(t)
	whole := testBatch(ownerOf(key), "shared", 20, 4, true) // 65,536 per bucket
	a, b := whole, whole
	a.Lease, b.Lease = Lease{From: 0, To: 8}, Lease{From: 8, To: 16}
	dirA, dirB := t.TempDir(), t.TempDir()
	ia, ib := openIssuer(t, dirA, key, a), openIssuer(t, dirB, key, b)

	used := map[[2]uint64]string{}
	issue := func(is *Issuer, name string, lease Lease, n int) {
		var addrs []swarm.Address
		for range n {
			addrs = append(addrs, addressInBucket(t, 5, whole.BucketDepth))
		}
		stamps, err := is.Stamp(context.Background(), addrs)
		require.NoError(t, err)
		for i, st := range stamps {
			require.NoError(t, st.Valid(addrs[i], whole.Owner.Bytes(), whole.Depth, whole.BucketDepth, whole.Immutable))
			bucket, counter := beepostage.BucketIndexFromBytes(st.Index())
			require.GreaterOrEqual(t, counter, lease.From)
			require.Less(t, counter, lease.To)
			k := [2]uint64{uint64(bucket), uint64(counter)}
			require.Empty(t, used[k], "index %v used by %s and %s", k, used[k], name)
			used[k] = name
		}
	}
	issue(ia, "a", a.Lease, 5)
	issue(ib, "b", b.Lease, 8)
	issue(ia, "a", a.Lease, 3)

	_, err := ia.Stamp(context.Background(), []swarm.Address{addressInBucket(t, 5, whole.BucketDepth)})
	require.ErrorIs(t, err, ErrBucketFull, "lease a is used up in bucket 5")
	_, err = ib.Stamp(context.Background(), []swarm.Address{addressInBucket(t, 5, whole.BucketDepth)})
	require.ErrorIs(t, err, ErrBucketFull)

	_, err = os.Stat(filepath.Join(dirA, stateFileName(a)))
	require.NoError(t, err)
	require.NotEqual(t, stateFileName(a), stateFileName(whole), "a lease must not continue the whole batch's counters")
}

func TestLeaseOutsideTheBucketIsRefused(t *testing.T) {
	key := newKey(t)
	b := testBatch(ownerOf(key), "small", 17, 16, true) // 2 per bucket
	for _, l := range []Lease{{From: 1, To: 1}, {From: 0, To: 3}, {From: 2, To: 1}} {
		b.Lease = l
		_, err := OpenIssuer(t.TempDir(), key, []Batch{b})
		require.ErrorIs(t, err, ErrInvalidBatch, "%+v", l)
	}
}
