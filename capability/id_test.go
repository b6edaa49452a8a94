package capability

import (
	"math"
	"testing"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
)

func TestIDValidate(t *testing.T) {
	tests := []struct {
		name string
		id   ID
		want error
	}{
		{"H264, first v0.7.9 id", 0, ErrIDReserved},
		{"AuthToken", 12, ErrIDReserved},
		{"SegmentSlicing, last v0.7.9 id", lastUpstreamIDv079, ErrIDReserved},
		{"TextToImage, first master-only id", 27, ErrIDReserved},
		{"BYOC, last master id", lastUpstreamIDMaster, ErrIDReserved},
		{"first free id", 38, nil},
		{"default archive id", DefaultArchiveID, nil},
		{"first id of word 1", 64, nil},
		{"127, last id go-livepeer survives", 127, nil},
		{"128 crashes AddCapacity", 128, ErrIDTooLarge},
		{"far too large", math.MaxUint32, ErrIDTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.id.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestInvalidIDPanicsOnlyWhereBitsAreAdded(t *testing.T) {
	for _, id := range []ID{12, 128} {
		require.Panics(t, func() { Advertise(nil, id) }, "Advertise(%d)", id)
		require.Panics(t, func() { Request(nil, id) }, "Request(%d)", id)
		// Reading and removing are always safe, so a node can still scrub
		// a bit it was never meant to carry.
		require.NotPanics(t, func() {
			Offers(nil, id)
			Requested(nil, id)
			Strip(&lpnet.Capabilities{Bitstring: []uint64{1 << 12}}, id)
		})
	}
}
