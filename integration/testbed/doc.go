// Package testbed is a broadcaster and an orchestrator that speak
// go-livepeer v0.7.9's wire protocol (gRPC GetOrchestrator, HTTPS
// POST /segment with Livepeer-Segment and Livepeer-Payment, TranscodeResult
// replies, PM tickets), with the archiver plugged in as go-livepeer would
// host it. go-livepeer's own core and server need a patched FFmpeg and do
// not build here; the testbed stands in for them with real parts: ffmpeg
// transcoding, real PM tickets (pm.Sender, pm.Validator), real archiver
// worker processes and a real Bee.
package testbed
