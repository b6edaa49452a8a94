package worker

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/memstore"
)

// TestPublishedCacheIsBounded: the cache keeps at most maxPublishedStreams
// streams and forgets the least recently published first.
func TestPublishedCacheIsBounded(t *testing.T) {
	c := newPublishedCache()
	for i := range maxPublishedStreams {
		c.put(fmt.Sprint(i), archive.Stored{})
	}
	c.put("0", archive.Stored{}) // "0" is now the most recent; "1" the least
	c.put("new", archive.Stored{})
	require.Len(t, c.streams, maxPublishedStreams)
	require.Contains(t, c.streams, "0")
	require.Contains(t, c.streams, "new")
	require.NotContains(t, c.streams, "1")
	c.drop("new")
	require.NotContains(t, c.streams, "new")
}

// stored is what publishing a stream of n segments stores.
func stored(t testing.TB, n int) archive.Stored {
	t.Helper()
	rs := archive.RenditionSpec{Name: "source", Listing: archive.Listing{Variants: []hls.Variant{{}}}}
	for seq := range n {
		var ref [32]byte
		ref[0], ref[1] = byte(seq), byte(seq>>8)
		rs.Segments = append(rs.Segments, archive.Record{Segment: archive.Segment{Seq: uint64(seq), Duration: "2.000", Ext: ".ts"},
			Reference: swarm.NewAddress(ref[:]), Bytes: 1000})
	}
	a, err := archive.Rebuild(memstore.New(redundancy.NONE), archive.Spec{Renditions: []archive.RenditionSpec{rs}})
	require.NoError(t, err)
	_, err = a.Publish(context.Background(), false)
	require.NoError(t, err)
	return a.Stored()
}

// TestPublishedCacheBoundsNodes: long streams are bounded by the nodes
// remembered, not only by their number: the least recently published go
// first, and a stream larger than the whole bound is not remembered.
func TestPublishedCacheBoundsNodes(t *testing.T) {
	small, big := stored(t, 10), stored(t, 40)
	require.Positive(t, small.Len())
	c := newPublishedCache()
	c.maxNodes = 2*small.Len() + big.Len() - 1
	c.put("a", small)
	c.put("b", small)
	c.put("c", big) // does not fit beside both: "a", the oldest, goes
	require.NotContains(t, c.streams, "a")
	require.Contains(t, c.streams, "b")
	require.Contains(t, c.streams, "c")
	require.Equal(t, small.Len()+big.Len(), c.nodes)
	c.put("c", small) // replacing an entry frees its nodes first
	require.Equal(t, 2*small.Len(), c.nodes)
	c.maxNodes = big.Len() - 1
	c.put("d", big)
	require.NotContains(t, c.streams, "d", "larger than the whole cache")
	c.drop("b")
	c.drop("c")
	require.Zero(t, c.nodes)
}

// BenchmarkPublishedCacheMemory reports the heap a remembered stream
// costs per manifest node and per segment of its history (the figure
// behind maxPublishedNodes): go test ./worker -run '^$' -bench PublishedCacheMemory
func BenchmarkPublishedCacheMemory(b *testing.B) {
	const segments = 2000
	var perNode, perSegment float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := stored(b, segments)
		c := newPublishedCache()
		c.put("m", s)
		s = archive.Stored{}
		runtime.GC()
		runtime.ReadMemStats(&after)
		n := c.streams["m"].stored.Len()
		grown := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		perNode, perSegment = grown/float64(n), grown/segments
		runtime.KeepAlive(c)
	}
	b.ReportMetric(perNode, "B/node")
	b.ReportMetric(perSegment, "B/segment")
}
