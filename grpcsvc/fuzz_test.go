package grpcsvc

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// The worker-facing handlers, fuzzed with the request bytes a worker
// sends. The handlers are called directly, as grpc-go calls them after
// proto.Unmarshal; fakes stand in for the spool, the index and the stream.

const fuzzSecret = "s3cret"

var fuzzToken = []byte("0123456789abcdef")

// sentStream is a server stream that records what is sent; its context is
// already cancelled, so a registration returns once it has sent the lease.
type sentStream[T any] struct {
	grpc.ServerStream
	ctx  context.Context
	sent []*T
}

func (s *sentStream[T]) Send(m *T) error              { s.sent = append(s.sent, m); return nil }
func (s *sentStream[T]) Context() context.Context     { return s.ctx }
func (s *sentStream[T]) SendHeader(metadata.MD) error { return nil }

func newSentStream[T any]() *sentStream[T] {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return &sentStream[T]{ctx: ctx}
}

// fakeQueue records what the server does with a job; it serves the jobs
// put in next, once each.
type fakeQueue struct {
	next           chan QueuedJob
	mu             sync.Mutex
	done, released []string
}

func (q *fakeQueue) Next(ctx context.Context) (QueuedJob, error) {
	select {
	case j := <-q.next:
		return j, nil
	case <-ctx.Done():
		return QueuedJob{}, ctx.Err()
	}
}
func (q *fakeQueue) Done(id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.done = append(q.done, id)
	return nil
}
func (q *fakeQueue) Release(id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.released = append(q.released, id)
	return nil
}

// fakeResults records what reaches the index.
type fakeResults struct {
	archived [][]FileResult
	failed   []string
}

func (r *fakeResults) Archived(_ context.Context, _ archiver.Job, files []FileResult) error {
	r.archived = append(r.archived, files)
	return nil
}
func (r *fakeResults) Failed(_ context.Context, _ archiver.Job, reason string) error {
	r.failed = append(r.failed, reason)
	return nil
}

func fuzzJob() archiver.Job {
	return archiver.Job{ManifestID: "m", Seq: 1, Source: []byte("source bytes, a little longer than one fetch chunk"),
		Renditions: []archiver.Rendition{{Name: "P720p30fps16x9", Data: []byte("720p bytes")}, {Name: "P360p30fps16x9", Data: []byte{}}}}
}

// assignedServer is a server that dispatched fuzzJob as "job-1" to its one
// worker, with the given failures already reported: it returns the job's
// token. A job with n failures behind it is decided as a fresh job with n
// fewer attempts left.
func assignedServer(tb testing.TB, attempts int) (*Server, *fakeQueue, *fakeResults, []byte) {
	q, res := &fakeQueue{next: make(chan QueuedJob, 1)}, &fakeResults{}
	q.next <- QueuedJob{ID: "job-1", Job: fuzzJob()}
	s, err := New(q, Config{Secret: fuzzSecret, ChunkSize: 16, MaxAttempts: max(1, dispatch.DefaultMaxAttempts-attempts)})
	require.NoError(tb, err)
	w := newWorker("w", 1)
	s.d.Join(w)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); _ = s.Run(ctx, res) }()
	tb.Cleanup(func() { cancel(); <-ran; s.Close() }) // millions of inputs must not leave millions of timers
	return s, q, res, (<-w.Link.notices).GetJob().GetToken()
}

// validReport is what an honest worker reports for fuzzJob.
func validReport(tb testing.TB) *archiverpb.JobResult {
	res := &archiverpb.JobResult{JobId: "job-1", Token: fuzzToken}
	for _, f := range dispatch.Files(fuzzJob()) {
		ref, err := chunker.Reference(context.Background(), f.Data, redundancy.NONE)
		require.NoError(tb, err)
		res.Files = append(res.Files, &archiverpb.FileResult{Name: f.Name, Reference: ref.Bytes(), Bytes: uint64(len(f.Data)), Chunks: 1})
	}
	return res
}

func marshal(tb testing.TB, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	require.NoError(tb, err)
	return b
}

