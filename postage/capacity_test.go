package postage

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEffectiveCapacity(t *testing.T) {
	// "Unencrypted - NONE" table, docs.ethswarm.org postage-stamps page;
	// each figure is the docs' decimal value spelled out in bytes.
	want := map[uint8]uint64{
		17: 44_700,              // 44.70 kB
		18: 6_660_000,           // 6.66 MB
		19: 112_060_000,         // 112.06 MB
		20: 687_620_000,         // 687.62 MB
		21: 2_600_000_000,       // 2.60 GB
		22: 7_730_000_000,       // 7.73 GB
		23: 19_940_000_000,      // 19.94 GB
		24: 47_060_000_000,      // 47.06 GB (docs: 68.72 GB × 0.6848)
		25: 105_510_000_000,     // 105.51 GB
		26: 227_980_000_000,     // 227.98 GB
		27: 476_680_000_000,     // 476.68 GB
		28: 993_650_000_000,     // 993.65 GB
		29: 2_040_000_000_000,   // 2.04 TB
		30: 4_170_000_000_000,   // 4.17 TB
		31: 8_450_000_000_000,   // 8.45 TB
		32: 17_070_000_000_000,  // 17.07 TB
		33: 34_360_000_000_000,  // 34.36 TB
		34: 69_040_000_000_000,  // 69.04 TB
		35: 138_540_000_000_000, // 138.54 TB
		36: 277_720_000_000_000, // 277.72 TB
		37: 556_350_000_000_000, // 556.35 TB
		38: 1_110_000_000_000_000,
		39: 2_230_000_000_000_000,
		40: 4_460_000_000_000_000,
		41: 8_930_000_000_000_000,
	}
	for depth := range 256 {
		got, ok := EffectiveCapacity(uint8(depth))
		w, in := want[uint8(depth)]
		require.Equal(t, in, ok, "depth %d", depth)
		require.Equal(t, w, got, "depth %d", depth)
	}
}

func TestLegacyEffectiveCapacity(t *testing.T) {
	tests := []struct {
		depth uint8
		want  uint64
		ok    bool
	}{
		// Four of the table's figures.
		{22, 4_930_000_000, true},         // 4.93 GB
		{24, 44_210_000_000, true},        // 44.21 GB (docs: 68.72 GB × 0.6433)
		{26, 225_860_000_000, true},       // 225.86 GB
		{28, 1_000_000_000_000, true},     // 1.00 TB
		{20, 0, true},                     // 0.00 B
		{41, 9_000_000_000_000_000, true}, // 9.00 PB
		{19, 0, false},
		{42, 0, false},
	}
	for _, tt := range tests {
		got, ok := LegacyEffectiveCapacity(tt.depth)
		require.Equal(t, tt.ok, ok, "depth %d", tt.depth)
		require.Equal(t, tt.want, got, "depth %d", tt.depth)
	}
}

// TestCapacityTablesShape catches transcription slips: effective volume
// grows with depth and never exceeds the theoretical volume.
func TestCapacityTablesShape(t *testing.T) {
	for name, table := range map[string]func(uint8) (uint64, bool){
		"current": EffectiveCapacity,
		"legacy":  LegacyEffectiveCapacity,
	} {
		var prev uint64
		for d := uint8(MinDepth); d <= MaxTableDepth; d++ {
			c, ok := table(d)
			if !ok {
				continue
			}
			require.LessOrEqual(t, c, TheoreticalCapacity(d), "%s depth %d", name, d)
			require.GreaterOrEqual(t, c, prev, "%s depth %d", name, d)
			prev = c
		}
	}
}

func TestDepthForSize(t *testing.T) {
	tests := []struct {
		bytes uint64
		depth uint8
		ok    bool
	}{
		{0, 17, true},
		{44_700, 17, true},
		{44_701, 18, true},
		{1e9, 21, true},
		{8_930_000_000_000_000, 41, true},
		{8_930_000_000_000_001, 0, false},
	}
	for _, tt := range tests {
		d, ok := DepthForSize(tt.bytes)
		require.Equal(t, tt.ok, ok, "%d bytes", tt.bytes)
		require.Equal(t, tt.depth, d, "%d bytes", tt.bytes)
	}
}
