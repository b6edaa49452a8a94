package grpcsvc

import (
	"context"
	"sync"

	"github.com/lpswarm/archiver/proto/archiverpb"
)

// worker is one registered archiver worker.
type worker struct {
	id       string
	capacity int
	notices  chan *archiverpb.WorkerNotice // to the registration stream
	gone     chan struct{}                 // closed when the stream ends

	// Guarded by registry.mu:
	load    int  // jobs assigned and not reported
	unacked int  // archive jobs assigned and neither fetched nor reported
	stalled bool // missed an acknowledgement: given nothing until it acknowledges
}

// registry tracks connected workers and picks one per job: the worker that
// archived the stream before, if it has room (its stamps and Bee node stay
// warm for the stream), else the least loaded relative to its capacity.
// Room is what a worker declared, and fewer than maxUnacked jobs it has
// not acknowledged: the declaration is the worker's word, the
// acknowledgements are what it does.
type registry struct {
	mu         sync.Mutex
	workers    map[*worker]struct{}
	affinity   map[string]*worker // manifest id → last worker
	changed    chan struct{}      // closed and replaced on every change
	maxUnacked int                // 0: no bound (set before use)
}

func newRegistry() *registry {
	return &registry{workers: map[*worker]struct{}{}, affinity: map[string]*worker{}, changed: make(chan struct{})}
}

// signal wakes everyone waiting for a change; r.mu must be held.
func (r *registry) signal() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *registry) add(w *worker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.workers[w] = struct{}{}
	r.signal()
}

// remove forgets a worker; its jobs are re-dispatched by the caller.
func (r *registry) remove(w *worker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.workers, w)
	for k, a := range r.affinity {
		if a == w {
			delete(r.affinity, k)
		}
	}
	r.signal()
}

// all lists the connected workers.
func (r *registry) all() []*worker {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*worker, 0, len(r.workers))
	for w := range r.workers {
		out = append(out, w)
	}
	return out
}

// forget drops a stream's affinity once the stream has ended: without it
// the map would keep one entry per stream ever archived.
func (r *registry) forget(stream string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.affinity, stream)
}

// release returns one unit of a worker's capacity.
func (r *registry) release(w *worker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.load > 0 {
		w.load--
	}
	r.signal()
}

// ack records that w reads its stream: it fetched or reported a job, held
// if that job still counted as unacknowledged. A stalled worker gets jobs
// again; ack reports whether it was stalled.
func (r *registry) ack(w *worker, held bool) (wasStalled bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	wasStalled = w.stalled
	if held && w.unacked > 0 {
		w.unacked--
	}
	w.stalled = false
	if held || wasStalled {
		r.signal()
	}
	return wasStalled
}

// stall gives w no job until it acknowledges one; it reports whether w was
// stalled already.
func (r *registry) stall(w *worker) (already bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	already, w.stalled = w.stalled, true
	return already
}

// releaseUnacked returns the unit of capacity of a job w had not
// acknowledged.
func (r *registry) releaseUnacked(w *worker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.unacked > 0 {
		w.unacked--
	}
	if w.load > 0 {
		w.load--
	}
	r.signal()
}

// stalledCount returns the number of connected workers given nothing until
// they acknowledge.
func (r *registry) stalledCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for w := range r.workers {
		if w.stalled {
			n++
		}
	}
	return n
}

// pick waits until a worker has room for a job of the stream and reserves
// one unit of its capacity. Workers in avoid (they missed this job's
// deadline) are used only when no other worker is connected.
func (r *registry) pick(ctx context.Context, stream string, avoid map[*worker]bool) (*worker, error) {
	return r.reserve(ctx, stream, avoid, false)
}

// pickJob picks like pick for an archive job, which the worker holds
// unacknowledged until it fetches or reports it.
func (r *registry) pickJob(ctx context.Context, stream string, avoid map[*worker]bool) (*worker, error) {
	return r.reserve(ctx, stream, avoid, true)
}

func (r *registry) reserve(ctx context.Context, stream string, avoid map[*worker]bool, unacked bool) (*worker, error) {
	for {
		r.mu.Lock()
		w := r.choose(stream, avoid)
		if w != nil {
			w.load++
			if unacked {
				w.unacked++
			}
			r.affinity[stream] = w
			r.mu.Unlock()
			return w, nil
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		}
	}
}

// choose applies the selection rule; r.mu must be held. A stalled worker
// is never used, nor counted as another worker to wait for: it may never
// acknowledge again.
func (r *registry) choose(stream string, avoid map[*worker]bool) *worker {
	others := false
	for w := range r.workers {
		others = others || (!avoid[w] && !w.stalled)
	}
	usable := func(w *worker) bool {
		return w.load < w.capacity && !w.stalled && (r.maxUnacked == 0 || w.unacked < r.maxUnacked) && (!avoid[w] || !others)
	}
	if w, ok := r.affinity[stream]; ok && usable(w) {
		return w
	}
	var best *worker
	for w := range r.workers {
		if !usable(w) {
			continue
		}
		// least loaded relative to capacity: w.load/w.capacity < best.load/best.capacity
		if best == nil || w.load*best.capacity < best.load*w.capacity ||
			(w.load*best.capacity == best.load*w.capacity && w.id < best.id) {
			best = w
		}
	}
	return best
}

// count returns the number of connected workers and their total capacity.
func (r *registry) count() (workers, capacity int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for w := range r.workers {
		workers++
		capacity += w.capacity
	}
	return workers, capacity
}
