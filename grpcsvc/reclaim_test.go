package grpcsvc_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// hookedResults records like memResults, slowly, and calls onRecord as the
// first recording starts.
type hookedResults struct {
	*memResults
	delay    time.Duration
	once     sync.Once
	onRecord func()
}

func (r *hookedResults) Archived(ctx context.Context, j archiver.Job, files []grpcsvc.FileResult) error {
	r.once.Do(r.onRecord)
	time.Sleep(r.delay)
	return r.memResults.Archived(ctx, j, files)
}

// TestWorkerLeavingDuringItsReportIsNotARedispatch: a worker that
// disconnects (SIGKILL, a network cut) right after sending its report,
// while the orchestrator records it, used to have the claimed job
// re-dispatched by the disconnect: another worker archived it again, both
// reports were recorded (Archived counted the job twice) and the first
// report's Done removed the job from the spool under the second worker's
// lease. The claimed report wins: recorded once, never re-dispatched.
func TestWorkerLeavingDuringItsReportIsNotARedispatch(t *testing.T) {
	js := jobs(1)
	recording := make(chan struct{})
	h := newHarnessRecording(t, newMemQueue(js...), grpcsvc.Config{BaseTimeout: 10 * time.Second, MinThroughput: 1 << 30},
		func(r *memResults) grpcsvc.Results {
			return &hookedResults{memResults: r, delay: time.Second, onRecord: func() { close(recording) }}
		})
	stopA, doneA := startWorker(t, h, "a", offlineUploader{}, 1)
	<-recording
	stopA() // a's registration ends while its report is recorded
	require.NoError(t, <-doneA)
	startWorker(t, h, "b", offlineUploader{}, 1)
	require.Eventually(t, func() bool { return h.q.finished() == 1 }, 10*time.Second, 10*time.Millisecond)
	h.srv.Close() // waits for any report still being recorded
	m := h.srv.Metrics()
	require.Zero(t, m.Redispatched)
	require.Equal(t, int64(1), m.Archived)
	h.res.mu.Lock()
	defer h.res.mu.Unlock()
	require.Equal(t, 1, h.res.reports, "the job recorded once")
	require.Zero(t, h.q.release, "the job went back to the queue")
}

// TestCloseWaitsForReportsBeingRecorded: Close (the orchestrator shutting
// down) returns only once a report being recorded is also done in the
// queue, and refuses later reports. A report recorded in the index whose
// Done met a closed spool used to leave the job there, for the next
// process to archive and count again.
func TestCloseWaitsForReportsBeingRecorded(t *testing.T) {
	js := jobs(1)
	recording := make(chan struct{})
	h := newHarnessRecording(t, newMemQueue(js...), grpcsvc.Config{BaseTimeout: 10 * time.Second, MinThroughput: 1 << 30},
		func(r *memResults) grpcsvc.Results {
			return &hookedResults{memResults: r, delay: 500 * time.Millisecond, onRecord: func() { close(recording) }}
		})
	startWorker(t, h, "a", offlineUploader{}, 1)
	<-recording
	h.srv.Close()
	require.Equal(t, 1, h.q.finished(), "Close returned before the report was done")
	require.Equal(t, int64(1), h.srv.Metrics().Archived)
	_, err := h.srv.ReportResult(context.Background(), &archiverpb.JobResult{JobId: "job-0"})
	require.Equal(t, codes.Unavailable, status.Code(err))
}
