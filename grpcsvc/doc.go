// Package grpcsvc is the orchestrator's side of remote archiver workers: a
// gRPC service where workers register with a shared secret and a capacity,
// receive jobs (the source and renditions of one segment), fetch the job
// data in chunks and report Swarm references back.
//
// Jobs come from a durable Queue (the spool) and go back to it whenever the
// worker holding them disconnects, dies or misses its deadline, so a job is
// re-dispatched, never dropped. A late report from a worker that lost its
// job is harmless: results are recorded by content, idempotently.
package grpcsvc
