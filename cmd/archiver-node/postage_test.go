package main

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
)

func TestDescribeBatch(t *testing.T) {
	b := bee.Batch{BatchID: "ab", Depth: 24, BucketDepth: 16, ImmutableFlag: true, Utilization: 128,
		Amount: bee.BigInt{Int: big.NewInt(414_720_000)}, BatchTTL: 86400*3 + 7200, Usable: true}
	got := describeBatch(b)
	require.Contains(t, got, "depth        24 (bucket depth 16), immutable")
	require.Contains(t, got, "utilization  50.00 % of the fullest bucket") // 128 of 2^(24-16)
	// 2^24 × 4 KiB = 68.72 GB; the docs' effective volume at depth 24 is 47.06 GB, half of it left.
	require.Contains(t, got, "capacity     68.72 GB theoretical, 47.06 GB effective, about 23.53 GB left")
	require.Contains(t, got, "ttl          3 days 2 hours")
	// 414,720,000 × 2^24 PLUR = 6,957,847,019,520,000 PLUR = 0.695784701952 xBZZ
	require.Contains(t, got, "cost         0.695784701952 xBZZ")
}
