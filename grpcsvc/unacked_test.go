package grpcsvc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/upload"
)

// tinyJobs are n jobs of a few hundred bytes each, in the three files
// requireArchived checks.
func tinyJobs(n int) []archiver.Job {
	out := make([]archiver.Job, 0, n)
	for i := range n {
		src := fmt.Appendf(nil, "tiny segment %d of a silent-worker run, padded to a few hundred bytes: %0300d", i, i)
		out = append(out, archiver.Job{ManifestID: archiver.ManifestID(fmt.Sprintf("stream-%d", i%3)), Seq: int64(i),
			Source: src, Renditions: []archiver.Rendition{{Name: "360p", Data: src[:120]}, {Name: "240p", Data: src[:60]}}})
	}
	return out
}

// registerSilent registers a worker as a raw gRPC client and returns its
// stream, which the caller may never read.
func registerSilent(t *testing.T, h *harness, id string, capacity int64) (archiverpb.ArchiverServiceClient, archiverpb.ArchiverService_RegisterArchiverClient) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client := archiverpb.NewArchiverServiceClient(h.conn(t))
	stream, err := client.RegisterArchiver(ctx, &archiverpb.RegisterRequest{Secret: "s3cret", Capacity: capacity, WorkerId: id, Version: "silent"})
	require.NoError(t, err)
	return client, stream
}

// TestSilentWorkersWithBigCapacity: an authenticated worker registers with
// the largest capacity and never reads its stream, next to one honest
// worker. The old dispatcher handed it up to its capacity every deadline
// cycle: one registration held all 300 jobs for a deadline (11 s, 300
// re-dispatches), six took 61 s and 1,740 re-dispatches (the outside
// probe: 2.5 min, 1,806). Now each registration holds at most MaxUnacked
// jobs it has not fetched, loses them at the ack timeout and gets no more,
// and the honest worker archives everything.
func TestSilentWorkersWithBigCapacity(t *testing.T) {
	const (
		n     = 300
		bound = grpcsvc.DefaultMaxUnacked
		// Generous: the default ack timeout (5 s) plus the honest worker's
		// own time. The old dispatcher needed one default deadline (10 s)
		// per silent registration a job went through.
		within = 30 * time.Second
	)
	for _, tc := range []struct {
		name   string
		silent int // registrations that never read their stream
	}{
		{"one silent registration", 1},
		{"six silent registrations", 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js := tinyJobs(n)
			h := newHarness(t, newMemQueue(js...), grpcsvc.Config{}) // default deadlines, as the probe met them
			started := time.Now()
			for i := range tc.silent {
				registerSilent(t, h, fmt.Sprintf("silent-%d", i), 1<<12)
			}
			require.Eventually(t, func() bool { return h.srv.Held().Workers == tc.silent }, 5*time.Second, time.Millisecond)

			// Sample what each silent registration holds until the run ends.
			var maxHeld atomic.Int64
			sampling, stopSampling := context.WithCancel(context.Background())
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for sampling.Err() == nil {
					for i := range tc.silent {
						if held := int64(grpcsvc.AssignedTo(h.srv, fmt.Sprintf("silent-%d", i))); held > maxHeld.Load() {
							maxHeld.Store(held)
						}
					}
					time.Sleep(200 * time.Microsecond)
				}
			}()

			startWorker(t, h, "honest", nodeUploader(t), 4)
			done := false
			for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if done = h.q.finished() == n; done {
					break
				}
			}
			elapsed := time.Since(started)
			stopSampling()
			<-sampled
			m := h.srv.Metrics()
			t.Logf("%d tiny jobs, %d silent registrations: %d archived in %.2f s; %d dispatched, %d re-dispatched (%d unacknowledged); a silent registration held at most %d",
				n, tc.silent, h.q.finished(), elapsed.Seconds(), m.Dispatched, m.Redispatched, m.Unacknowledged, maxHeld.Load())
			require.True(t, done, "%d of %d jobs archived after %s", h.q.finished(), n, within)
			requireArchived(t, h, js)
			require.LessOrEqual(t, maxHeld.Load(), int64(bound), "a silent worker held more than it may leave unacknowledged")
			require.LessOrEqual(t, m.Redispatched, int64(tc.silent*bound), "silent workers kept being handed jobs")
			require.Equal(t, m.Redispatched, m.Unacknowledged, "only the silent workers' jobs came back")
			require.Equal(t, int64(n), m.Archived)
			require.Equal(t, n, h.res.reports, "every job recorded once")
			held := h.srv.Held()
			require.Zero(t, held.Assigned)
			require.Equal(t, int(m.Unacknowledged), held.Revoked, "what was taken back is kept while the stalled workers stay")
		})
	}
}

