package grpcsvc

import (
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// worker is one registered archiver worker, as the dispatch pool holds it.
type worker = dispatch.Worker[link]

// link is how the service reaches a registered worker.
type link struct {
	notices chan *archiverpb.WorkerNotice // to the registration stream
	gone    chan struct{}                 // closed when the stream ends
}

// newWorker is a worker registering with the given capacity, its notice
// queue as deep as its capacity.
func newWorker(id string, capacity int) *worker {
	return &worker{ID: id, Capacity: capacity,
		Link: link{notices: make(chan *archiverpb.WorkerNotice, capacity), gone: make(chan struct{})}}
}
