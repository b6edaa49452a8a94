package postage

// Decimal (SI) units, as the Swarm docs use them: 17.18 GB is 2^34 bytes.
const (
	unitKB uint64 = 1e3
	unitMB uint64 = 1e6
	unitGB uint64 = 1e9
	unitTB uint64 = 1e12
	unitPB uint64 = 1e15
)

// MaxTableDepth is the deepest batch the effective utilisation tables cover.
const MaxTableDepth = 41

// volume converts a table entry written as the docs print it (hundredths
// of a unit, so 44.70 kB is volume(4470, unitKB)) to bytes.
func volume(hundredths, unit uint64) uint64 {
	return hundredths * unit / 100
}

// EffectiveCapacity is the number of bytes a batch of the given depth can
// be expected to hold before its first bucket fills (failure rate ≤ 0.1%),
// for unencrypted uploads without erasure coding. ok is false outside
// depths 17..41. The docs round every figure to two decimals.
//
// Source: "Unencrypted - NONE" table of
// https://docs.ethswarm.org/docs/concepts/incentives/postage-stamps#effective-utilisation-tables
// (github.com/ethersphere/bee-docs, docs/concepts/incentives/postage-stamps.md).
func EffectiveCapacity(depth uint8) (bytes uint64, ok bool) {
	table := [...]uint64{
		17: volume(4470, unitKB),
		18: volume(666, unitMB),
		19: volume(11206, unitMB),
		20: volume(68762, unitMB),
		21: volume(260, unitGB),
		22: volume(773, unitGB),
		23: volume(1994, unitGB),
		24: volume(4706, unitGB),
		25: volume(10551, unitGB),
		26: volume(22798, unitGB),
		27: volume(47668, unitGB),
		28: volume(99365, unitGB),
		29: volume(204, unitTB),
		30: volume(417, unitTB),
		31: volume(845, unitTB),
		32: volume(1707, unitTB),
		33: volume(3436, unitTB),
		34: volume(6904, unitTB),
		35: volume(13854, unitTB),
		36: volume(27772, unitTB),
		37: volume(55635, unitTB),
		38: volume(111, unitPB),
		39: volume(223, unitPB),
		40: volume(446, unitPB),
		41: volume(893, unitPB),
	}
	if depth < MinDepth || int(depth) >= len(table) {
		return 0, false
	}
	return table[depth], true
}

// LegacyEffectiveCapacity is the single effective utilisation table the
// docs published before they split it by encryption and erasure-coding
// mode (depths 20..41, marked "preliminary"). Older bee-js documentation
// quotes it as its size breakpoints (4.93 GB, 17.03 GB, 44.21 GB, ...);
// current bee-js uses the encrypted/MEDIUM table instead. Prefer
// EffectiveCapacity; this exists to compare quotes with such tools.
//
// Source: "Effective Utilisation Table" of
// https://docs.ethswarm.org/docs/concepts/incentives/postage-stamps#effective-utilisation-table
// as of github.com/ethersphere/bee-docs commit 0f16116d9e14.
func LegacyEffectiveCapacity(depth uint8) (bytes uint64, ok bool) {
	table := [...]uint64{
		20: 0,
		21: 0,
		22: volume(493, unitGB),
		23: volume(1703, unitGB),
		24: volume(4421, unitGB),
		25: volume(10278, unitGB),
		26: volume(22586, unitGB),
		27: volume(48043, unitGB),
		28: volume(100, unitTB),
		29: volume(206, unitTB),
		30: volume(420, unitTB),
		31: volume(852, unitTB),
		32: volume(1720, unitTB),
		33: volume(3463, unitTB),
		34: volume(6958, unitTB),
		35: volume(13963, unitTB),
		36: volume(27991, unitTB),
		37: volume(56073, unitTB),
		38: volume(112, unitPB),
		39: volume(225, unitPB),
		40: volume(450, unitPB),
		41: volume(900, unitPB),
	}
	if depth < 20 || int(depth) >= len(table) {
		return 0, false
	}
	return table[depth], true
}

// DepthForSize is the smallest depth whose EffectiveCapacity holds nBytes.
func DepthForSize(nBytes uint64) (depth uint8, ok bool) {
	for d := uint8(MinDepth); d <= MaxTableDepth; d++ {
		if c, _ := EffectiveCapacity(d); c >= nBytes {
			return d, true
		}
	}
	return 0, false
}
