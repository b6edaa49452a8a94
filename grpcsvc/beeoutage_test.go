package grpcsvc_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/upload"
	"github.com/lpswarm/archiver/worker"
)

// downUploader fails as an uploader whose Bee node is unreachable until
// back is set.
type downUploader struct {
	inner worker.Uploader
	back  atomic.Bool
	tries atomic.Int64
}

func (d *downUploader) Upload(ctx context.Context, data []byte) (upload.Receipt, error) {
	if !d.back.Load() {
		d.tries.Add(1)
		return upload.Receipt{}, fmt.Errorf("upload: chunk: %w: connection refused", bee.ErrUnreachable)
	}
	return d.inner.Upload(ctx, data)
}

// TestBeeOutageIsNotTheJobsFault: the only worker's Bee node is down for
// more tries than a failing job is allowed. That is not the jobs' fault:
// none is recorded as failed (a gap), and once Bee is back every one is
// archived.
func TestBeeOutageIsNotTheJobsFault(t *testing.T) {
	js := jobs(3)
	const attempts = 2
	h := newHarness(t, newMemQueue(js...), grpcsvc.Config{MaxAttempts: attempts, BaseTimeout: 200 * time.Millisecond, MinThroughput: 1 << 30})
	down := &downUploader{inner: nodeUploader(t)}
	startWorker(t, h, "w", down, 2)
	require.Eventually(t, func() bool { return down.tries.Load() > int64(len(js)*attempts) }, 10*time.Second, 10*time.Millisecond,
		"the jobs stopped being tried while Bee was down: given up")
	require.Zero(t, h.srv.Metrics().Failed, "a job was recorded as failed while Bee was down")
	down.back.Store(true)
	requireArchived(t, h, js)
	require.Zero(t, h.srv.Metrics().Failed)
	require.Positive(t, h.srv.Metrics().Redispatched)
}

// TestReconnectWhileBeeIsDownKeepsTheLease: a client-stamping worker loses
// its orchestrator connection while its Bee node is down. It registers
// again and is granted its same lease; setting up an uploader for it would
// need Bee (the batch is read from the node), so the worker keeps the one
// it has instead of ending with ErrLease, and archives the next job.
func TestReconnectWhileBeeIsDownKeepsTheLease(t *testing.T) {
	q := newMemQueue()
	h := newHarness(t, q, grpcsvc.Config{Leases: &dispatch.LeaseConfig{Batch: [32]byte{7}, BucketCapacity: 16, Slot: 8,
		Path: filepath.Join(t.TempDir(), "leases.json")}})
	var mu sync.Mutex
	var conns []net.Conn
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			c, err := h.lis.DialContext(ctx)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			return c, err
		}),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })

	up := nodeUploader(t)
	var leases atomic.Int64
	w, err := worker.New(conn, nil, worker.Config{ID: "w", Secret: "s3cret", Capacity: 1, MinBackoff: 10 * time.Millisecond,
		OnLease: func(*archiverpb.StampLease) (worker.Uploader, error) {
			if leases.Add(1) > 1 {
				return nil, fmt.Errorf("batch: %w", bee.ErrUnreachable) // Bee is down now
			}
			return up, nil
		}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx, nil) }()
	require.Eventually(t, func() bool { return leases.Load() == 1 }, 10*time.Second, time.Millisecond)

	mu.Lock()
	for _, c := range conns {
		_ = c.Close() // the orchestrator connection drops
	}
	mu.Unlock()
	js := jobs(1)
	q.mu.Lock()
	q.ready = append(q.ready, grpcsvc.QueuedJob{ID: "after-reconnect", Job: js[0]})
	q.mu.Unlock()
	q.wake <- struct{}{}
	select {
	case err := <-errc:
		t.Fatalf("the worker ended: %v", err)
	case <-time.After(time.Second):
	}
	requireArchived(t, h, js)
}

// flakyUploader fails its first upload with a Bee error that is the
// job's to retry (not "Bee down"), then uploads.
type flakyUploader struct {
	inner  worker.Uploader
	failed atomic.Bool
}

func (f *flakyUploader) Upload(ctx context.Context, data []byte) (upload.Receipt, error) {
	if f.failed.CompareAndSwap(false, true) {
		return upload.Receipt{}, &bee.APIError{Status: 500, Message: "internal error"}
	}
	return f.inner.Upload(ctx, data)
}

// TestReturnsAreNotFailures: a job that came back to the queue many times
// (its workers killed or cut off) and then fails once on a worker is
// retried, not recorded as a gap: MaxAttempts counts reported failures.
func TestReturnsAreNotFailures(t *testing.T) {
	js := jobs(1)
	q := newMemQueue(js...)
	q.ready[0].Attempts = 10 // returned ten times by vanished workers
	h := newHarness(t, q, grpcsvc.Config{MaxAttempts: 2, BaseTimeout: 2 * time.Second, MinThroughput: 1 << 30})
	up := &flakyUploader{inner: nodeUploader(t)}
	startWorker(t, h, "w", up, 1)
	requireArchived(t, h, js)
	require.True(t, up.failed.Load(), "the failure was not exercised")
	require.Zero(t, h.srv.Metrics().Failed, "a returned job's one failure made it a gap")
	require.Equal(t, int64(1), h.srv.Metrics().Redispatched)
}
