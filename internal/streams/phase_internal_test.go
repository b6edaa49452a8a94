package streams

import (
	"fmt"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/catalog"
)

// TestIntervalPublishesSpread: streams started together get their first
// interval publish between half an interval and one, spread by id rather
// than all at one tick; the same stream always gets the same phase.
func TestIntervalPublishesSpread(t *testing.T) {
	s := &Streams{cfg: Config{PublishInterval: 30 * time.Second}}
	seen := map[time.Duration]bool{}
	for i := range 100 {
		id := catalog.StreamID{ManifestID: fmt.Sprintf("stream-%d", i), Sender: common.Address{byte(i % 3)}}
		p := s.phase(id)
		require.GreaterOrEqual(t, p, 15*time.Second)
		require.Less(t, p, 30*time.Second)
		require.Equal(t, p, s.phase(id))
		seen[p.Truncate(time.Second)] = true
	}
	require.Greater(t, len(seen), 10, "100 streams fall on %d distinct seconds", len(seen))
}
