package archiverpb

// RegisteredHeader is the response header an orchestrator sends on a
// RegisterArchiver stream once it has admitted the worker (before any
// notice; a client-stamping worker's lease notice says as much). A worker
// that saw it had a healthy registration and reconnects after it ends
// without the backoff of a refused one. Older orchestrators do not send it.
const RegisteredHeader = "archiver-registered"
