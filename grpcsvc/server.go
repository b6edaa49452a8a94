package grpcsvc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
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

// Results records what workers report: the stream keeper.
type Results = archiver.Results

// FileResult is the Swarm reference of one file of a job.
type FileResult = archiver.FileResult

// Queue is where accepted jobs wait: the orchestrator's durable spool.
type Queue = archiver.Queue

// QueuedJob is a leased job.
type QueuedJob = archiver.QueuedJob

// Metrics counts what happened to jobs; read with Server.Metrics.
type Metrics = dispatch.Metrics

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

// Defaults of Config, the dispatcher's.
const (
	DefaultMaxUnacked = dispatch.DefaultMaxUnacked
	DefaultAckTimeout = dispatch.DefaultAckTimeout
	DefaultAbortGrace = dispatch.DefaultAbortGrace
)

func (c Config) withDefaults() Config {
	if c.ChunkSize <= 0 {
		c.ChunkSize = 1 << 20
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = dispatch.DefaultMaxAttempts
	}
	if c.BaseTimeout <= 0 {
		c.BaseTimeout = dispatch.DefaultBaseTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// dispatch is the dispatcher's part of the configuration.
func (c Config) dispatch() dispatch.Config {
	return dispatch.Config{MaxAttempts: c.MaxAttempts, BaseTimeout: c.BaseTimeout, MinThroughput: c.MinThroughput,
		MaxUnacked: c.MaxUnacked, AckTimeout: c.AckTimeout, AbortGrace: c.AbortGrace, Redundancy: c.Redundancy,
		Verify: !c.TrustReferences, Logger: c.Logger}
}

// Server implements archiverpb.ArchiverServiceServer: the workers'
// connections and their messages, over the dispatcher, which decides.
type Server struct {
	archiverpb.UnimplementedArchiverServiceServer
	cfg    Config
	d      *dispatch.Dispatcher[link]
	log    *slog.Logger
	leases *dispatch.LeaseTable

	mu         sync.Mutex
	publishing map[string]*publication // publish job id → waiting publication
}

// Close refuses further reports and waits for those being recorded, so the
// spool and the index can be closed under none. Call it before closing the
// Queue and the Results; jobs not reported stay queued.
func (s *Server) Close() { s.d.Close() }

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
	s := &Server{cfg: cfg, log: cfg.Logger, leases: leases, publishing: make(map[string]*publication)}
	s.d = dispatch.New(queue, cfg.dispatch(), s.sendJob)
	return s, nil
}

// Metrics returns a snapshot of the counters.
func (s *Server) Metrics() Metrics { return s.d.Metrics() }

// Run dispatches queued jobs to workers until ctx ends, and records what
// they report in results. Results are given here, not to New, because the
// stream keeper that records them publishes through this server: it is
// built from the server, and the server needs it only once jobs go out.
func (s *Server) Run(ctx context.Context, results Results) error { return s.d.Run(ctx, results) }

// StreamEnded forgets which worker archived a stream (streams.Publisher):
// called after the stream's final publish, so the affinity map holds live
// streams only. Every connected worker is told, so that it forgets what it
// remembered of the stream's earlier publishes; the notice is not waited
// for (a worker that misses it forgets the stream by its cache's bound).
func (s *Server) StreamEnded(manifestID string) {
	s.d.Workers().Forget(manifestID)
	n := &archiverpb.WorkerNotice{Notice: &archiverpb.WorkerNotice_Ended{Ended: &archiverpb.StreamEnded{ManifestId: []byte(manifestID)}}}
	for _, w := range s.d.Workers().All() {
		select {
		case w.Link.notices <- n:
		case <-w.Gone():
		default:
		}
	}
}

// Held counts what the server keeps in memory per job and per stream.
type Held struct {
	Assigned     int // jobs handed to a worker, not yet reported
	Missed       int // jobs with a missed deadline, until reported
	Failed       int // jobs with a reported, retried failure, until done
	Described    int // jobs whose files were described for dispatch, until done
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
	d := s.d.Held()
	h := Held{Assigned: d.Assigned, Missed: d.Missed, Failed: d.Failed, Described: d.Described, Revoked: d.Revoked}
	s.mu.Lock()
	h.Publications = len(s.publishing)
	s.mu.Unlock()
	h.Affinities, h.Workers = s.d.Workers().Sizes()
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
	s.d.Join(w)
	s.log.Info("worker registered", "worker", w.ID, "capacity", w.Capacity, "version", req.GetVersion())
	defer func() {
		s.d.Leave(w)
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
