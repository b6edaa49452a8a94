package grpcsvc_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/beetest"
	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/upload"
	"github.com/lpswarm/archiver/worker"
)

var dev *beetest.Dev

func TestMain(m *testing.M) { os.Exit(beetest.Main(m, &dev)) }

// memQueue is an in-memory Queue; the durable spool is tested on its own.
type memQueue struct {
	mu      sync.Mutex
	ready   []grpcsvc.QueuedJob
	leased  map[string]grpcsvc.QueuedJob
	done    map[string]bool
	wake    chan struct{}
	release int
}

func newMemQueue(jobs ...archiver.Job) *memQueue {
	q := &memQueue{leased: map[string]grpcsvc.QueuedJob{}, done: map[string]bool{}, wake: make(chan struct{}, 1)}
	for i, j := range jobs {
		q.ready = append(q.ready, grpcsvc.QueuedJob{ID: fmt.Sprintf("job-%d", i), Job: j})
	}
	return q
}

func (q *memQueue) Next(ctx context.Context) (grpcsvc.QueuedJob, error) {
	for {
		q.mu.Lock()
		if len(q.ready) > 0 {
			j := q.ready[0]
			q.ready = q.ready[1:]
			q.leased[j.ID] = j
			q.mu.Unlock()
			return j, nil
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return grpcsvc.QueuedJob{}, ctx.Err()
		case <-q.wake:
		}
	}
}

func (q *memQueue) Done(id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.leased, id)
	q.done[id] = true
	return nil
}

func (q *memQueue) Release(id string) error {
	q.mu.Lock()
	j := q.leased[id]
	delete(q.leased, id)
	j.Attempts++
	q.ready = append(q.ready, j)
	q.release++
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

func (q *memQueue) finished() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.done)
}

// memResults records reported references per job.
type memResults struct {
	mu       sync.Mutex
	archived map[string][]grpcsvc.FileResult // manifest/seq → files
	reports  int
}

func (r *memResults) Archived(_ context.Context, j archiver.Job, files []grpcsvc.FileResult) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports++
	r.archived[fmt.Sprintf("%s/%d", j.ManifestID, j.Seq)] = files
	return nil
}

func (r *memResults) Failed(context.Context, archiver.Job, string) error { return nil }

func jobs(n int) []archiver.Job {
	var out []archiver.Job
	for i := range n {
		src := make([]byte, 20_000+i*1000)
		src[0], src[1] = byte(i), 0xaa
		out = append(out, archiver.Job{ManifestID: archiver.ManifestID(fmt.Sprintf("stream-%d", i%3)), Seq: int64(i),
			Source: src, Renditions: []archiver.Rendition{{Name: "360p", Data: src[:5000]}, {Name: "240p", Data: src[:3000]}}})
	}
	return out
}

type harness struct {
	srv  *grpcsvc.Server
	q    *memQueue
	res  *memResults
	lis  *bufconn.Listener
	stop context.CancelFunc
}

func newHarness(t *testing.T, q *memQueue, cfg grpcsvc.Config) *harness {
	t.Helper()
	return newHarnessRecording(t, q, cfg, nil)
}

// newHarnessRecording is newHarness whose server records reports in
// results(h.res) instead of h.res itself.
func newHarnessRecording(t *testing.T, q *memQueue, cfg grpcsvc.Config, results func(*memResults) grpcsvc.Results) *harness {
	t.Helper()
	h := &harness{q: q, res: &memResults{archived: map[string][]grpcsvc.FileResult{}}, lis: bufconn.Listen(1 << 20)}
	if cfg.Secret == "" {
		cfg.Secret = "s3cret"
	}
	var rec grpcsvc.Results = h.res
	if results != nil {
		rec = results(h.res)
	}
	var err error
	h.srv, err = grpcsvc.New(q, cfg)
	require.NoError(t, err)
	g := grpc.NewServer()
	archiverpb.RegisterArchiverServiceServer(g, h.srv)
	go func() { _ = g.Serve(h.lis) }()
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go func() { _ = h.srv.Run(ctx, rec) }()
	t.Cleanup(func() { cancel(); g.Stop() })
	return h
}

