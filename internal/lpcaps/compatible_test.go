package lpcaps

import (
	"testing"

	"github.com/lpswarm/archiver/capability"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
)

// TestCompatibleMirrorsGoLivepeer replays the cases of go-livepeer v0.7.9's
// TestCapability_CompatibleWithNetCap (core/capabilities_test.go:284-348),
// translated to wire messages, plus the length and nil rules.
func TestCompatibleMirrorsGoLivepeer(t *testing.T) {
	c := func(bitstring, mandatories []uint64) *lpnet.Capabilities {
		return &lpnet.Capabilities{Bitstring: bitstring, Mandatories: mandatories}
	}
	tests := []struct {
		name      string
		orch, seg *lpnet.Capabilities
		want      bool
	}{
		{"both empty", c(nil, nil), c(nil, nil), true},
		{"orch empty, seg asks", c(nil, nil), c(bits(1), nil), false},
		{"not commutative", c(bits(1), nil), c(nil, nil), true},
		{"different bit", c(bits(2), nil), c(bits(1), nil), false},
		{"equal", c(bits(1), nil), c(bits(1), nil), true},
		{"orch superset", c(bits(1, 2), nil), c(bits(1), nil), true},
		{"orch mandatory missing from seg", c(bits(1, 2, 3), bits(3)), c(bits(1), nil), false},
		{"orch mandatory only", c(bits(1, 2, 3), bits(3)), c(bits(3), nil), true},
		{"orch mandatory among others", c(bits(1, 2, 3), bits(3)), c(bits(1, 3), nil), true},
		{"seg mandatories ignored", c(nil, nil), c(nil, bits(1)), true},
		{"seg longer, zero word", c([]uint64{1}, nil), c([]uint64{1, 0}, nil), false},
		{"orch longer, zero word", c([]uint64{1, 0}, nil), c([]uint64{1}, nil), true},
		{"orch mandatories longer, zero word", c([]uint64{1}, []uint64{1, 0}), c([]uint64{1}, nil), false},
		{"nil seg is an old broadcaster", c(bits(1), nil), nil, true},
		{"nil seg fails mandatories", c(bits(12), bits(12)), nil, false},
		{"nil orch", nil, c(nil, nil), false},
		{"capacities ignored", &lpnet.Capabilities{Capacities: map[uint32]uint32{1: 0}}, c(nil, nil), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Compatible(tt.orch, tt.seg))
		})
	}
}

// TestCompatibleVersion replays go-livepeer v0.7.9's
// TestLiveeerVersionCompatibleWith (core/capabilities_test.go:536-623) plus
// parser edge cases of Masterminds/semver's loose NewVersion.
func TestCompatibleVersion(t *testing.T) {
	tests := []struct {
		name, minVersion, version string
		want                      bool
	}{
		{"same", "0.4.1", "0.4.1", true},
		{"older min", "0.4.0", "0.4.1", true},
		{"newer min", "0.4.2", "0.4.1", false},
		{"same, dirty node", "0.4.1", "0.4.1-b3278dce-dirty", true},
		{"older min, dirty node", "0.4.0", "0.4.1-b3278dce-dirty", true},
		{"newer min, dirty node", "0.4.2", "0.4.1-b3278dce-dirty", false},
		{"no constraint", "", "0.4.1", true},
		{"no constraint, no version", "", "", true},
		{"empty node version", "0.4.0", "", false},
		{"undefined node version", "0.4.0", "undefined", false},
		{"unparsable min is ignored", "nonparsablesemversion", "0.4.1", true},
		{"unparsable node version", "0.4.1", "nonparsablesemversion", false},
		{"v prefix and short form", "v0.7", "0.7.0", true},
		{"major only", "1", "0.9.9", false},
		{"metadata ignored", "0.7.9+build.1", "0.7.9", true},
		{"numeric compare, not lexical", "0.10.0", "0.9.0", false},
		{"prerelease min stripped", "0.7.9-rc1", "0.7.9", true},
		{"four parts unparsable", "0.4.1", "0.4.1.2", false},
		{"empty prerelease identifier", "0.4.1", "0.4.1-", false},
		{"leading zero prerelease number", "0.4.1", "0.4.1-01", false},
		{"leading zero core number allowed", "0.4.1", "0.04.1", true},
		{"overflow", "0.4.1", "99999999999999999999.0.0", false},
		{"uppercase V", "0.4.1", "V0.4.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orch := &lpnet.Capabilities{Version: tt.version}
			seg := &lpnet.Capabilities{Constraints: &lpnet.Capabilities_Constraints{MinVersion: tt.minVersion}}
			require.Equal(t, tt.want, Compatible(orch, seg))
		})
	}
}

// TestArchiveBitMatrix is the routing contract: a segment asking for
// archiving only reaches archiving orchestrators; any other segment reaches
// both kinds.
func TestArchiveBitMatrix(t *testing.T) {
	stock := &lpnet.Capabilities{Bitstring: bits(0, 1, 12), Mandatories: bits(12), Version: "0.7.9"}
	archiving := capability.Advertise(stock, capability.DefaultArchiveID)
	plain := &lpnet.Capabilities{Bitstring: bits(0, 1, 12)}
	wantsArchive := capability.Request(plain, capability.DefaultArchiveID)
	tests := []struct {
		name      string
		orch, seg *lpnet.Capabilities
		want      bool
	}{
		{"archive segment, archiving orch", archiving, wantsArchive, true},
		{"archive segment, stock orch", stock, wantsArchive, false},
		{"plain segment, archiving orch", archiving, plain, true},
		{"plain segment, stock orch", stock, plain, true},
		{"old broadcaster without caps, archiving orch", archiving, nil, false}, // AuthToken is mandatory
		{"stripped segment, stock orch", stock, capability.Strip(wantsArchive, capability.DefaultArchiveID), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Compatible(tt.orch, tt.seg))
		})
	}
}

// bits is go-livepeer's NewCapabilityString (core/capabilities.go:205-214,
// 495-503): negative ids are skipped, the string grows to the highest id.
func bits(ids ...int64) []uint64 {
	var words []uint64
	for _, c := range ids {
		if c < 0 {
			continue
		}
		for int64(len(words)) <= c/64 {
			words = append(words, 0)
		}
		words[c/64] |= 1 << (c % 64)
	}
	return words
}
