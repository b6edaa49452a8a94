package worker

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/archive"
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
