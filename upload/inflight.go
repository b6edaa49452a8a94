package upload

import (
	"context"
	"sync"
	"time"

	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// inflight keeps two uploads of one uploader from having a chunk in an
// open Bee upload session at the same time.
//
// Bee (2.7) skips a deferred session's chunk whose (address, batch) it
// already has in its upload store, counting it "seen" and storing nothing;
// when a session fails, its clean-up deletes every chunk it put. So if an
// upload relied on a chunk another session still open had put, and that
// session then failed (its client gave up at a deadline, its connection
// broke), the upload's file, reported as stored, no longer reads back
// (TestAbortedTwinKeepsIdenticalUpload). With the chunks of every upload
// held here from before its first request until its session is over on
// Bee's side, a chunk Bee finds already there was put by a session that
// was closed (kept for good) or cleaned up (then gone, and stored again).
//
// An upload waits until none of its chunks is held, then holds all of
// them at once: no upload holds some while waiting for others, so two
// cannot wait for each other.
type inflight struct {
	mu      sync.Mutex
	held    map[[swarm.HashSize]byte]struct{}
	changed chan struct{} // closed, and replaced, whenever chunks are let go
}

func newInflight() *inflight {
	return &inflight{held: map[[swarm.HashSize]byte]struct{}{}, changed: make(chan struct{})}
}

// acquire waits until none of addrs is held by another upload and holds
// them. The returned release lets them go after linger, the time Bee may
// still need to clean up a session whose request broke off (0 when every
// session is known to be over).
func (g *inflight) acquire(ctx context.Context, addrs []swarm.Address) (release func(linger time.Duration), err error) {
	keys := make([][swarm.HashSize]byte, 0, len(addrs))
	seen := make(map[[swarm.HashSize]byte]struct{}, len(addrs))
	for _, a := range addrs {
		k := [swarm.HashSize]byte(a.Bytes())
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			keys = append(keys, k)
		}
	}
	for {
		g.mu.Lock()
		busy := false
		for _, k := range keys {
			if _, ok := g.held[k]; ok {
				busy = true
				break
			}
		}
		if !busy {
			for _, k := range keys {
				g.held[k] = struct{}{}
			}
			g.mu.Unlock()
			var once sync.Once
			return func(linger time.Duration) {
				once.Do(func() {
					if linger <= 0 {
						g.letGo(keys)
						return
					}
					time.AfterFunc(linger, func() { g.letGo(keys) })
				})
			}, nil
		}
		changed := g.changed
		g.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (g *inflight) letGo(keys [][swarm.HashSize]byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range keys {
		delete(g.held, k)
	}
	close(g.changed)
	g.changed = make(chan struct{})
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
