package archiverpb

// LeaseProbeHeader, as request metadata on RegisterArchiver from a
// client-stamping worker, asks for its stamp lease only: the orchestrator
// sends the lease notice and ends the stream without admitting the worker,
// so no job is handed to it. A worker whose lease is full asks this way
// whether the operator has granted it another (a new batch) before it
// takes jobs again. An orchestrator that predates it admits the worker as
// usual, which then leaves at once; its jobs are re-dispatched.
const LeaseProbeHeader = "archiver-lease-probe"