// answer does what an honest worker does with a job, by hand: fetch its
// files and report their references.
func answer(ctx context.Context, client archiverpb.ArchiverServiceClient, job *archiverpb.ArchiveJob) error {
	fetch, err := client.FetchJob(ctx, &archiverpb.FetchJobRequest{JobId: job.GetJobId(), Token: job.GetToken()})
	if err != nil {
		return err
	}
	data := make([]bytes.Buffer, len(job.GetFiles()))
	for {
		c, err := fetch.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		data[c.GetFile()].Write(c.GetData())
	}
	res := &archiverpb.JobResult{JobId: job.GetJobId(), Token: job.GetToken()}
	for i, f := range job.GetFiles() {
		ref, err := chunker.Reference(ctx, data[i].Bytes(), redundancy.NONE)
		if err != nil {
			return err
		}
		res.Files = append(res.Files, &archiverpb.FileResult{Name: f.GetName(), Reference: ref.Bytes(), Bytes: f.GetSize()})
	}
	_, err = client.ReportResult(ctx, res)
	return err
}

// TestStalledWorkerResumesWhenItReadsItsStream: a worker that does not
// fetch its jobs in time (the ack timeout, or a deadline that comes
// first) loses them and gets no more while it is the only worker: the
// jobs wait in the queue. When it reads its stream after all and asks for
// the jobs it was handed, it is told they are gone (NotFound), and is
// given jobs again, which it archives.
func TestStalledWorkerResumesWhenItReadsItsStream(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  grpcsvc.Config
	}{
		{"ack timeout", grpcsvc.Config{AckTimeout: 300 * time.Millisecond}},
		{"deadline before the ack timeout", grpcsvc.Config{BaseTimeout: 300 * time.Millisecond, MinThroughput: 1 << 30}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js := tinyJobs(3)
			h := newHarness(t, newMemQueue(js...), tc.cfg)
			client, stream := registerSilent(t, h, "late", 100)
			require.Eventually(t, func() bool { return h.srv.Metrics().Unacknowledged == grpcsvc.DefaultMaxUnacked }, 10*time.Second, time.Millisecond)
			// The jobs are taken back, and the dispatcher, having seen that,
			// holds the next one for want of a worker: no wrong dispatch.
			require.Eventually(t, func() bool {
				return h.srv.Held().Revoked == grpcsvc.DefaultMaxUnacked && grpcsvc.Declined(h.srv)
			}, 10*time.Second, time.Millisecond)
			m := h.srv.Metrics()
			require.Equal(t, int64(grpcsvc.DefaultMaxUnacked), m.Dispatched, "a stalled worker was handed a job")
			require.Zero(t, grpcsvc.AssignedTo(h.srv, "late"))
			require.Equal(t, grpcsvc.DefaultMaxUnacked, h.srv.Held().Revoked)
			require.Equal(t, 1, h.srv.Held().Described, "the jobs back in the queue keep no description; the one waiting for a worker does")

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for range grpcsvc.DefaultMaxUnacked { // the jobs taken back
				n, err := stream.Recv()
				require.NoError(t, err)
				require.Equal(t, codes.NotFound, status.Code(answer(ctx, client, n.GetJob())))
			}
			require.Zero(t, h.srv.Held().Revoked, "the worker acknowledged: what was taken back is forgotten")
			for h.q.finished() < len(js) {
				n, err := stream.Recv()
				require.NoError(t, err)
				require.NoError(t, answer(ctx, client, n.GetJob()))
			}
			require.Equal(t, int64(len(js)), h.srv.Metrics().Archived)
		})
	}
}

// slowOffline answers the content's reference after a delay: an honest
// worker whose uploads are slow.
type slowOffline struct{ delay time.Duration }

func (s slowOffline) Upload(ctx context.Context, data []byte) (upload.Receipt, error) {
	time.Sleep(s.delay)
	return offlineUploader{}.Upload(ctx, data)
}

// TestSlowWorkerAcknowledgesByFetching: acknowledging a job is fetching
// it, not finishing it. An honest worker whose uploads each take four ack
// timeouts holds its whole capacity, twice the bound on unacknowledged
// jobs, and is never stalled.
func TestSlowWorkerAcknowledgesByFetching(t *testing.T) {
	const capacity = 2 * grpcsvc.DefaultMaxUnacked
	js := tinyJobs(capacity)
	h := newHarness(t, newMemQueue(js...), grpcsvc.Config{AckTimeout: 200 * time.Millisecond})
	startWorker(t, h, "slow", slowOffline{delay: 800 * time.Millisecond}, capacity)
	require.Eventually(t, func() bool { return grpcsvc.AssignedTo(h.srv, "slow") == capacity }, 10*time.Second, time.Millisecond,
		"the worker was not given its capacity")
	require.Eventually(t, func() bool { return h.q.finished() == len(js) }, 30*time.Second, 10*time.Millisecond)
	m := h.srv.Metrics()
	require.Zero(t, m.Unacknowledged)
	require.Zero(t, m.Redispatched)
	require.Equal(t, int64(len(js)), m.Archived)
}
