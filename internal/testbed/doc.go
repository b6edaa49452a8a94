// Package testbed is a broadcaster and an orchestrator that speak
// go-livepeer v0.7.9's wire protocol (gRPC GetOrchestrator, HTTPS
// POST /segment with Livepeer-Segment and Livepeer-Payment, TranscodeResult
// replies, PM tickets), with the archiver plugged in as go-livepeer would
// host it, from the main module, which never links go-livepeer's FFmpeg.
//
// What it stands in for: the real livepeer-archiver (the golivepeer module,
// tested end to end with real go-livepeer processes) runs offchain, where
// go-livepeer sends no tickets. The testbed is where archive fees are paid
// with real PM tickets (pm.Sender, pm.Validator) until the Livepeer
// protocol runs on the local chain: fee arithmetic, balance mirrors, refusals
// for insufficient balance, and the benchmarks and load tests that need an
// orchestrator in the test's own process. Its other parts are real: ffmpeg
// transcoding, archiver worker processes and Bee.
package testbed
