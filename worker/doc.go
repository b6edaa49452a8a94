// Package worker is the archiver worker's side of the orchestrator's gRPC
// service: it registers with a secret and a capacity, fetches each job's
// files, uploads them to Swarm through its Bee node and reports the
// references. It keeps no state a successor could not rebuild: the
// orchestrator's index is authoritative and re-dispatches whatever a worker
// does not report.
package worker
