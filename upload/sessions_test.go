package upload_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/upload"
)

// Set once by flag.Parse, read-only afterwards.
var sessTwinWait = flag.Duration("sessions.twin-wait", 2*time.Second,
	"TestAbortedTwinKeepsIdenticalUpload: how long the identical upload may take to finish while the first is held open")

// sessHoldProxy stands in front of the dev Bee. The first POST /bytes goes
// to Bee over a raw connection, chunked, all of it but the last byte, so Bee
// holds its deferred session open with the chunks it has read stored. held
// is closed once Bee has the file's first chunk. When the uploader gives up
// on that request (its context is cancelled), the proxy sends Bee a
// malformed chunk header: Bee's handler fails reading the body, cleans the
// session up and only then answers; cleaned is closed on that answer. Every
// other request is passed through.
type sessHoldProxy struct {
	bee        *url.URL
	pass       *httputil.ReverseProxy
	firstChunk swarm.Address
	once       sync.Once
	held       chan struct{}
	cleaned    chan struct{}
	status     int // Bee's answer to the held upload, set before cleaned is closed
	err        error
}

func newSessHoldProxy(t *testing.T, firstChunk swarm.Address) *sessHoldProxy {
	u, err := url.Parse(dev.URL)
	require.NoError(t, err)
	return &sessHoldProxy{
		bee: u, pass: httputil.NewSingleHostReverseProxy(u), firstChunk: firstChunk,
		held: make(chan struct{}), cleaned: make(chan struct{}),
	}
}

func (p *sessHoldProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hold := false
	if r.Method == http.MethodPost && r.URL.Path == "/bytes" {
		p.once.Do(func() { hold = true })
	}
	if !hold {
		p.pass.ServeHTTP(w, r)
		return
	}
	p.status, p.err = p.holdThenBreak(r)
	close(p.cleaned)
	http.Error(w, "upload broken off", http.StatusBadGateway)
}

func (p *sessHoldProxy) holdThenBreak(r *http.Request) (int, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return 0, err
	}
	conn, err := net.Dial("tcp", p.bee.Host)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	bw := bufio.NewWriter(conn)
	fmt.Fprintf(bw, "POST %s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n", r.URL.RequestURI(), p.bee.Host)
	for k, vs := range r.Header {
		if k == "Content-Length" || k == "Connection" {
			continue
		}
		for _, v := range vs {
			fmt.Fprintf(bw, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(bw, "\r\n%x\r\n", len(body)-1)
	_, _ = bw.Write(body[:len(body)-1])
	_, _ = bw.WriteString("\r\n")
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if err := p.waitStored(r.Context()); err != nil {
		return 0, err
	}
	close(p.held)
	<-r.Context().Done() // the uploader gave up
	// Not a hex length: Bee's body reader fails, as when a client vanishes.
	if _, err := conn.Write([]byte("zz\r\n")); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// waitStored polls Bee's local store for the held file's first chunk.
func (p *sessHoldProxy) waitStored(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		if ok, err := sessHasChunk(ctx, p.firstChunk); err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bee never stored the held upload's first chunk: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// sessHasChunk asks the dev Bee whether its local store has a chunk.
func sessHasChunk(ctx context.Context, addr swarm.Address) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, dev.URL+"/chunks/"+addr.String(), nil)
	if err != nil {
		return false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// TestAbortedTwinKeepsIdenticalUpload: a worker's upload S1 is still open
// on Bee's side when an upload S2 of the same bytes under the same batch
// (the same job dispatched again, or chunks two segments share) runs. Bee
// counts S2's chunks that S1 already put as "seen" and stores nothing for
// them; when S1 then fails (the worker gave up at its deadline), Bee's
// clean-up of S1 deletes them, and S2's file, whose reference was already
// reported, no longer reads back. The uploader must never let that happen:
// S2's bytes read back from Bee after S1's clean-up.
func TestAbortedTwinKeepsIdenticalUpload(t *testing.T) {
	ctx := testContext(t)
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	data := randomBytes(71, 40_000) // nine full chunks, a partial one, the root
	f, err := chunker.Split(ctx, data, redundancy.NONE)
	require.NoError(t, err)

	p := newSessHoldProxy(t, f.Chunks[0].Address())
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	client, err := bee.New(srv.URL, bee.WithRetry(bee.Retry{Attempts: 3}))
	require.NoError(t, err)
	up := upload.NodeStamped(client, batch, upload.Config{Redundancy: redundancy.NONE})

	ctx1, giveUp := context.WithCancel(ctx)
	defer giveUp()
	err1 := make(chan error, 1)
	go func() {
		_, err := up.Upload(ctx1, data)
		err1 <- err
	}()
	select {
	case <-p.held:
	case <-p.cleaned:
		require.NoError(t, p.err)
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}

	type result struct {
		rec upload.Receipt
		err error
	}
	res2 := make(chan result, 1)
	go func() {
		rec, err := up.Upload(ctx, data)
		res2 <- result{rec, err}
	}()
	// Unguarded, S2 finishes at once on S1's chunks; guarded, it waits.
	var r2 result
	got2 := false
	select {
	case r2 = <-res2:
		got2 = true
	case <-time.After(*sessTwinWait):
	}
	giveUp()
	require.ErrorIs(t, <-err1, context.Canceled)
	<-p.cleaned
	require.NoError(t, p.err)
	require.Equal(t, http.StatusInternalServerError, p.status, "bee answers the broken upload after its clean-up")
	if !got2 {
		r2 = <-res2
	}
	require.NoError(t, r2.err)
	require.Equal(t, f.Root, r2.rec.Reference)

	back, err := dev.Client.DownloadBytes(ctx, r2.rec.Reference, int64(len(data)))
	require.NoError(t, err, "the identical upload's file no longer reads back")
	require.Equal(t, data, back)
	for _, ch := range f.Chunks {
		ok, err := sessHasChunk(ctx, ch.Address())
		require.NoError(t, err)
		require.True(t, ok, "chunk %s of the identical upload is gone", ch.Address())
	}
}
