package capability

import (
	"github.com/lpswarm/archiver/internal/lpcaps"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReservedCoversPinnedGoLivepeer(t *testing.T) {
	up := loadUpstream(t)
	require.Contains(t, up.consts, "Capability_SegmentSlicing")
	var highest int64
	for name, v := range up.consts {
		if v < 0 {
			continue // Capability_Invalid / Capability_Unused never go on the wire
		}
		highest = max(highest, v)
		require.ErrorIs(t, ID(v).Validate(), ErrIDReserved, "%s = %d", name, v)
	}
	require.LessOrEqual(t, highest, int64(lastReservedID), "go-livepeer %s grew past the reserved range", up.version)
	if up.version == "v0.7.9" {
		require.Equal(t, int64(lastUpstreamIDv079), highest)
	}
	for name, v := range up.consts {
		require.NotEqual(t, int64(DefaultArchiveID), v, "DefaultArchiveID collides with %s", name)
	}
}

func TestStripMakesSegmentAcceptableToStockTranscoder(t *testing.T) {
	up := loadUpstream(t)
	transcoder := up.stockTranscoder()
	seg := up.stockSegment(t)
	// Sanity: the stock segment is what stock transcoders accept, so any
	// refusal below is caused by the archive bit alone.
	require.True(t, lpcaps.Compatible(transcoder, seg))

	tests := []struct {
		name string
		id   ID
	}{
		{"default id, word 0", DefaultArchiveID},
		{"first free id", lastReservedID + 1},
		{"word 1, grows the bitstring", 64},
		{"highest valid id", MaxID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requested := Request(seg, tt.id)
			require.False(t, lpcaps.Compatible(transcoder, requested), "stock transcoder must refuse an unknown bit")
			stripped := Strip(requested, tt.id)
			require.True(t, lpcaps.Compatible(transcoder, stripped))
			require.Equal(t, seg.Bitstring, stripped.Bitstring)

			archiving := Advertise(transcoder, tt.id)
			require.True(t, lpcaps.Compatible(archiving, requested))
			require.True(t, lpcaps.Compatible(archiving, seg), "archive bit must not be mandatory")
		})
	}
}
