package capability

import (
	"errors"
	"fmt"
)

// ID is a capability number in go-livepeer's numbering: bit ID%64 of word
// ID/64 of a capability bitstring. It is unsigned, and as wide as the keys of
// net.Capabilities.Capacities, because the capability numbers go-livepeer puts
// on the wire are never negative (its Capability_Invalid = -2 and
// Capability_Unused = -1 are never encoded: core/capabilities.go:208).
type ID uint32

// DefaultArchiveID is the capability bit that means "archive this stream to
// Swarm". 63 is the last bit of word 0: it is as far as word 0 allows from the
// ids go-livepeer keeps appending (26 in v0.7.9, 37 on master), and staying in
// word 0 means requesting it never lengthens a segment's bitstring, which
// matters because go-livepeer treats a longer bitstring as incompatible
// (core/capabilities.go:218) even when the extra words are zero.
const DefaultArchiveID ID = 63

const (
	// lastUpstreamIDv079 is go-livepeer v0.7.9's highest capability,
	// Capability_SegmentSlicing = 26 (core/capabilities.go:35-63: iota - 2
	// starting at Capability_Invalid). TestReservedCoversPinnedGoLivepeer
	// re-derives it from the module cache.
	lastUpstreamIDv079 ID = 26
	// lastUpstreamIDMaster is go-livepeer master's highest capability,
	// Capability_BYOC = 37 (core/capabilities.go on master: the AI pipelines
	// Capability_TextToImage = 27 … Capability_TextToSpeech = 36, then the
	// BYOC price-tag sentinel 37). It is not in the module cache, so it is
	// recorded here by hand and must be revisited when go-livepeer is bumped.
	lastUpstreamIDMaster ID = 37
	// lastReservedID is the highest id that collides with go-livepeer.
	lastReservedID = max(lastUpstreamIDv079, lastUpstreamIDMaster)
	// MaxID is the highest id go-livepeer's orchestrator survives. When a
	// transcoder registers, AddCapacity appends at most one word to the
	// orchestrator's bitstring per capability and then indexes word ID/64
	// (core/capabilities.go:458-463). Stock orchestrators hold one word
	// (their ids are < 64), so word 1 (ids 64..127) is reachable and word 2
	// (id 128) indexes past the end and panics.
	MaxID ID = 127
)

var (
	// ErrIDTooLarge reports an id above MaxID, which would crash
	// go-livepeer's AddCapacity.
	ErrIDTooLarge = errors.New("capability id too large for go-livepeer")
	// ErrIDReserved reports an id go-livepeer already uses for its own
	// capabilities (0..37 across v0.7.9 and master).
	ErrIDReserved = errors.New("capability id reserved by go-livepeer")
)

// Validate reports whether id can carry the archive capability. Call it when
// configuration is loaded: Advertise and Request panic on an invalid id
// because by then it is a programming error, not an input error.
func (id ID) Validate() error {
	if id > MaxID {
		return fmt.Errorf("capability id %d > %d: %w", id, MaxID, ErrIDTooLarge)
	}
	if id <= lastReservedID {
		return fmt.Errorf("capability id %d <= %d: %w", id, lastReservedID, ErrIDReserved)
	}
	return nil
}
