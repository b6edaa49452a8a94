package capability

import (
	"fmt"

	lpnet "github.com/livepeer/go-livepeer/net"
	"google.golang.org/protobuf/proto"
)

// Advertise returns a copy of an orchestrator's capabilities that also offers
// id. caps may be nil (a fresh message is returned) and is never modified.
//
// The bit is set in Bitstring only. If it was already in Mandatories it is
// cleared there: a mandatory archive bit would make the orchestrator refuse
// every segment from a stock broadcaster (core/capabilities.go:385), and
// serving stock broadcasters unchanged is the point of the design.
//
// Capacities is left alone. In go-livepeer v0.7.9 Capacities only counts the
// transcoding sessions a registered transcoder contributes
// (core/orchestrator.go:748-750 via AddCapacity); archiving is done by the
// orchestrator itself, per stream, not by a registered transcoder, so there is
// no session count to report and inventing one would mislead. Consequence: do
// not feed the result into RegisterTranscoder when Capacities is non-empty,
// because go-livepeer rebuilds the bitstring from Capacities there
// (core/capabilities.go:426-429, 452-463) and would drop the bit.
//
// Advertise panics if id.Validate() fails.
func Advertise(caps *lpnet.Capabilities, id ID) *lpnet.Capabilities {
	return withOptionalBit(caps, id)
}

// Offers reports whether an orchestrator's capabilities advertise id.
func Offers(caps *lpnet.Capabilities, id ID) bool {
	return hasBit(caps.GetBitstring(), id)
}

// Request returns a copy of a segment's capabilities that also requests id.
// caps may be nil (a fresh message is returned) and is never modified.
//
// The bit is cleared from Mandatories if present. go-livepeer ignores a
// segment's Mandatories when matching (core/capabilities.go:385-389 reads
// only the orchestrator's), so this only keeps the message honest: the
// archive bit is never something anyone must have.
//
// Request panics if id.Validate() fails.
func Request(caps *lpnet.Capabilities, id ID) *lpnet.Capabilities {
	return withOptionalBit(caps, id)
}

// Requested reports whether a segment's capabilities request id.
func Requested(caps *lpnet.Capabilities, id ID) bool {
	return hasBit(caps.GetBitstring(), id)
}

// Strip returns a copy of caps without id: cleared from Bitstring and
// Mandatories and deleted from Capacities. nil stays nil; caps is never
// modified. Any id is accepted, so Strip can also scrub a bit that failed
// Validate.
//
// Trailing zero words are trimmed from Bitstring and Mandatories. They carry
// no capability, but go-livepeer's CapabilityString.CompatibleWith refuses
// outright when the left side is longer than the right
// (core/capabilities.go:218), so a segment bitstring [x, 0] is refused by a
// transcoder advertising [x]. Stripping a bit in word 1 would otherwise leave
// exactly such a word. go-livepeer never produces trailing zero words itself
// (NewCapabilityString grows only to the highest set bit,
// core/capabilities.go:495-503), so trimming makes the result look like what a
// stock broadcaster would have sent.
func Strip(caps *lpnet.Capabilities, id ID) *lpnet.Capabilities {
	if caps == nil {
		return nil
	}
	out := clone(caps)
	out.Bitstring = clearBit(out.Bitstring, id)
	out.Mandatories = clearBit(out.Mandatories, id)
	delete(out.Capacities, uint32(id))
	return out
}

// withOptionalBit is the shared body of Advertise and Request: both sides of
// the match set the same Bitstring bit and keep it out of Mandatories.
func withOptionalBit(caps *lpnet.Capabilities, id ID) *lpnet.Capabilities {
	mustValid(id)
	out := clone(caps)
	out.Bitstring = setBit(out.Bitstring, id)
	if hasBit(out.Mandatories, id) {
		out.Mandatories = clearBit(out.Mandatories, id)
	}
	return out
}

// clone deep-copies caps (slices and maps included, so callers may mutate the
// result freely); nil becomes an empty message.
func clone(caps *lpnet.Capabilities) *lpnet.Capabilities {
	if caps == nil {
		return &lpnet.Capabilities{}
	}
	return proto.Clone(caps).(*lpnet.Capabilities)
}

func mustValid(id ID) {
	if err := id.Validate(); err != nil {
		panic(fmt.Sprintf("capability: %v", err))
	}
}

func hasBit(words []uint64, id ID) bool {
	w := int(id / 64)
	return w < len(words) && words[w]&(1<<(id%64)) != 0
}

// setBit grows words to reach id's word, as go-livepeer's addCapability does
// (core/capabilities.go:495-503). words must not be shared with a caller.
func setBit(words []uint64, id ID) []uint64 {
	w := int(id / 64)
	for len(words) <= w {
		words = append(words, 0)
	}
	words[w] |= 1 << (id % 64)
	return words
}

// clearBit clears id and trims trailing zero words (see Strip for why).
// words must not be shared with a caller.
func clearBit(words []uint64, id ID) []uint64 {
	if w := int(id / 64); w < len(words) {
		words[w] &^= 1 << (id % 64)
	}
	for len(words) > 0 && words[len(words)-1] == 0 {
		words = words[:len(words)-1]
	}
	if len(words) == 0 {
		return nil
	}
	return words
}