// FuzzReportResult: only the current assignment's token reports, an error
// report re-dispatches or records a gap, and references reach the index
// only when each is the content's; anything else changes nothing.
func FuzzReportResult(f *testing.F) {
	ok := validReport(f)
	wrongRef := proto.Clone(ok).(*archiverpb.JobResult)
	wrongRef.Files[1].Reference = bytes.Repeat([]byte{1}, 32)
	for _, r := range []*archiverpb.JobResult{ok, wrongRef,
		{JobId: "job-1", Token: fuzzToken, Error: "bee down", Retryable: true},
		{JobId: "job-1", Token: fuzzToken, Error: "overissued"},
		{JobId: "job-1", Token: []byte("0123456789abcdeX"), Files: ok.Files},
		{JobId: "job-2", Token: fuzzToken}} {
		f.Add(marshal(f, r), uint8(0))
		f.Add(marshal(f, r), uint8(4))
	}
	f.Fuzz(func(t *testing.T, raw []byte, attempts uint8) {
		var res archiverpb.JobResult
		if proto.Unmarshal(raw, &res) != nil {
			return
		}
		s, q, rec, token := assignedServer(t, int(attempts%8))
		if bytes.Equal(res.GetToken(), fuzzToken) { // the corpus's name for the job's token
			res.Token = token
		}
		_, err := s.ReportResult(context.Background(), &res)
		current := res.GetJobId() == "job-1" && bytes.Equal(res.GetToken(), token)
		switch {
		case !current:
			require.Equal(t, codes.NotFound, status.Code(err), "%v", err)
			require.Equal(t, int64(1), s.Metrics().LateReports)
		case res.GetError() != "":
			require.NoError(t, err)
			require.Empty(t, rec.archived)
			if res.GetRetryable() && int(attempts%8)+1 < dispatch.DefaultMaxAttempts {
				require.Equal(t, []string{"job-1"}, q.released)
				require.Empty(t, rec.failed)
			} else {
				require.Equal(t, []string{res.GetError()}, rec.failed)
				require.Equal(t, []string{"job-1"}, q.done)
			}
		case err != nil:
			require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
			require.Equal(t, 1, s.Held().Assigned, "a refused report keeps the assignment")
		default:
			require.Len(t, rec.archived, 1)
			want := validReport(t)
			for i, got := range rec.archived[0] {
				require.Equal(t, want.Files[i].GetName(), got.Name)
				require.Equal(t, want.Files[i].GetReference(), got.Reference, "a reference that is not the content's was recorded")
				require.Equal(t, want.Files[i].GetBytes(), got.Bytes)
			}
			require.Equal(t, []string{"job-1"}, q.done)
		}
		if err != nil {
			require.Empty(t, rec.archived, "nothing recorded on error")
			require.Empty(t, rec.failed)
			require.Empty(t, q.done)
		}
		// A late duplicate changes nothing once the job is finished.
		if s.Held().Assigned == 0 {
			before := len(rec.archived) + len(rec.failed)
			_, err := s.ReportResult(context.Background(), &res)
			require.Equal(t, codes.NotFound, status.Code(err))
			require.Equal(t, before, len(rec.archived)+len(rec.failed))
		}
	})
}

// FuzzFetchJob: job data goes only to the current assignment's token, in
// chunks that reassemble into exactly the job's files.
func FuzzFetchJob(f *testing.F) {
	for _, r := range []*archiverpb.FetchJobRequest{{JobId: "job-1", Token: fuzzToken}, {JobId: "job-1"}, {JobId: "job-2", Token: fuzzToken}} {
		f.Add(marshal(f, r))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req archiverpb.FetchJobRequest
		if proto.Unmarshal(raw, &req) != nil {
			return
		}
		s, _, _, token := assignedServer(t, 0)
		if bytes.Equal(req.GetToken(), fuzzToken) { // the corpus's name for the job's token
			req.Token = token
		}
		st := newSentStream[archiverpb.JobChunk]()
		err := s.FetchJob(&req, st)
		if req.GetJobId() != "job-1" || !bytes.Equal(req.GetToken(), token) {
			require.Equal(t, codes.NotFound, status.Code(err))
			require.Empty(t, st.sent, "job data sent to a stranger")
			return
		}
		require.NoError(t, err)
		want := dispatch.Files(fuzzJob())
		got := make([][]byte, len(want))
		for _, c := range st.sent {
			require.Less(t, int(c.GetFile()), len(want))
			require.Equal(t, uint64(len(got[c.GetFile()])), c.GetOffset())
			require.LessOrEqual(t, len(c.GetData()), s.cfg.ChunkSize)
			got[c.GetFile()] = append(got[c.GetFile()], c.GetData()...)
		}
		for i, w := range want {
			require.Equal(t, string(w.Data), string(got[i]), "file %d", i)
		}
	})
}

