package capability

import (
	"testing"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

const bit63 = uint64(1) << 63

func TestAdvertiseAndRequest(t *testing.T) {
	tests := []struct {
		name string
		in   *lpnet.Capabilities
		id   ID
		want *lpnet.Capabilities
	}{
		{"nil gets a fresh message", nil, DefaultArchiveID,
			&lpnet.Capabilities{Bitstring: []uint64{bit63}}},
		{"adds to word 0, keeps the rest", &lpnet.Capabilities{
			Bitstring: []uint64{0b111}, Mandatories: []uint64{0b100},
			Capacities: map[uint32]uint32{0: 2}, Version: "0.7.9",
			Constraints: &lpnet.Capabilities_Constraints{MinVersion: "0.7.0"},
		}, DefaultArchiveID, &lpnet.Capabilities{
			Bitstring: []uint64{0b111 | bit63}, Mandatories: []uint64{0b100},
			Capacities: map[uint32]uint32{0: 2}, Version: "0.7.9",
			Constraints: &lpnet.Capabilities_Constraints{MinVersion: "0.7.0"},
		}},
		{"grows to word 1 like addCapability", &lpnet.Capabilities{Bitstring: []uint64{1}},
			64, &lpnet.Capabilities{Bitstring: []uint64{1, 1}}},
		{"idempotent", &lpnet.Capabilities{Bitstring: []uint64{bit63}}, DefaultArchiveID,
			&lpnet.Capabilities{Bitstring: []uint64{bit63}}},
		{"never mandatory: an existing mandatory bit is dropped", &lpnet.Capabilities{
			Bitstring: []uint64{1 << 12}, Mandatories: []uint64{1<<12 | bit63},
		}, DefaultArchiveID, &lpnet.Capabilities{
			Bitstring: []uint64{1<<12 | bit63}, Mandatories: []uint64{1 << 12},
		}},
		{"dropping a mandatory bit in word 1 trims the word", &lpnet.Capabilities{
			Bitstring: []uint64{1 << 12}, Mandatories: []uint64{1 << 12, 1},
		}, 64, &lpnet.Capabilities{
			Bitstring: []uint64{1 << 12, 1}, Mandatories: []uint64{1 << 12},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for fn, f := range map[string]func(*lpnet.Capabilities, ID) *lpnet.Capabilities{
				"Advertise": Advertise, "Request": Request,
			} {
				got := f(tt.in, tt.id)
				require.True(t, proto.Equal(tt.want, got), "%s: got %v", fn, got)
				require.True(t, Offers(got, tt.id), fn)
				require.True(t, Requested(got, tt.id), fn)
				require.False(t, hasBit(got.Mandatories, tt.id), fn)
			}
		})
	}
}

func TestOffersRequested(t *testing.T) {
	tests := []struct {
		name string
		caps *lpnet.Capabilities
		id   ID
		want bool
	}{
		{"nil", nil, DefaultArchiveID, false},
		{"empty", &lpnet.Capabilities{}, DefaultArchiveID, false},
		{"set", &lpnet.Capabilities{Bitstring: []uint64{bit63}}, DefaultArchiveID, true},
		{"neighbour bit", &lpnet.Capabilities{Bitstring: []uint64{1 << 62}}, DefaultArchiveID, false},
		{"only mandatory does not count", &lpnet.Capabilities{Mandatories: []uint64{bit63}}, DefaultArchiveID, false},
		{"only capacity does not count", &lpnet.Capabilities{Capacities: map[uint32]uint32{63: 1}}, DefaultArchiveID, false},
		{"word 1 set", &lpnet.Capabilities{Bitstring: []uint64{0, 1 << 36}}, 100, true},
		{"word 1 missing", &lpnet.Capabilities{Bitstring: []uint64{bit63}}, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Offers(tt.caps, tt.id))
			require.Equal(t, tt.want, Requested(tt.caps, tt.id))
		})
	}
}

