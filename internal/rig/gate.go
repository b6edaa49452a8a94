package rig

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what a Gate does to each upload (POST /bytes, node-stamped):
// with Delay it waits that long and goes on; with Hold its body is read
// and its reply withheld until the uploader gives up; otherwise it waits,
// its body unread (the upload is in flight with its bytes on the
// uploader's side), until Release and goes on.
type Fault struct {
	Delay time.Duration
	Hold  bool
}

// Gate is the HTTP fault in front of Bee: it passes everything but
// uploads, which meet its Fault. Network faults (refused, black-holed,
// reset connections) are a TCP proxy's, not a gate's.
type Gate struct {
	fault   Fault
	srv     *httptest.Server
	next    http.Handler
	first   chan struct{} // closed when the first upload arrives
	once    sync.Once
	release chan struct{}
	relOnce sync.Once
	holding atomic.Int64
	uploads atomic.Int64
}

// NewGate starts a gate in front of the Bee API at target.
func NewGate(target string, f Fault) (*Gate, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("rig: gate: %w", err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("rig: gate: target %q names no host", target)
	}
	g := &Gate{fault: f, first: make(chan struct{}), release: make(chan struct{}), next: httputil.NewSingleHostReverseProxy(u)}
	g.srv = httptest.NewServer(g)
	return g, nil
}

// Gate starts a gate in front of the rig's Bee, closed with the rig;
// worker processes reach Bee through it when their NodeConfig.Bee is its
// URL.
func (r *Rig) Gate(f Fault) (*Gate, error) {
	g, err := NewGate(r.cfg.Bee.URL, f)
	if err != nil {
		return nil, err
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.closed {
		g.Close()
		return nil, errors.New("rig: closed")
	}
	r.gates = append(r.gates, g)
	return g, nil
}

// URL is the gate's Bee API URL.
func (g *Gate) URL() string { return g.srv.URL }

// Close stops the gate.
func (g *Gate) Close() { g.srv.Close() }

// ServeHTTP passes a request to Bee, an upload after its fault.
func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/bytes" {
		g.next.ServeHTTP(w, r)
		return
	}
	g.once.Do(func() { close(g.first) })
	g.uploads.Add(1)
	g.holding.Add(1)
	defer g.holding.Add(-1)
	switch {
	case g.fault.Delay > 0:
		select {
		case <-time.After(g.fault.Delay):
		case <-r.Context().Done():
			return
		}
	case g.fault.Hold:
		// The server notices the uploader's death once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return
	default:
		select {
		case <-g.release:
		case <-r.Context().Done():
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// First is closed when the first upload reaches the gate.
func (g *Gate) First() <-chan struct{} { return g.first }

// Holding is how many uploads are in the gate now, held or passing.
func (g *Gate) Holding() int { return int(g.holding.Load()) }

// Uploads is how many uploads reached the gate.
func (g *Gate) Uploads() int { return int(g.uploads.Load()) }

// Release lets every upload waiting, and every later one, go on.
func (g *Gate) Release() { g.relOnce.Do(func() { close(g.release) }) }
