package grpcsvc_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// TestLeaseProbeAdmitsNoWorker: a client-stamping worker whose lease is
// full asks for its lease with archiverpb.LeaseProbeHeader. It gets the
// lease a registration would grant and the stream ends: it is never
// admitted, so the job waiting in the queue is not handed to it. Its
// registration afterwards gets the same lease, then the job.
func TestLeaseProbeAdmitsNoWorker(t *testing.T) {
	q := newMemQueue()
	h := newHarness(t, q, grpcsvc.Config{Leases: &dispatch.LeaseConfig{Batch: [32]byte{9}, BucketCapacity: 16, Slot: 8,
		Path: filepath.Join(t.TempDir(), "leases.json")}})
	js := jobs(1)
	q.mu.Lock()
	q.ready = append(q.ready, grpcsvc.QueuedJob{ID: "waiting", Job: js[0]})
	q.mu.Unlock()
	rpc := archiverpb.NewArchiverServiceClient(h.conn(t))
	req := &archiverpb.RegisterRequest{Secret: "s3cret", Capacity: 1, WorkerId: "full",
		Capabilities: &archiverpb.WorkerCapabilities{ClientStamping: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	probe, err := rpc.RegisterArchiver(metadata.AppendToOutgoingContext(ctx, archiverpb.LeaseProbeHeader, "1"), req)
	require.NoError(t, err)
	n, err := probe.Recv()
	require.NoError(t, err)
	probed := n.GetLease()
	require.NotNil(t, probed)
	_, err = probe.Recv()
	require.ErrorIs(t, err, io.EOF, "the probe's stream went on")
	require.Zero(t, h.srv.Held().Workers)
	require.Zero(t, h.srv.Metrics().Dispatched)

	reg, err := rpc.RegisterArchiver(ctx, req)
	require.NoError(t, err)
	n, err = reg.Recv()
	require.NoError(t, err)
	require.True(t, proto.Equal(probed, n.GetLease()), "probe %v, registration %v", probed, n.GetLease())
	q.wake <- struct{}{}
	n, err = reg.Recv()
	require.NoError(t, err)
	require.Equal(t, "waiting", n.GetJob().GetJobId())
}
