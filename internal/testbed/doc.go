// Package testbed is a broadcaster and an orchestrator that speak
// go-livepeer v0.7.9's wire protocol (gRPC GetOrchestrator, HTTPS
// POST /segment with Livepeer-Segment and Livepeer-Payment, TranscodeResult
// replies, PM tickets), with the archiver plugged in as go-livepeer would
// host it, from the main module, which never links go-livepeer's FFmpeg.
//
// What it stands in for: the real livepeer-archiver (the golivepeer module)
// is tested end to end with real go-livepeer processes, offchain and on a
// local chain with the Livepeer protocol deployed, real tickets redeemed
// (golivepeer/e2e.TestOnChainLoop). The testbed remains where a real node
// cannot be steered or is too heavy: benchmarks and load tests that need an
// orchestrator in the test's own process, and faults go-livepeer never
// produces on its own (a lost reply, an orchestrator that overcharges, a
// balance that runs out mid-stream), with real PM tickets (pm.Sender,
// pm.Validator) but no chain. Its other parts are real: ffmpeg transcoding,
// archiver worker processes and Bee.
package testbed
