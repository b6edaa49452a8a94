package grpcsvc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// Queue is where accepted jobs wait: the orchestrator's durable spool.
type Queue interface {
	// Next blocks until a job is available and leases it.
	Next(ctx context.Context) (QueuedJob, error)
	// Done removes a job for good once its result is recorded.
	Done(id string) error
	// Release returns a leased job to the queue.
	Release(id string) error
}

// QueuedJob is a leased job.
type QueuedJob struct {
	ID  string
	Job archiver.Job
	// Attempts counts the job's returns to the queue, for any reason
	// (logs and operators); the gap decision counts reported failures only.
	Attempts int
}

// FileResult is the Swarm reference of one file of a job.
type FileResult struct {
	Name      string
	Reference []byte
	Bytes     uint64
	Chunks    uint64
}

// Results records what workers report: the archive index.
type Results interface {
	// Archived records a job's references; it must be idempotent, since
	// a job re-dispatched after a timeout may be reported twice.
	Archived(ctx context.Context, job archiver.Job, files []FileResult) error
	// Failed records a job the workers could not archive after all
	// attempts; the stream keeps a gap.
	Failed(ctx context.Context, job archiver.Job, reason string) error
}

// Config tunes the service.
type Config struct {
	Secret string
	// MaxAttempts bounds the failures workers report for a job before it
	// is recorded as a gap. A job whose worker vanished, missed its
	// deadline or ran out of postage is re-dispatched without counting:
	// that is the worker's trouble, not the job's.
	MaxAttempts int
	// BaseTimeout plus one second per MinThroughput bytes is a job's
	// deadline: max(8 s, 4 × segment duration) in go-livepeer, scaled by
	// size here because uploads are bound by bytes.
	BaseTimeout   time.Duration
	MinThroughput int64 // bytes per second
	ChunkSize     int
	// MaxUnacked bounds the jobs a worker holds that it has not
	// acknowledged, whatever capacity it declares: a worker acknowledges a
	// job by fetching it (FetchJob) or reporting it, as every worker does
	// at once. A worker that declares a large capacity and never reads its
	// stream so holds at most this many. Default DefaultMaxUnacked.
	MaxUnacked int
	// AckTimeout is how long a worker has to acknowledge a job. A worker
	// that misses it loses every job it has not acknowledged to the queue
	// and is given no more until it acknowledges one (it fetches, or
	// reports, a job it was handed); a job whose deadline comes first is
	// treated alike. Default DefaultAckTimeout.
	AckTimeout time.Duration
	// AbortGrace is how long the jobs a worker had fetched wait after it
	// disconnects before they go back to the queue: its uploads may still
	// be open on Bee's side until Bee notices the broken connection. Bee
	// (2.7) then deletes the chunks that upload put, including those an
	// upload of the same content through the same node and batch (the
	// restarted worker, or the next one) counted as stored already, and
	// that file would read back truncated. Default DefaultAbortGrace, the
	// worker's own bound (upload.Config.AbortGrace); negative: none.
	AbortGrace time.Duration
	// Leases, when set, shares one batch among workers with client-side
	// stamping.
	Leases *dispatch.LeaseConfig
	// Redundancy is the Swarm-Redundancy-Level workers upload with; the
	// orchestrator checks reported references at this level.
	Redundancy redundancy.Level
	// TrustReferences skips the offline check of every reported reference
	// against the content (names, sizes and the job are still checked).
	// The check is what lets the orchestrator not trust its workers, and
	// its largest CPU cost (BENCHMARKS.md, throughput); an operator whose
	// workers are its own machines may trade it for throughput. A lying
	// worker's reference then reaches the manifest, where only the
	// broadcaster's own offline check (GetArchiveStatus) catches it.
	TrustReferences bool
	// FeedSigner, when set, signs the feed updates that publish jobs carry
	// (PublishRequest.Feed): the operator's Ethereum account.
	FeedSigner feed.Signer
	Logger     *slog.Logger
}

// Defaults of Config.MaxUnacked and Config.AckTimeout. Two jobs in flight
// on the registration stream keep an honest worker busy: it acknowledges a
// job a round trip after it is sent. Five seconds is many round trips, and
// half the shortest default deadline.
const (
	DefaultMaxUnacked = 2
	DefaultAckTimeout = 5 * time.Second
	DefaultAbortGrace = 5 * time.Second
)