func TestStrip(t *testing.T) {
	tests := []struct {
		name string
		in   *lpnet.Capabilities
		id   ID
		want *lpnet.Capabilities
	}{
		{"nil stays nil", nil, DefaultArchiveID, nil},
		{"clears bitstring, mandatories, capacity", &lpnet.Capabilities{
			Bitstring: []uint64{1 | bit63}, Mandatories: []uint64{1 | bit63},
			Capacities: map[uint32]uint32{0: 1, 63: 4}, Version: "0.7.9",
		}, DefaultArchiveID, &lpnet.Capabilities{
			Bitstring: []uint64{1}, Mandatories: []uint64{1},
			Capacities: map[uint32]uint32{0: 1}, Version: "0.7.9",
		}},
		{"absent bit: unchanged", &lpnet.Capabilities{Bitstring: []uint64{1}}, DefaultArchiveID,
			&lpnet.Capabilities{Bitstring: []uint64{1}}},
		{"word 1 emptied is trimmed", &lpnet.Capabilities{Bitstring: []uint64{1, 1 << 36}, Mandatories: []uint64{0, 1 << 36}},
			100, &lpnet.Capabilities{Bitstring: []uint64{1}}},
		{"trailing zero words are trimmed", &lpnet.Capabilities{Bitstring: []uint64{1, 0, 0}},
			DefaultArchiveID, &lpnet.Capabilities{Bitstring: []uint64{1}}},
		{"inner zero words are kept", &lpnet.Capabilities{Bitstring: []uint64{0, 1 | 1<<36}},
			100, &lpnet.Capabilities{Bitstring: []uint64{0, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Strip(tt.in, tt.id)
			if tt.want == nil {
				require.Nil(t, got)
				return
			}
			require.True(t, proto.Equal(tt.want, got), "got %v", got)
			require.Equal(t, len(tt.want.Bitstring), len(got.Bitstring), "length matters to go-livepeer")
			require.Equal(t, len(tt.want.Mandatories), len(got.Mandatories), "length matters to go-livepeer")
			require.False(t, Requested(got, tt.id))
		})
	}
}

// TestInputsNeverMutated checks both that the input is untouched and that
// the result shares no backing array or map with it: proto messages are
// shared, so a later write to the result must not leak back.
func TestInputsNeverMutated(t *testing.T) {
	in := func() *lpnet.Capabilities {
		return &lpnet.Capabilities{
			Bitstring: make([]uint64, 1, 4), Mandatories: []uint64{bit63, 1 << 36},
			Capacities:  map[uint32]uint32{63: 1, 100: 1},
			Constraints: &lpnet.Capabilities_Constraints{MinVersion: "0.7.0"},
		}
	}
	ops := map[string]func(*lpnet.Capabilities) *lpnet.Capabilities{
		"Advertise": func(c *lpnet.Capabilities) *lpnet.Capabilities { return Advertise(c, DefaultArchiveID) },
		"Request":   func(c *lpnet.Capabilities) *lpnet.Capabilities { return Request(c, DefaultArchiveID) },
		"Request64": func(c *lpnet.Capabilities) *lpnet.Capabilities { return Request(c, 64) },
		"Strip":     func(c *lpnet.Capabilities) *lpnet.Capabilities { return Strip(c, DefaultArchiveID) },
		"Strip100":  func(c *lpnet.Capabilities) *lpnet.Capabilities { return Strip(c, 100) },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			orig := in()
			before := proto.Clone(orig)
			got := op(orig)
			require.True(t, proto.Equal(before, orig), "input changed: %v", orig)

			for i := range got.Bitstring {
				got.Bitstring[i] = ^uint64(0)
			}
			got.Bitstring = append(got.Bitstring, 7) // would land in orig's spare capacity if shared
			for i := range got.Mandatories {
				got.Mandatories[i] = ^uint64(0)
			}
			got.Capacities[999] = 9
			got.Constraints.MinVersion = "9.9.9"
			require.True(t, proto.Equal(before, orig), "result aliases input: %v", orig)
			require.Equal(t, uint64(0), orig.Bitstring[:2][1], "spare capacity written through")
		})
	}
}
