// Package grpcsvc is the orchestrator's two gRPC services, a thin adapter
// over the dispatcher (internal/dispatch). ArchiverService is for remote
// archiver workers: they register with a shared secret and a capacity,
// receive jobs (the source and renditions of one segment) and publish
// jobs, fetch the job data in chunks and report Swarm references back.
// ArchiveQueries (Queries) is for broadcasters: the archive offer, and a
// stream's archive status for its broadcaster, read from the catalog.
//
// What happens to a job is the dispatcher's decision: which worker, until
// when, what a missed deadline or acknowledgement or a disconnect does,
// whether a report is recorded. This package carries the decisions to the
// workers, their fetches and reports back, and maps the dispatcher's
// errors to the codes a worker acts on (NotFound: drop the job).
package grpcsvc