func (c Config) withDefaults() Config {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.BaseTimeout <= 0 {
		c.BaseTimeout = 10 * time.Second
	}
	if c.MinThroughput <= 0 {
		c.MinThroughput = 256 << 10
	}
	if c.ChunkSize <= 0 {
		c.ChunkSize = 1 << 20
	}
	if c.MaxUnacked <= 0 {
		c.MaxUnacked = DefaultMaxUnacked
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.AbortGrace == 0 {
		c.AbortGrace = DefaultAbortGrace
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Server implements archiverpb.ArchiverServiceServer.
type Server struct {
	archiverpb.UnimplementedArchiverServiceServer
	cfg     Config
	queue   Queue
	results Results
	workers *dispatch.Pool[link]
	log     *slog.Logger
	metrics Metrics
	leases  *dispatch.LeaseTable

	// mu may be held while taking workers.mu, never the other way round.
	mu         sync.Mutex
	assigned   map[string]*assignment      // job id → current assignment
	missed     map[string]map[*worker]bool // job id → workers that missed its deadline
	failures   map[string]int              // job id → failures reported by workers
	publishing map[string]*publication     // publish job id → waiting publication
	revoked    map[string][]revocation     // job id → takings back from stalled workers

	// reporting is held for reading by every report being recorded and
	// for writing by Close, which so waits for them; closed refuses later
	// ones.
	reporting sync.RWMutex
	closed    bool
}

// Close refuses further reports and waits for those being recorded, so the
// spool and the index can be closed under none: a report recorded in the
// index whose spool Done failed on the closed spool left the job there,
// and the next process archived and counted it again. Call it before
// closing the Queue and the Results; jobs not reported stay queued.
func (s *Server) Close() {
	s.reporting.Lock()
	defer s.reporting.Unlock()
	s.closed = true
}

// assignment is a job handed to a worker.
type assignment struct {
	qj       QueuedJob
	worker   *worker
	token    []byte
	deadline time.Time
	timer    *time.Timer
	ackTimer *time.Timer // nil when the deadline comes first
	claimed  bool        // a report of it is being recorded; guarded by Server.mu
	acked    bool        // the worker fetched or reported it; guarded by Server.mu
}

// Metrics counts what happened; read with Server.Metrics.
type Metrics struct {
	Dispatched, Redispatched, Archived, Failed, LateReports int64
	// Unacknowledged counts the re-dispatches of jobs taken back from a
	// worker that did not acknowledge them (also in Redispatched).
	Unacknowledged int64
}

var _ archiverpb.ArchiverServiceServer = (*Server)(nil)

// New returns a server; Run starts dispatching.
func New(queue Queue, cfg Config) (*Server, error) {
	if cfg.Secret == "" {
		return nil, errors.New("grpcsvc: an empty secret would let anyone register")
	}
	cfg = cfg.withDefaults()
	var leases *dispatch.LeaseTable
	if cfg.Leases != nil {
		var err error
		if leases, err = dispatch.OpenLeases(*cfg.Leases); err != nil {
			return nil, err
		}
	}
	return &Server{cfg: cfg, queue: queue, workers: dispatch.NewPool[link](cfg.MaxUnacked), log: cfg.Logger, leases: leases,
		assigned: make(map[string]*assignment), missed: make(map[string]map[*worker]bool), failures: make(map[string]int),
		publishing: make(map[string]*publication), revoked: make(map[string][]revocation)}, nil
}

// Metrics returns a snapshot of the counters.
func (s *Server) Metrics() Metrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.metrics
}

// StreamEnded forgets which worker archived a stream (streams.Publisher):
// called after the stream's final publish, so the affinity map holds live
// streams only. Every connected worker is told, so that it forgets what it
// remembered of the stream's earlier publishes; the notice is not waited
// for (a worker that misses it forgets the stream by its cache's bound).
func (s *Server) StreamEnded(manifestID string) {
	s.workers.Forget(manifestID)
	n := &archiverpb.WorkerNotice{Notice: &archiverpb.WorkerNotice_Ended{Ended: &archiverpb.StreamEnded{ManifestId: []byte(manifestID)}}}
	for _, w := range s.workers.All() {
		select {
		case w.Link.notices <- n:
		case <-w.Link.gone:
		default:
		}
	}
}

// Held counts what the server keeps in memory per job and per stream.
type Held struct {
	Assigned     int // jobs handed to a worker, not yet reported
	Missed       int // jobs with a missed deadline, until reported
	Failed       int // jobs with a reported, retried failure, until done
	Publications int // publish jobs waiting for their report
	Affinities   int // streams with a preferred worker
	Workers      int // connected workers
	// Revoked counts jobs taken back from stalled workers still
	// connected, kept until the worker acknowledges or leaves.
	Revoked int
}

// Held reports the sizes of the server's per-job and per-stream state, for
// metrics and leak checks: with no job in flight and every stream ended,
// all but Workers are zero (integration/churn_test.go asserts it).
func (s *Server) Held() Held {
	s.mu.Lock()
	h := Held{Assigned: len(s.assigned), Missed: len(s.missed), Failed: len(s.failures), Publications: len(s.publishing)}
	for _, rs := range s.revoked {
		h.Revoked += len(rs)
	}
	s.mu.Unlock()
	h.Affinities, h.Workers = s.workers.Sizes()
	return h
}

// checkSecret compares in constant time; hashing first hides the length.
func (s *Server) checkSecret(got string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.cfg.Secret))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// maxCapacity bounds the capacity a worker declares: it sizes the worker's
// notice buffer, and an unchecked 2^50 panicked the orchestrator (makechan).
const maxCapacity = 1 << 12

// RegisterArchiver admits a worker and streams it jobs until it leaves.
func (s *Server) RegisterArchiver(req *archiverpb.RegisterRequest, stream archiverpb.ArchiverService_RegisterArchiverServer) error {
	if !s.checkSecret(req.GetSecret()) {
		return status.Error(codes.Unauthenticated, "invalid secret")
	}
	if c := req.GetCapacity(); c < 1 || c > maxCapacity {
		return status.Errorf(codes.InvalidArgument, "capacity must be in 1..%d, got %d", maxCapacity, c)
	}
	w := newWorker(req.GetWorkerId(), int(req.GetCapacity()))
	leased := req.GetCapabilities().GetClientStamping()
	if leased {
		if err := s.sendLease(w, stream); err != nil {
			return err
		}
		if md, _ := metadata.FromIncomingContext(stream.Context()); len(md.Get(archiverpb.LeaseProbeHeader)) > 0 {
			return nil // the lease was all it asked for: not admitted, given no job
		}
	}
	s.workers.Add(w)
	s.log.Info("worker registered", "worker", w.ID, "capacity", w.Capacity, "version", req.GetVersion())
	defer func() {
		s.workers.Remove(w)
		close(w.Link.gone)
		s.reclaim(w)
		s.forgetRevoked(w)
		s.log.Info("worker left; its jobs are re-dispatched", "worker", w.ID)
	}()
	if !leased { // the lease's message carried the headers already
		if err := stream.SendHeader(metadata.Pairs(archiverpb.RegisteredHeader, "1")); err != nil {
			return err
		}
	}
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case n := <-w.Link.notices:
			if err := stream.Send(n); err != nil {
				return err
			}
		}
	}
}

