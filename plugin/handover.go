package plugin

import (
	"context"
	"sync"
	"time"

	"github.com/lpswarm/archiver/orchestrator"
)

// handoverTick is how often the handover takes what go-livepeer's replies
// left: a segment's outcome is decided at most this long after its reply,
// and rides on the session's next one.
const handoverTick = 20 * time.Millisecond

// handover carries transcoded segments from go-livepeer's replies to the
// archiver's decision (price, policy and name checks, the fee's
// reservation, the submit), which runs on the handover's own goroutine.
//
// A reply then runs no more archiver code than a slice append. On a node
// whose transcoders keep every core busy, the OS preempts whatever thread
// is running; a reply that runs a hundred microseconds of cold archiver
// code is sometimes caught in it and waits milliseconds for a core again.
// Nor does a reply wake a thread: the decision goroutine polls while
// segments are being transcoded, and sleeps otherwise.
type handover struct {
	tick time.Duration

	mu      sync.Mutex
	queue   []transcoded
	begun   int  // segments begun (Begin) and not yet taken
	running bool // run is taking segments
	wake    chan struct{}
}

// transcoded is one segment go-livepeer transcoded, for the decision.
type transcoded struct {
	md  *orchestrator.SegTranscodingMetadata
	seg *orchestrator.HLSSegment
	td  *orchestrator.TranscodeData
}

func newHandover(tick time.Duration) *handover {
	return &handover{tick: tick, wake: make(chan struct{}, 1)}
}

// begin counts a segment on its way (Begin, before go-livepeer transcodes
// it). The first after a quiet spell wakes run, a second ahead of the
// segment's reply.
func (h *handover) begin() {
	h.mu.Lock()
	h.begun++
	first := h.begun == 1
	h.mu.Unlock()
	if first {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// put queues a transcoded segment, or reports false when run is not taking
// any (not started, or stopped): the caller decides it itself.
func (h *handover) put(t transcoded) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.running {
		return false
	}
	h.queue = append(h.queue, t)
	if len(h.queue) > h.begun {
		// Not begun (a caller that skipped Begin): run may be asleep.
		h.begun = len(h.queue)
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// done uncounts a begun segment that did not go through put.
func (h *handover) done() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.begun = max(h.begun-1, 0)
}

// take empties the queue; busy tells whether segments are still on their
// way (begun, not yet queued).
func (h *handover) take() (q []transcoded, busy bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	q, h.queue = h.queue, nil
	h.begun = max(h.begun-len(q), 0)
	return q, h.begun > 0
}

// start makes put queue segments for run, which must follow.
func (h *handover) start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.running = true
}

// run decides queued segments until ctx ends, then decides what is left
// and refuses more (put reports false).
func (h *handover) run(ctx context.Context, decide func(transcoded)) {
	defer func() {
		h.mu.Lock()
		h.running = false
		h.mu.Unlock()
		q, _ := h.take()
		for _, t := range q {
			decide(t)
		}
	}()
	tick := time.NewTicker(h.tick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		}
		tick.Reset(h.tick)
		for busy := true; busy; {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var q []transcoded
			q, busy = h.take()
			for _, t := range q {
				decide(t)
			}
		}
	}
}
