// Package archiverpb holds the archiver's wire messages (archiver.proto and
// the code generated from it by scripts/generate.sh) and the helpers that
// carry them inside go-livepeer's OrchestratorInfo and TranscodeResult.
package archiverpb
