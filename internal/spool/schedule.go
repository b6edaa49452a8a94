package spool

import (
	"container/heap"
	"slices"

	"github.com/ethereum/go-ethereum/common"

	"github.com/lpswarm/archiver"
)

// record is what the spool keeps in memory about one durable job; the data
// stays on disk until a worker leases it.
type record struct {
	id       ID
	sender   common.Address
	manifest archiver.ManifestID
	seq      int64
	size     int64 // file size, as charged to the budget
	attempts int
	leased   bool
	// finishing marks a Done in progress, so a second Done or a Release
	// of the same lease is refused while the file is being removed.
	finishing bool
}

// scheduler orders the jobs that are ready to lease (durable, not leased).
//
// Fairness is two-level round-robin: each Next takes the next sender in
// turn, and within that sender the next manifest in turn, and within that
// manifest the lowest seq. A sender with a hundred queued segments and a
// sender with three therefore alternate; a broadcaster running many
// streams gets one turn per round, not one per stream. A key joins its
// ring at the back when it gets work and leaves when it has none, so a
// newcomer waits at most one round.
type scheduler struct {
	senders map[common.Address]*senderQueue
	ring    ring[common.Address]
}

type senderQueue struct {
	manifests map[archiver.ManifestID]*seqHeap
	ring      ring[archiver.ManifestID]
}

func newScheduler() *scheduler {
	return &scheduler{senders: map[common.Address]*senderQueue{}}
}

// push makes r ready. A released job goes back by its seq, so it is the
// next one served for its manifest.
func (s *scheduler) push(r *record) {
	sq := s.senders[r.sender]
	if sq == nil {
		sq = &senderQueue{manifests: map[archiver.ManifestID]*seqHeap{}}
		s.senders[r.sender] = sq
		s.ring.add(r.sender)
	}
	h := sq.manifests[r.manifest]
	if h == nil {
		h = &seqHeap{}
		sq.manifests[r.manifest] = h
		sq.ring.add(r.manifest)
	}
	heap.Push(h, r)
}

// pop takes the next job in fair order, or nil when none is ready.
func (s *scheduler) pop() *record {
	if s.ring.empty() {
		return nil
	}
	sender := s.ring.current()
	sq := s.senders[sender]
	manifest := sq.ring.current()
	h := sq.manifests[manifest]
	r := heap.Pop(h).(*record)

	if h.Len() == 0 {
		delete(sq.manifests, manifest)
		sq.ring.removeCurrent()
	} else {
		sq.ring.advance()
	}
	if sq.ring.empty() {
		delete(s.senders, sender)
		s.ring.removeCurrent()
	} else {
		s.ring.advance()
	}
	return r
}

// ring is a round-robin cycle over keys; current is the next to serve.
type ring[K comparable] struct {
	keys []K
	cur  int
}

func (r *ring[K]) empty() bool { return len(r.keys) == 0 }
func (r *ring[K]) current() K  { return r.keys[r.cur] }
func (r *ring[K]) advance()    { r.cur = (r.cur + 1) % len(r.keys) }

// add inserts k just before the current key: it is served last in the
// round under way, after everyone who was already waiting.
func (r *ring[K]) add(k K) {
	r.keys = slices.Insert(r.keys, r.cur, k)
	if len(r.keys) > 1 {
		r.cur++
	}
}

// removeCurrent drops the current key; its successor becomes current.
func (r *ring[K]) removeCurrent() {
	r.keys = slices.Delete(r.keys, r.cur, r.cur+1)
	if r.cur >= len(r.keys) {
		r.cur = 0
	}
}

// seqHeap orders one manifest's ready jobs by seq, then by ID so that two
// submissions of one seq keep their arrival order.
type seqHeap []*record

func (h seqHeap) Len() int { return len(h) }
func (h seqHeap) Less(i, j int) bool {
	if h[i].seq != h[j].seq {
		return h[i].seq < h[j].seq
	}
	return h[i].id < h[j].id
}
func (h seqHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *seqHeap) Push(x any)   { *h = append(*h, x.(*record)) }
func (h *seqHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return r
}
