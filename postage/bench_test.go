package postage

import (
	"context"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// BenchmarkIssuerStamp stamps 256 addresses per call, the chunks of a
// 1 MiB segment, against a mainnet-shaped batch (bucket depth 16, so each
// call rewrites and fsyncs a 65,536-counter state file).
func BenchmarkIssuerStamp(b *testing.B) {
	const perCall = 256
	key := newKey(b)
	batch := testBatch(ownerOf(key), "bench", 32, 16, true)
	is, err := OpenIssuer(b.TempDir(), key, []Batch{batch})
	if err != nil {
		b.Fatal(err)
	}
	defer is.Close()
	addrs := make([]swarm.Address, perCall)
	ctx := context.Background()

	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range addrs {
			addrs[i] = randomAddress(b)
		}
		b.StartTimer()
		if _, err := is.Stamp(ctx, addrs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perCall), "ns/stamp")
}
