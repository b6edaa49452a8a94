package capability

import (
	"github.com/lpswarm/archiver/internal/lpcaps"
	"slices"
	"testing"
	"testing/quick"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
)

// setBits lists the ids set in words, so comparisons ignore trailing zeros.
func setBits(words []uint64) []ID {
	var ids []ID
	for w, word := range words {
		for b := range 64 {
			if word&(1<<b) != 0 {
				ids = append(ids, ID(w*64+b))
			}
		}
	}
	return ids
}

// stripOfRequestKeepsBits checks Strip(Request(x)) has exactly x's bits when
// x did not have id, and that Compatible against any orchestrator is not
// made stricter by the round trip.
func stripOfRequestKeepsBits(t *testing.T, words []uint64, rawID uint8) bool {
	id := lastReservedID + 1 + ID(rawID)%(MaxID-lastReservedID)
	x := &lpnet.Capabilities{Bitstring: slices.Clone(words)}
	if w := int(id / 64); w < len(x.Bitstring) {
		x.Bitstring[w] &^= 1 << (id % 64)
	}
	got := Strip(Request(x, id), id)
	if !slices.Equal(setBits(x.Bitstring), setBits(got.Bitstring)) {
		t.Logf("id %d: %v -> %v", id, x.Bitstring, got.Bitstring)
		return false
	}
	orch := &lpnet.Capabilities{Bitstring: x.Bitstring}
	return !lpcaps.Compatible(orch, x) || lpcaps.Compatible(orch, got)
}

func TestStripOfRequestProperty(t *testing.T) {
	f := func(words []uint64, rawID uint8) bool { return stripOfRequestKeepsBits(t, words, rawID) }
	require.NoError(t, quick.Check(f, &quick.Config{MaxCount: 2000}))
}

func FuzzStripOfRequest(f *testing.F) {
	f.Add(uint64(0), uint64(0), uint8(1), uint8(25))
	f.Add(^uint64(0), uint64(0), uint8(1), uint8(63-38))
	f.Add(uint64(1<<12), ^uint64(0), uint8(2), uint8(100-38))
	f.Add(uint64(0), uint64(0), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, w0, w1 uint64, n, rawID uint8) {
		words := []uint64{w0, w1, 0}[:n%4] // the third word tests a trailing zero
		require.True(t, stripOfRequestKeepsBits(t, words, rawID))
	})
}
