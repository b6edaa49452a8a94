package capability

import (
	"github.com/lpswarm/archiver/internal/lpcaps"
	"testing"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// trimmed drops trailing zero words, which go-livepeer never sends for its
// own capabilities (NewCapabilityString grows only to the highest bit).
func trimmed(words []uint64) []uint64 {
	for len(words) > 0 && words[len(words)-1] == 0 {
		words = words[:len(words)-1]
	}
	return words
}

// FuzzSegmentCaps: a segment's capabilities come from the broadcaster's
// SegData. Whatever they hold, the functions never modify their inputs, a
// stripped segment no longer asks for archiving, and the routing contract
// holds: a segment an archiving orchestrator accepts is accepted, once
// stripped, by the stock go-livepeer node inside it.
func FuzzSegmentCaps(f *testing.F) {
	stock := &lpnet.Capabilities{Bitstring: bits(0, 1, 12), Mandatories: bits(12), Version: "0.7.9"}
	plain := &lpnet.Capabilities{Bitstring: bits(0, 1, 12), Constraints: &lpnet.Capabilities_Constraints{MinVersion: "0.7.0"}}
	for _, seg := range []*lpnet.Capabilities{plain, Request(plain, DefaultArchiveID), Request(plain, 64), {},
		{Bitstring: []uint64{1 << 63, 0}, Mandatories: []uint64{1 << 63}, Capacities: map[uint32]uint32{63: 1}},
		{Version: "v1.2.3-rc.1+meta", Constraints: &lpnet.Capabilities_Constraints{MinVersion: "0.07.10"}}} {
		segRaw, err := proto.Marshal(seg)
		require.NoError(f, err)
		orchRaw, err := proto.Marshal(stock)
		require.NoError(f, err)
		f.Add(segRaw, orchRaw, uint8(DefaultArchiveID-lastReservedID-1))
		f.Add(segRaw, orchRaw, uint8(64-lastReservedID-1))
	}
	f.Fuzz(func(t *testing.T, segRaw, orchRaw []byte, rawID uint8) {
		var seg, orch lpnet.Capabilities
		if proto.Unmarshal(segRaw, &seg) != nil || proto.Unmarshal(orchRaw, &orch) != nil {
			return
		}
		id := lastReservedID + 1 + ID(rawID)%(MaxID-lastReservedID)
		// The inner node is stock go-livepeer: it has never heard of id.
		orch.Bitstring = trimmed(clearBit(orch.Bitstring, id))
		orch.Mandatories = trimmed(clearBit(orch.Mandatories, id))
		segBefore, orchBefore := proto.Clone(&seg), proto.Clone(&orch)

		stripped := Strip(&seg, id)
		require.False(t, Requested(stripped, id))
		require.False(t, hasBit(stripped.GetMandatories(), id))
		advertised := Advertise(&orch, id)
		require.True(t, Offers(advertised, id))
		if lpcaps.Compatible(advertised, &seg) {
			require.True(t, lpcaps.Compatible(&orch, stripped), "the archiving orchestrator accepted a segment its own node refuses once stripped")
		}
		if Requested(&seg, id) {
			require.False(t, lpcaps.Compatible(&orch, &seg), "a stock node must refuse a segment asking for archiving")
		}
		require.True(t, proto.Equal(segBefore, &seg), "segment capabilities modified")
		require.True(t, proto.Equal(orchBefore, &orch), "orchestrator capabilities modified")

		if _, ok := lpcaps.ParseVersion(orch.Version); ok && orch.Version != "undefined" {
			require.True(t, lpcaps.VersionCompatible(orch.Version, orch.Version), "a version satisfies itself")
		}
	})
}