func (h *harness) conn(t *testing.T) *grpc.ClientConn {
	t.Helper()
	c, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return h.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func nodeUploader(t *testing.T) *upload.Uploader {
	t.Helper()
	batch, err := dev.BuyBatch(context.Background(), 22)
	require.NoError(t, err)
	return upload.NodeStamped(dev.Client, batch, upload.Config{Redundancy: redundancy.NONE})
}

func startWorker(t *testing.T, h *harness, id string, up worker.Uploader, capacity int) (context.CancelFunc, <-chan error) {
	t.Helper()
	w, err := worker.New(h.conn(t), up, worker.Config{ID: id, Secret: "s3cret", Capacity: capacity, MinBackoff: 10 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx, nil) }()
	t.Cleanup(cancel)
	return cancel, errc
}

// requireArchived checks every job's files were reported once, with the
// content's reference, and read back from Bee byte-identical.
func requireArchived(t *testing.T, h *harness, js []archiver.Job) {
	t.Helper()
	require.Eventually(t, func() bool { return h.q.finished() == len(js) }, 30*time.Second, 10*time.Millisecond)
	h.res.mu.Lock()
	defer h.res.mu.Unlock()
	require.Len(t, h.res.archived, len(js))
	for _, j := range js {
		files := h.res.archived[fmt.Sprintf("%s/%d", j.ManifestID, j.Seq)]
		want := append([][]byte{j.Source}, j.Renditions[0].Data, j.Renditions[1].Data)
		for i, f := range files {
			ref, err := chunker.Reference(context.Background(), want[i], redundancy.NONE)
			require.NoError(t, err)
			require.Equal(t, ref.Bytes(), f.Reference)
			require.Equal(t, sha256.Sum256(want[i]), f.SHA256, "the recorder gets the content hash the dispatcher checked")
			got, err := dev.Client.DownloadBytes(context.Background(), swarm.NewAddress(f.Reference), 1<<20)
			require.NoError(t, err)
			require.Equal(t, want[i], got)
		}
	}
}

func TestWorkersArchiveEveryJob(t *testing.T) {
	js := jobs(9)
	h := newHarness(t, newMemQueue(js...), grpcsvc.Config{})
	up := nodeUploader(t)
	startWorker(t, h, "a", up, 2)
	startWorker(t, h, "b", up, 3)
	requireArchived(t, h, js)
	require.Equal(t, 9, h.res.reports, "every job reported exactly once")
	require.Zero(t, h.srv.Metrics().Redispatched)

	reg := prometheus.NewRegistry()
	reg.MustRegister(h.srv.Collector())
	require.Equal(t, 1, testutil.CollectAndCount(h.srv.Collector(), "archiver_orchestrator_workers"))
	n, err := testutil.GatherAndCount(reg, "archiver_orchestrator_jobs_total")
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.Equal(t, float64(2), testutil.ToFloat64(workersGauge(h.srv)))
}

// blockingUploader holds every upload until its context ends: a worker
// stuck mid-transfer.
type blockingUploader struct{ started chan struct{} }

func (b blockingUploader) Upload(ctx context.Context, _ []byte) (upload.Receipt, error) {
	select {
	case b.started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return upload.Receipt{}, ctx.Err()
}

// TestDeadWorkerJobsAreRedispatched: a worker that disconnects in the
// middle of an upload loses its job to another worker; nothing is lost and
// nothing is recorded twice.
func TestDeadWorkerJobsAreRedispatched(t *testing.T) {
	js := jobs(4)
	h := newHarness(t, newMemQueue(js...), grpcsvc.Config{})
	stuck := blockingUploader{started: make(chan struct{}, 1)}
	kill, _ := startWorker(t, h, "doomed", stuck, 2)
	select {
	case <-stuck.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the doomed worker never started an upload")
	}
	kill()
	startWorker(t, h, "survivor", nodeUploader(t), 2)
	requireArchived(t, h, js)
	require.Positive(t, h.srv.Metrics().Redispatched)
	require.Equal(t, 4, h.res.reports)
}

// slowUploader finishes after the deadline: the job is re-dispatched and
// the slow worker's late report is refused without harm.
type slowUploader struct {
	inner   *upload.Uploader
	delay   time.Duration
	started chan struct{} // when set, gets a value as each upload starts
}

func (s slowUploader) Upload(ctx context.Context, data []byte) (upload.Receipt, error) {
	if s.started != nil {
		select {
		case s.started <- struct{}{}:
		default:
		}
	}
	time.Sleep(s.delay)
	return s.inner.Upload(context.WithoutCancel(ctx), data)
}

func TestSlowWorkerLosesItsJobHarmlessly(t *testing.T) {
	js := jobs(1)
	h := newHarness(t, newMemQueue(js...), grpcsvc.Config{BaseTimeout: 300 * time.Millisecond, MinThroughput: 1 << 30})
	up := nodeUploader(t)
	started := make(chan struct{}, 1)
	startWorker(t, h, "slow", slowUploader{inner: up, delay: 3 * time.Second, started: started}, 1)
	<-started // the slow worker has the job; only then can the fast one take it over
	startWorker(t, h, "fast", up, 1)
	requireArchived(t, h, js)
	require.Eventually(t, func() bool { return h.srv.Metrics().LateReports > 0 }, 20*time.Second, 10*time.Millisecond)
	require.Equal(t, 1, h.res.reports)
}

func TestRegistrationRefusals(t *testing.T) {
	h := newHarness(t, newMemQueue(), grpcsvc.Config{})
	w, err := worker.New(h.conn(t), nodeUploader(t), worker.Config{ID: "x", Secret: "wrong", Capacity: 1})
	require.NoError(t, err)
	err = w.Run(context.Background(), nil)
	require.ErrorIs(t, err, worker.ErrWrongSecret, "a wrong secret must end the worker, not loop")

	_, err = worker.New(h.conn(t), nodeUploader(t), worker.Config{ID: "x", Secret: "s3cret", Capacity: 0})
	require.ErrorIs(t, err, worker.ErrBadCapacity)

	// The server refuses capacity 0 too, with its own code.
	stream, err := archiverpb.NewArchiverServiceClient(h.conn(t)).RegisterArchiver(context.Background(),
		&archiverpb.RegisterRequest{Secret: "s3cret", Capacity: 0})
	require.NoError(t, err)
	_, err = stream.Recv()
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}

// TestForgedReportRefused: a report whose reference is not the content's
// is refused; the job stays with the queue.
func TestForgedReportRefused(t *testing.T) {
	js := jobs(1)
	h := newHarness(t, newMemQueue(js...), grpcsvc.Config{})
	client := archiverpb.NewArchiverServiceClient(h.conn(t))
	stream, err := client.RegisterArchiver(context.Background(), &archiverpb.RegisterRequest{Secret: "s3cret", Capacity: 1, WorkerId: "liar"})
	require.NoError(t, err)
	n, err := stream.Recv()
	require.NoError(t, err)
	job := n.GetJob()
	var files []*archiverpb.FileResult
	for _, f := range job.Files {
		files = append(files, &archiverpb.FileResult{Name: f.Name, Reference: make([]byte, 32), Bytes: f.Size})
	}
	_, err = client.ReportResult(context.Background(), &archiverpb.JobResult{JobId: job.JobId, Token: job.Token, Files: files})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	_, err = client.ReportResult(context.Background(), &archiverpb.JobResult{JobId: job.JobId, Token: []byte("forged"), Files: files})
	require.Equal(t, codes.NotFound, status.Code(err))
	require.Zero(t, h.q.finished())
}

// workersGauge isolates the connected-workers gauge of the collector.
func workersGauge(s *grpcsvc.Server) prometheus.Collector {
	return filtered{s.Collector(), "archiver_orchestrator_workers"}
}

type filtered struct {
	c    prometheus.Collector
	name string
}

func (f filtered) Describe(ch chan<- *prometheus.Desc) { f.c.Describe(ch) }
func (f filtered) Collect(ch chan<- prometheus.Metric) {
	all := make(chan prometheus.Metric, 16)
	go func() { f.c.Collect(all); close(all) }()
	for m := range all {
		if strings.Contains(m.Desc().String(), `"`+f.name+`"`) {
			ch <- m
		}
	}
}