// sendLease gives a client-stamping worker its stamp lease before any job.
func (s *Server) sendLease(w *worker, stream archiverpb.ArchiverService_RegisterArchiverServer) error {
	if s.leases == nil {
		return status.Error(codes.FailedPrecondition, "this orchestrator has no batch to lease for client-side stamping")
	}
	if w.ID == "" {
		return status.Error(codes.InvalidArgument, "client-side stamping needs a stable worker id")
	}
	l, err := s.leases.Lease(w.ID)
	if err != nil {
		return status.Error(codes.ResourceExhausted, err.Error())
	}
	lease := &archiverpb.StampLease{BatchId: l.Batch[:], CounterFrom: l.From, CounterTo: l.To}
	return stream.Send(&archiverpb.WorkerNotice{Notice: &archiverpb.WorkerNotice_Lease{Lease: lease}})
}

func newToken() []byte {
	t := make([]byte, 16)
	_, _ = rand.Read(t)
	return t
}

// deadline scales a job's timeout with its size.
func (s *Server) deadline(j archiver.Job) time.Duration {
	return s.cfg.BaseTimeout + time.Duration(j.Bytes()/s.cfg.MinThroughput)*time.Second
}

// Run dispatches queued jobs to workers until ctx ends, and records what
// they report in results. Results are given here, not to New, because the
// stream keeper that records them publishes through this server: it is
// built from the server, and the server needs it only once jobs go out.
func (s *Server) Run(ctx context.Context, results Results) error {
	if results == nil {
		return errors.New("grpcsvc: Run needs somewhere to record results")
	}
	// Written before the first assignment; reports reach it only through
	// an assignment, taken under s.mu.
	s.mu.Lock()
	s.results = results
	s.mu.Unlock()
	for {
		qj, err := s.queue.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("grpcsvc: next job: %w", err)
		}
		s.mu.Lock()
		avoid := s.missed[qj.ID]
		s.mu.Unlock()
		w, err := s.workers.PickJob(ctx, string(qj.Job.ManifestID), avoid)
		if err != nil {
			_ = s.queue.Release(qj.ID)
			return nil
		}
		s.assign(qj, w)
	}
}
