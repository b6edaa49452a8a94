// Package dispatch is what the orchestrator decides about its workers,
// with no transport in sight. A Pool chooses which connected worker
// archives a job: the worker that archived the stream before, if it has
// room (its stamps and Bee node stay warm for the stream), else the least
// loaded relative to its capacity. A Dispatcher hands queued jobs to the
// pool's workers and holds each assignment to its deadline and its
// acknowledgement, until its report is checked and recorded. A LeaseTable
// gives each worker that stamps client-side its own range of the
// operator's batch, for good. grpcsvc carries all of it over gRPC.
//
// Jobs come from a durable queue (the spool) and go back to it whenever the
// worker holding them disconnects, dies or misses its deadline, so a job is
// re-dispatched, never dropped. A late report from a worker that lost its
// job is refused by its token; results are recorded by content,
// idempotently.
//
// A worker acknowledges a job by fetching it (or reporting it). The
// declared capacity bounds what a worker holds; what it holds
// unacknowledged is bounded by Config.MaxUnacked whatever it declared. A
// worker that does not acknowledge within Config.AckTimeout loses its
// unacknowledged jobs to the queue at once and is given none until it
// acknowledges one: a worker that never reads its stream cannot keep jobs
// from the others for a deadline at a time.
package dispatch

import (
	"context"
	"sync"
)

// Worker is one connected worker. L is what the transport reaches it by.
type Worker[L any] struct {
	ID       string
	Capacity int
	Link     L

	gone chan struct{} // closed by Dispatcher.Leave

	// Guarded by Pool.mu:
	load       int  // jobs assigned and not reported
	unacked    int  // archive jobs assigned and neither fetched nor reported
	publishing int  // publish jobs in flight, outside load
	stalled    bool // missed an acknowledgement: given nothing until it acknowledges
}

// NewWorker is a worker about to join a Dispatcher.
func NewWorker[L any](id string, capacity int, link L) *Worker[L] {
	return &Worker[L]{ID: id, Capacity: capacity, Link: link, gone: make(chan struct{})}
}

// Gone is closed once the worker has left.
func (w *Worker[L]) Gone() <-chan struct{} { return w.gone }

// Pool tracks connected workers and picks one per job. Room is what a
// worker declared, and fewer than maxUnacked jobs it has not
// acknowledged: the declaration is the worker's word, the
// acknowledgements are what it does.
type Pool[L any] struct {
	mu         sync.Mutex
	workers    map[*Worker[L]]struct{}
	affinity   map[string]*Worker[L] // manifest id → last worker
	changed    chan struct{}         // closed and replaced on every change
	maxUnacked int                   // 0: no bound
	// declined is the change generation a pick last found no worker in;
	// equal to changed, it means the pool's current state was judged
	// and nobody fits (Declined).
	declined chan struct{}
}

// NewPool returns an empty pool; a worker holds at most maxUnacked jobs it
// has not acknowledged (0: no bound).
func NewPool[L any](maxUnacked int) *Pool[L] {
	return &Pool[L]{workers: map[*Worker[L]]struct{}{}, affinity: map[string]*Worker[L]{}, changed: make(chan struct{}),
		maxUnacked: maxUnacked}
}

// signal wakes everyone waiting for a change; r.mu must be held.
func (r *Pool[L]) signal() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// Add admits a worker.
func (r *Pool[L]) Add(w *Worker[L]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.workers[w] = struct{}{}
	r.signal()
}

// Remove forgets a worker; its jobs are re-dispatched by the caller.
func (r *Pool[L]) Remove(w *Worker[L]) {
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

// All lists the connected workers.
func (r *Pool[L]) All() []*Worker[L] {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Worker[L], 0, len(r.workers))
	for w := range r.workers {
		out = append(out, w)
	}
	return out
}

// Forget drops a stream's affinity once the stream has ended: without it
// the map would keep one entry per stream ever archived.
func (r *Pool[L]) Forget(stream string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.affinity, stream)
}

// Release returns one unit of a worker's capacity.
func (r *Pool[L]) Release(w *Worker[L]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.load > 0 {
		w.load--
	}
	r.signal()
}

