package integration_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// beeGate is the integration tests' HTTP-level fault in front of the dev
// Bee: it holds node-stamped uploads (POST /bytes) and passes everything
// else. A held upload waits delay and goes on; with no delay it waits for
// Release and goes on, or, with hold set, never goes on: its body is read
// and its reply withheld until the uploader's connection dies. Network
// faults (refused, black-holed, reset connections) are faultsProxy's.
type beeGate struct {
	URL     string
	delay   time.Duration
	hold    bool
	first   chan struct{} // closed when the first upload arrives
	once    sync.Once
	release chan struct{}
	relOnce sync.Once
	holding atomic.Int64
	next    http.Handler
}

// newBeeGate starts a gate: delay > 0 slows every upload by delay;
// otherwise uploads wait for Release, or with hold for good.
func newBeeGate(tb testing.TB, delay time.Duration, hold bool) *beeGate {
	tb.Helper()
	target, err := url.Parse(dev.URL)
	require.NoError(tb, err)
	g := &beeGate{delay: delay, hold: hold, first: make(chan struct{}), release: make(chan struct{}),
		next: httputil.NewSingleHostReverseProxy(target)}
	srv := httptest.NewServer(g)
	tb.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

func (g *beeGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/bytes" {
		g.next.ServeHTTP(w, r)
		return
	}
	g.once.Do(func() { close(g.first) })
	g.holding.Add(1)
	defer g.holding.Add(-1)
	switch {
	case g.delay > 0:
		time.Sleep(g.delay)
	case g.hold:
		// The server notices the uploader's death once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return
	default:
		// The body stays unread: the upload is in flight with its bytes on
		// the uploader's side.
		select {
		case <-g.release:
		case <-r.Context().Done():
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// First is closed when the first upload reaches the gate.
func (g *beeGate) First() <-chan struct{} { return g.first }

// Holding is how many uploads the gate holds now.
func (g *beeGate) Holding() int { return int(g.holding.Load()) }

// Release lets every held upload, and every later one, go on.
func (g *beeGate) Release() { g.relOnce.Do(func() { close(g.release) }) }
