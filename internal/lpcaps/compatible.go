// Package lpcaps is go-livepeer v0.7.9's capability compatibility rule
// (core.Capabilities.CompatibleWith and its version check), reimplemented
// because go-livepeer's core package needs cgo FFmpeg, which the main module
// never links. It stands in for go-livepeer in the testbed orchestrator and
// in capability's tests; a real go-livepeer (the golivepeer module) applies
// its own rule, and golivepeer's tests check this one against it.
package lpcaps

import lpnet "github.com/livepeer/go-livepeer/net"

// Compatible reports whether an orchestrator (or transcoder) advertising orch
// accepts a segment whose SegData carries seg, by go-livepeer v0.7.9's rules
// as applied on the segment path (server/segment_rpc.go:366 for the
// orchestrator, server/ot_rpc.go:164 for a remote transcoder):
//
//  1. seg == nil is an older broadcaster: go-livepeer substitutes an empty
//     capability set with no version constraint (server/rpc.go:514-519), so
//     it passes unless orch has mandatory bits.
//  2. If seg asks for a minimum version, orch.Version must satisfy it
//     (core/capabilities.go:337-363; see VersionCompatible).
//  3. Every mandatory orch bit must be in seg's Bitstring, and orch's
//     Mandatories must not have more words than seg's Bitstring
//     (core/capabilities.go:385 with :216-227).
//  4. Every seg bit must be in orch's Bitstring, and seg's Bitstring must not
//     have more words than orch's (core/capabilities.go:389 with :216-227).
//
// seg's Mandatories, seg's Version and both Capacities are ignored, as in
// go-livepeer. orch == nil returns false: go-livepeer would dereference it
// (core/capabilities.go:385) and panic, so the segment is never served;
// refusing is that outcome without the crash. (ot_rpc.go:164 skips the check
// entirely when the transcoder node has no capabilities; that is the
// caller's decision, not part of the rule.) go-livepeer's nil *Capabilities
// receiver case (core/capabilities.go:368-373) cannot arise on this path
// because of rule 1.
func Compatible(orch, seg *lpnet.Capabilities) bool {
	if orch == nil {
		return false
	}
	if !VersionCompatible(seg.GetConstraints().GetMinVersion(), orch.Version) {
		return false
	}
	if !wordsCompatible(orch.Mandatories, seg.GetBitstring()) {
		return false
	}
	return wordsCompatible(seg.GetBitstring(), orch.Bitstring)
}

// wordsCompatible is go-livepeer's CapabilityString.CompatibleWith
// (core/capabilities.go:216-227): c1 AND c2 == c1, with the length check
// first. The length check is deliberately kept even though it makes trailing
// zero words significant: that is what stock nodes do.
func wordsCompatible(c1, c2 []uint64) bool {
	if len(c1) > len(c2) {
		return false
	}
	for i := range c1 {
		if c1[i]&c2[i] != c1[i] {
			return false
		}
	}
	return true
}
