package grpcsvc_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// TestDisconnectedWorkersFetchedJobsWaitForBee: a worker that disconnects
// may leave its uploads open on Bee's side for a while, and Bee's clean-up
// of a broken upload deletes the chunks the next upload of the same content
// through that node counted as stored: the next worker's file would read
// back truncated. So a job the worker had fetched goes back to the queue
// only AbortGrace after the disconnect, and its report is refused at once;
// a job it never fetched goes back at once.
func TestDisconnectedWorkersFetchedJobsWaitForBee(t *testing.T) {
	const grace = 600 * time.Millisecond
	h := newHarness(t, newMemQueue(tinyJobs(2)...), grpcsvc.Config{AbortGrace: grace, BaseTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	client := archiverpb.NewArchiverServiceClient(h.conn(t))
	stream, err := client.RegisterArchiver(ctx, &archiverpb.RegisterRequest{Secret: "s3cret", Capacity: 2, WorkerId: "w"})
	require.NoError(t, err)
	first, err := stream.Recv()
	require.NoError(t, err)
	_, err = stream.Recv() // the second job, never fetched
	require.NoError(t, err)
	fetch, err := client.FetchJob(context.Background(), &archiverpb.FetchJobRequest{JobId: first.GetJob().GetJobId(), Token: first.GetJob().GetToken()})
	require.NoError(t, err)
	for err == nil {
		_, err = fetch.Recv()
	}
	require.ErrorIs(t, err, io.EOF)

	left := time.Now()
	cancel() // the worker dies with the first job fetched, the second not
	released := func() int {
		h.q.mu.Lock()
		defer h.q.mu.Unlock()
		return h.q.release
	}
	require.Eventually(t, func() bool { return released() == 1 }, 5*time.Second, time.Millisecond, "the unfetched job goes back at once")
	require.Equal(t, codes.NotFound, status.Code(answer(context.Background(), client, first.GetJob())),
		"the fetched job's report is refused once its worker left")
	require.Eventually(t, func() bool { return released() == 2 }, 5*time.Second, time.Millisecond, "the fetched job goes back")
	// Seen within a millisecond of its return, which the server can count
	// from its own notice of the disconnect only, after left.
	require.GreaterOrEqual(t, time.Since(left), grace, "the fetched job went back before Bee could clean up")
}
