package grpcsvc_test

import (
	"context"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/upload"
)

// offlineUploader "stores" nothing and answers the content's reference.
type offlineUploader struct{}

func (offlineUploader) Upload(ctx context.Context, data []byte) (upload.Receipt, error) {
	ref, err := chunker.Reference(ctx, data, redundancy.NONE)
	return upload.Receipt{Reference: ref, Bytes: int64(len(data))}, err
}

// slowResults records like memResults, slowly: an index under load.
type slowResults struct {
	*memResults
	delay time.Duration
}

func (r slowResults) Archived(ctx context.Context, j archiver.Job, files []grpcsvc.FileResult) error {
	time.Sleep(r.delay)
	return r.memResults.Archived(ctx, j, files)
}

// TestSlowRecordingIsNotADeadlineMiss: a report in time whose recording
// outlasts the job's deadline used to let the deadline re-dispatch the job
// meanwhile: another worker archived it again, the first report's Done
// removed the job from the spool under the second worker's lease, and the
// second's Done failed ("spool job not leased"). The report claims the
// job: recorded once, never re-dispatched.
func TestSlowRecordingIsNotADeadlineMiss(t *testing.T) {
	js := jobs(2)
	h := newHarnessRecording(t, newMemQueue(js...), grpcsvc.Config{BaseTimeout: 300 * time.Millisecond, MinThroughput: 1 << 30},
		func(r *memResults) grpcsvc.Results { return slowResults{r, time.Second} })
	startWorker(t, h, "a", offlineUploader{}, 1)
	startWorker(t, h, "b", offlineUploader{}, 1)
	require.Eventually(t, func() bool { return h.q.finished() == len(js) }, 10*time.Second, 10*time.Millisecond)
	// A wrong re-dispatch happens at the deadline, long before the first
	// recording ends; Close waits for any report still being recorded.
	h.srv.Close()
	m := h.srv.Metrics()
	require.Zero(t, m.Redispatched)
	require.Equal(t, int64(len(js)), m.Archived)
	h.res.mu.Lock()
	defer h.res.mu.Unlock()
	require.Equal(t, len(js), h.res.reports, "each job recorded once")
	require.Equal(t, grpcsvc.Held{Workers: 2, Affinities: 2}, h.srv.Held())
}