// FuzzRegisterArchiver: a registration is refused with the code the worker
// maps to a permanent error (wrong secret, bad capacity, no lease), or
// admitted with at most one lease, sent first, inside the batch's buckets;
// and the worker is gone once its stream ends.
func FuzzRegisterArchiver(f *testing.F) {
	caps := &archiverpb.WorkerCapabilities{ClientStamping: true}
	for _, r := range []*archiverpb.RegisterRequest{
		{Secret: fuzzSecret, Capacity: 2, WorkerId: "a", Version: "1"},
		{Secret: fuzzSecret, Capacity: 4, WorkerId: "a", Capabilities: caps},
		{Secret: fuzzSecret, Capacity: 1, Capabilities: caps},
		{Secret: "wrong", Capacity: 1},
		{Secret: fuzzSecret, Capacity: 0},
		{Secret: fuzzSecret, Capacity: -1},
	} {
		f.Add(marshal(f, r), true)
		f.Add(marshal(f, r), false)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, raw []byte, leases bool) {
		var req archiverpb.RegisterRequest
		if proto.Unmarshal(raw, &req) != nil {
			return
		}
		cfg := Config{Secret: fuzzSecret}
		lc := dispatch.LeaseConfig{Batch: [32]byte{1}, BucketCapacity: 1 << 10, Slot: 256, Path: filepath.Join(dir, "leases.json")}
		if leases {
			_ = os.Remove(lc.Path)
			cfg.Leases = &lc
		}
		s, err := New(&fakeQueue{}, cfg)
		require.NoError(t, err)
		st := newSentStream[archiverpb.WorkerNotice]()
		err = s.RegisterArchiver(&req, st)
		stamping := req.GetCapabilities().GetClientStamping()
		switch {
		case req.GetSecret() != fuzzSecret:
			require.Equal(t, codes.Unauthenticated, status.Code(err))
		case req.GetCapacity() < 1 || req.GetCapacity() > maxCapacity:
			require.Equal(t, codes.InvalidArgument, status.Code(err))
		case stamping && !leases:
			require.Equal(t, codes.FailedPrecondition, status.Code(err))
		case stamping && req.GetWorkerId() == "":
			require.Equal(t, codes.InvalidArgument, status.Code(err))
		default:
			require.NoError(t, err)
		}
		if err != nil || !stamping {
			require.Empty(t, st.sent, "nothing is sent to a refused or node-stamping worker")
		} else {
			require.Len(t, st.sent, 1)
			l := st.sent[0].GetLease()
			require.NotNil(t, l, "the lease comes first")
			require.Equal(t, lc.Batch[:], l.GetBatchId())
			require.Less(t, l.GetCounterFrom(), l.GetCounterTo())
			require.LessOrEqual(t, l.GetCounterTo(), lc.BucketCapacity)
		}
		workers, _ := s.d.Workers().Count()
		require.Zero(t, workers, "a worker whose stream ended is still registered")
	})
}

// TestRegisterCapacityBounds is the regression test of the fuzzer's find
// (testdata/fuzz/FuzzRegisterArchiver): the capacity sized a channel
// unchecked, so 2^50 panicked the orchestrator and 2^26 took 512 MiB.
func TestRegisterCapacityBounds(t *testing.T) {
	tests := []struct {
		capacity int64
		want     codes.Code
	}{
		{1, codes.OK}, {maxCapacity, codes.OK}, {0, codes.InvalidArgument}, {maxCapacity + 1, codes.InvalidArgument},
		{1 << 26, codes.InvalidArgument}, {1 << 50, codes.InvalidArgument}, {-1 << 63, codes.InvalidArgument},
	}
	for _, tc := range tests {
		s, err := New(&fakeQueue{}, Config{Secret: fuzzSecret})
		require.NoError(t, err)
		err = s.RegisterArchiver(&archiverpb.RegisterRequest{Secret: fuzzSecret, Capacity: tc.capacity}, newSentStream[archiverpb.WorkerNotice]())
		require.Equal(t, tc.want, status.Code(err), "capacity %d", tc.capacity)
	}
}
