// Package plugin is the archiver inside a go-livepeer node: the one entry
// point a go-livepeer build (the golivepeer module's livepeer-archiver)
// calls. Flags defines the archiver's flags once and registers them on
// go-livepeer's flag set; Orchestrator owns the orchestrator side (spool,
// index, workers' service, streams) and the decorator, their lifecycles and
// the end of sessions; Broadcaster asks for archiving per stream, follows
// the receipts and reports where each stream's archive plays.
//
// The package speaks the archiver's own types and go-livepeer's wire types
// (package net); converting go-livepeer's core and lpms types is the
// build's job, so this module never links FFmpeg.
package plugin
