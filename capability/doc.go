// Package capability lets an archiving orchestrator and the broadcasters that
// want archiving agree on archiving through go-livepeer's own capability
// bitstring, without changing go-livepeer's wire format.
//
// go-livepeer (github.com/livepeer/go-livepeer, pinned at v0.7.9) describes
// what a node can do as net.Capabilities: capability c is bit c%64 of word
// c/64 of Bitstring. An orchestrator advertises the bits it supports in
// OrchestratorInfo; a broadcaster puts the bits a segment needs into the
// SegData carried, protobuf-encoded and base64'd, in the Livepeer-Segment
// header. The orchestrator refuses a segment that asks for a bit it does not
// advertise, and it refuses any segment that lacks one of its own mandatory
// bits (core/capabilities.go:365-390, server/segment_rpc.go:366-369).
//
// Archiving claims one otherwise unused bit, DefaultArchiveID (63):
//
//   - the archiving orchestrator Advertises it; stock broadcasters ignore
//     unknown bits, so advertising it costs nothing;
//   - an archive-requesting broadcaster Requests it on its segments, so only
//     orchestrators that Offer archiving accept them;
//   - the bit is never mandatory, so segments from stock broadcasters, which
//     never request it, are still accepted by an archiving orchestrator;
//   - before the orchestrator hands a segment to go-livepeer's transcoders it
//     Strips the bit, because a stock transcoder refuses a segment carrying a
//     bit it does not itself advertise (server/ot_rpc.go:164, and the
//     orchestrator's own transcoder selection, core/orchestrator.go:997).
//
// The broadcaster's segment signature does not cover capabilities
// (core/streamdata.go:72-82), so adding or stripping the bit never
// invalidates it. This package's tests check each property against
// go-livepeer's compatibility rule as internal/lpcaps reimplements it; the
// golivepeer module checks that reimplementation against go-livepeer's own.
//
// Every function returns a fresh message and never modifies its arguments:
// protobuf messages are routinely shared between goroutines (an
// OrchestratorInfo is reused across sessions, a SegData across retries).
package capability
