// Package compat checks the main module's stand-ins for go-livepeer against
// the real go-livepeer they stand in for.
package compat

import (
	"math/rand/v2"
	"testing"

	"github.com/livepeer/go-livepeer/core"
	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/internal/lpcaps"
)

// TestLpcapsAgreesWithGoLivepeer: internal/lpcaps.Compatible, which the
// testbed and capability's tests use, decides every segment as
// go-livepeer's own core.Capabilities.CompatibleWith does (the orchestrator's
// check in server/segment_rpc.go), over random capability sets around the
// Archive bit, including what Advertise, Request and Strip make of them.
func TestLpcapsAgreesWithGoLivepeer(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	versions := []string{"", "undefined", "0.7.9", "0.7.8", "0.8.0", "0.7.9-dirty", "1.0", "v0.7.9", "garbage", "0.7"}
	ids := []int64{0, 1, 2, 5, 26, 37, 62, 63, 64, 100, 127}
	caps := func() *lpnet.Capabilities {
		c := &lpnet.Capabilities{Version: versions[rng.IntN(len(versions))]}
		for _, id := range ids {
			if rng.IntN(3) == 0 {
				c.Bitstring = setBit(c.Bitstring, id)
			}
			if rng.IntN(8) == 0 {
				c.Mandatories = setBit(c.Mandatories, id)
			}
		}
		if rng.IntN(2) == 0 {
			c.Constraints = &lpnet.Capabilities_Constraints{MinVersion: versions[rng.IntN(len(versions))]}
		}
		return c
	}
	id := capability.DefaultArchiveID
	var outcomes [2]int
	for i := range 20000 {
		orch, seg := caps(), caps()
		if rng.IntN(2) == 0 { // a segment the orchestrator may well accept
			seg.Bitstring = nil
			for w, word := range orch.Bitstring {
				keep := rng.Uint64()
				if w < len(orch.Mandatories) {
					keep |= orch.Mandatories[w]
				}
				seg.Bitstring = append(seg.Bitstring, word&keep)
			}
			seg.Constraints = nil
		}
		for _, o := range []*lpnet.Capabilities{orch, capability.Advertise(orch, id)} {
			for _, s := range []*lpnet.Capabilities{seg, capability.Request(seg, id), capability.Strip(seg, id)} {
				want := core.CapabilitiesFromNetCapabilities(s).CompatibleWith(o)
				require.Equal(t, want, lpcaps.Compatible(o, s), "case %d: orch %v, segment %v", i, o, s)
				if want {
					outcomes[1]++
				} else {
					outcomes[0]++
				}
			}
		}
	}
	t.Logf("refused %d, accepted %d", outcomes[0], outcomes[1])
	require.Greater(t, min(outcomes[0], outcomes[1]), 10000, "both outcomes are exercised")
}

func setBit(words []uint64, id int64) []uint64 {
	for int64(len(words)) <= id/64 {
		words = append(words, 0)
	}
	words[id/64] |= 1 << (id % 64)
	return words
}
