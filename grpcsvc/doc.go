// Package grpcsvc is the orchestrator's two gRPC services. ArchiverService
// is for remote archiver workers: they register with a shared secret and a
// capacity, receive jobs (the source and renditions of one segment), fetch
// the job data in chunks and report Swarm references back. ArchiveQueries
// (Queries) is for broadcasters: the archive offer, and a stream's archive
// status for its broadcaster, read from the catalog.
//
// Jobs come from a durable Queue (the spool) and go back to it whenever the
// worker holding them disconnects, dies or misses its deadline, so a job is
// re-dispatched, never dropped. A late report from a worker that lost its
// job is harmless: results are recorded by content, idempotently.
//
// A worker acknowledges a job by fetching it (or reporting it), as workers
// always have. The declared capacity bounds what a worker holds; what it
// holds unacknowledged is bounded by Config.MaxUnacked whatever it
// declared. A worker that does not acknowledge within Config.AckTimeout
// loses its unacknowledged jobs to the queue at once and is given none
// until it acknowledges one: a worker that never reads its stream cannot
// keep jobs from the others for a deadline at a time.
package grpcsvc
