package grpcsvc

import (
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// worker is one registered archiver worker, as the dispatcher holds it.
type worker = dispatch.Worker[link]

// link is how the service reaches a registered worker: its registration
// stream's queue of notices.
type link struct {
	notices chan *archiverpb.WorkerNotice
}

// newWorker is a worker registering with the given capacity, its notice
// queue as deep as its capacity.
func newWorker(id string, capacity int) *worker {
	return dispatch.NewWorker(id, capacity, link{notices: make(chan *archiverpb.WorkerNotice, capacity)})
}