// Ack records that w reads its stream: it fetched or reported a job, held
// if that job still counted as unacknowledged. A stalled worker gets jobs
// again; ack reports whether it was stalled.
func (r *Pool[L]) Ack(w *Worker[L], held bool) (wasStalled bool) {
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

// Stall gives w no job until it acknowledges one; it reports whether w was
// stalled already.
func (r *Pool[L]) Stall(w *Worker[L]) (already bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	already, w.stalled = w.stalled, true
	return already
}

// ReleaseUnacked returns the unit of capacity of a job w had not
// acknowledged.
func (r *Pool[L]) ReleaseUnacked(w *Worker[L]) {
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

// Stalled returns the number of connected workers given nothing until
// they acknowledge.
func (r *Pool[L]) Stalled() int {
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

// Pick waits until a worker has room for a job of the stream and reserves
// one unit of its capacity. Workers in avoid (they missed this job's
// deadline) are used only when no other worker is connected.
func (r *Pool[L]) Pick(ctx context.Context, stream string, avoid map[*Worker[L]]bool) (*Worker[L], error) {
	return r.reserve(ctx, stream, avoid, false)
}

// PickJob picks like Pick for an archive job, which the worker holds
// unacknowledged until it fetches or reports it.
func (r *Pool[L]) PickJob(ctx context.Context, stream string, avoid map[*Worker[L]]bool) (*Worker[L], error) {
	return r.reserve(ctx, stream, avoid, true)
}

func (r *Pool[L]) reserve(ctx context.Context, stream string, avoid map[*Worker[L]]bool, unacked bool) (*Worker[L], error) {
	return r.wait(ctx, func() *Worker[L] {
		w := r.choose(stream, avoid)
		if w != nil {
			w.load++
			if unacked {
				w.unacked++
			}
			r.affinity[stream] = w
		}
		return w
	})
}

// wait runs take under r.mu until it returns a worker, after every change
// of the pool, or until ctx ends. take chooses and reserves.
func (r *Pool[L]) wait(ctx context.Context, take func() *Worker[L]) (*Worker[L], error) {
	for {
		r.mu.Lock()
		if w := take(); w != nil {
			r.mu.Unlock()
			return w, nil
		}
		changed := r.changed
		r.declined = changed
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		}
	}
}

// others reports whether a connected worker is neither in avoid nor
// stalled; r.mu must be held.
func (r *Pool[L]) others(avoid map[*Worker[L]]bool) bool {
	for w := range r.workers {
		if !avoid[w] && !w.stalled {
			return true
		}
	}
	return false
}

// choose applies the selection rule; r.mu must be held. A stalled worker
// is never used, nor counted as another worker to wait for: it may never
// acknowledge again.
func (r *Pool[L]) choose(stream string, avoid map[*Worker[L]]bool) *Worker[L] {
	others := r.others(avoid)
	usable := func(w *Worker[L]) bool {
		return w.load < w.Capacity && !w.stalled && (r.maxUnacked == 0 || w.unacked < r.maxUnacked) && (!avoid[w] || !others)
	}
	return r.pick(stream, usable, lessLoaded[L])
}

// pick returns the stream's worker if usable, else the usable worker that
// sorts first by less; r.mu must be held.
func (r *Pool[L]) pick(stream string, usable func(*Worker[L]) bool, less func(a, b *Worker[L]) bool) *Worker[L] {
	if w, ok := r.affinity[stream]; ok && usable(w) {
		return w
	}
	var best *Worker[L]
	for w := range r.workers {
		if usable(w) && (best == nil || less(w, best)) {
			best = w
		}
	}
	return best
}

// lessLoaded orders workers by load relative to capacity
// (a.load/a.Capacity < b.load/b.Capacity), then by id.
func lessLoaded[L any](a, b *Worker[L]) bool {
	if x, y := a.load*b.Capacity, b.load*a.Capacity; x != y {
		return x < y
	}
	return a.ID < b.ID
}

// PublishLanes is how many publish jobs a worker runs at once beside its
// declared capacity: publishes never take a segment's slot, and a worker
// that declared more capacity gets more of them.
func PublishLanes(capacity int) int { return 1 + capacity/4 }

// PickPublish waits until a worker has a free publish lane and takes it:
// the stream's worker if it has one (it remembers the stream's earlier
// manifests and uploads only what changed), else the one with the fewest
// publishes, then the least loaded. Workers in avoid (they failed this
// publish) are used only when no other worker is connected. A publish
// takes no unit of capacity: segments keep every slot.
func (r *Pool[L]) PickPublish(ctx context.Context, stream string, avoid map[*Worker[L]]bool) (*Worker[L], error) {
	return r.wait(ctx, func() *Worker[L] {
		w := r.choosePublish(stream, avoid)
		if w != nil {
			w.publishing++
		}
		return w
	})
}

// ReleasePublish frees the publish lane PickPublish took.
func (r *Pool[L]) ReleasePublish(w *Worker[L]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.publishing > 0 {
		w.publishing--
	}
	r.signal()
}

// choosePublish applies PickPublish's rule; r.mu must be held.
func (r *Pool[L]) choosePublish(stream string, avoid map[*Worker[L]]bool) *Worker[L] {
	others := r.others(avoid)
	usable := func(w *Worker[L]) bool {
		return w.publishing < PublishLanes(w.Capacity) && !w.stalled && (!avoid[w] || !others)
	}
	return r.pick(stream, usable, func(a, b *Worker[L]) bool {
		if a.publishing != b.publishing {
			return a.publishing < b.publishing
		}
		return lessLoaded(a, b)
	})
}

// Count returns the number of connected workers and their total capacity.
func (r *Pool[L]) Count() (workers, capacity int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for w := range r.workers {
		workers++
		capacity += w.Capacity
	}
	return workers, capacity
}

// Sizes reports how many stream affinities and workers the pool holds.
func (r *Pool[L]) Sizes() (affinities, workers int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.affinity), len(r.workers)
}

// Declined reports whether a pick is waiting because no worker fits the
// pool as it is now: every change since was seen. It lets a caller (a
// test) know that a job was not given to a worker, rather than not yet.
func (r *Pool[L]) Declined() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.declined != nil && r.declined == r.changed
}
