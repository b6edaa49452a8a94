package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/upload"
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrWrongSecret: the orchestrator refused the secret; retrying is
	// pointless.
	ErrWrongSecret = errors.New("orchestrator refused the secret")
	// ErrBadCapacity: the orchestrator refused the capacity.
	ErrBadCapacity = errors.New("orchestrator refused the capacity")
	// ErrTLS: the orchestrator's certificate was refused (wrong pin);
	// reconnecting cannot help.
	ErrTLS = errors.New("orchestrator certificate refused")
	// ErrLease: the stamp lease could not be used (or none was granted).
	ErrLease = errors.New("stamp lease unusable")
	// ErrPostageExhausted: every batch the worker may stamp with is full.
	// The worker's trouble, not the job's: the job goes back to the
	// orchestrator's spool unreported and the worker takes no jobs until
	// a batch has room again.
	ErrPostageExhausted = errors.New("postage exhausted: every batch the worker may stamp with is full")
)

// Uploader stores one file on Swarm; *upload.Uploader implements it.
type Uploader interface {
	Upload(ctx context.Context, data []byte) (upload.Receipt, error)
}

// KnownUploader is an Uploader that can take a file's reference and chunks
// as the orchestrator computed them (upload.Uploader.UploadKnown), so that
// the worker does not hash the file again.
type KnownUploader interface {
	UploadKnown(ctx context.Context, data []byte, known upload.Known) (upload.Receipt, error)
}

// Config tunes a worker.
type Config struct {
	ID       string
	Secret   string
	Capacity int
	Version  string
	// Backoff bounds reconnect delays.
	MinBackoff, MaxBackoff time.Duration
	// Drain is how long in-flight jobs may finish after Stop; the rest
	// are handed back by disconnecting.
	Drain time.Duration
	// OnLease, for client-side stamping, builds the uploader for the stamp
	// lease the orchestrator grants at registration; until then the
	// worker registers as client-stamping and uploads nothing.
	OnLease func(*archiverpb.StampLease) (Uploader, error)
	// PostageRecheck is how often a worker out of postage asks again
	// whether a batch has room (Rechecker) before it registers again.
	PostageRecheck time.Duration
	// Metrics, when set, are updated as jobs run.
	Metrics *Metrics
	Logger  *slog.Logger
}

// Worker serves one orchestrator.
type Worker struct {
	conn *grpc.ClientConn
	rpc  archiverpb.ArchiverServiceClient
	cfg  Config
	log  *slog.Logger

	mu     sync.RWMutex
	up     Uploader               // nil until a client-stamping worker gets its lease
	leased *archiverpb.StampLease // the lease up stamps within

	// exhausted is set from the first upload that finds no postage until
	// the worker registers again; postageOut tells the session.
	exhausted  atomic.Bool
	postageOut chan error

	published *publishedCache // manifest nodes of each stream's last publish here
}

// Rechecker is an Uploader that can tell whether its postage has room
// again after it ran out (*upload.Uploader implements it).
type Rechecker interface {
	Recheck(ctx context.Context) (bool, error)
}

// New returns a worker using an established client connection.
func New(conn *grpc.ClientConn, up Uploader, cfg Config) (*Worker, error) {
	if cfg.Capacity < 1 {
		return nil, fmt.Errorf("worker: %w: %d", ErrBadCapacity, cfg.Capacity)
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 30 * time.Second
	}
	if cfg.PostageRecheck <= 0 {
		cfg.PostageRecheck = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{conn: conn, rpc: archiverpb.NewArchiverServiceClient(conn), up: up, cfg: cfg, log: cfg.Logger,
		postageOut: make(chan error, 1), published: newPublishedCache()}, nil
}

// Run registers and works until stop is closed (then drains) or ctx ends.
// It reconnects with backoff; a refused secret, capacity or certificate
// ends it with ErrWrongSecret, ErrBadCapacity or ErrTLS.
func (w *Worker) Run(ctx context.Context, stop <-chan struct{}) error {
	backoff := w.cfg.MinBackoff
	for {
		started := time.Now()
		var registered atomic.Bool
		err := w.session(ctx, stop, &registered)
		switch {
		case err == nil || ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrWrongSecret), errors.Is(err, ErrBadCapacity), errors.Is(err, ErrTLS), errors.Is(err, ErrLease):
			return err
		case errors.Is(err, ErrPostageExhausted):
			if !w.waitForPostage(ctx, stop, err) {
				return nil
			}
			backoff = w.cfg.MinBackoff
			continue
		}
		if registered.Load() || time.Since(started) > w.cfg.MaxBackoff {
			// The session was healthy: admitted, or up for a while. An
			// orchestrator that restarts (an upgrade, a crash) is rejoined
			// at once, not after a backoff that grew with its restarts.
			backoff = w.cfg.MinBackoff
		}
		w.cfg.Metrics.failed("connection")
		w.log.Warn("orchestrator connection lost; reconnecting", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-stop:
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, w.cfg.MaxBackoff)
	}
}

// session is one registration: jobs are worked on concurrently up to the
// capacity the orchestrator enforces. registered is set once the
// orchestrator has admitted the worker (archiverpb.RegisteredHeader, or a
// first notice from an orchestrator that does not send it).
func (w *Worker) session(ctx context.Context, stop <-chan struct{}, registered *atomic.Bool) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := w.rpc.RegisterArchiver(sctx, w.registerRequest())
	if err != nil {
		return classify(err)
	}
	var jobs sync.WaitGroup
	notices := make(chan *archiverpb.WorkerNotice)
	errc := make(chan error, 1)
	go func() {
		if md, err := stream.Header(); err == nil && len(md.Get(archiverpb.RegisteredHeader)) > 0 {
			registered.Store(true)
		}
		for {
			n, err := stream.Recv()
			if err != nil {
				errc <- classify(err)
				return
			}
			registered.Store(true)
			select {
			case notices <- n:
			case <-sctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-stop:
			w.drain(&jobs)
			return nil
		case err := <-errc:
			jobs.Wait()
			return err
		case err := <-w.postageOut:
			// Leave: the orchestrator re-dispatches every job it gave us
			// (jobs received from now on are not started) to workers that
			// have postage, and gives us none while we are away.
			jobs.Wait()
			return fmt.Errorf("worker: %w: %w", ErrPostageExhausted, err)
		case n := <-notices:
			switch {
			case n.GetLease() != nil:
				if err := w.lease(n.GetLease()); err != nil {
					jobs.Wait()
					return err
				}
			case n.GetJob() != nil:
				jobs.Add(1)
				go func() { defer jobs.Done(); w.work(ctx, n.GetJob()) }()
			case n.GetPublish() != nil:
				jobs.Add(1)
				go func() { defer jobs.Done(); w.publish(ctx, n.GetPublish()) }()
			case n.GetEnded() != nil:
				w.published.drop(string(n.GetEnded().GetManifestId()))
			}
		}
	}
}

// lease switches to the uploader for a granted stamp lease.
func (w *Worker) lease(l *archiverpb.StampLease) error {
	if w.cfg.OnLease == nil {
		return fmt.Errorf("worker: %w: got a lease without client-side stamping", ErrLease)
	}
	w.mu.RLock()
	same := w.up != nil && proto.Equal(w.leased, l)
	w.mu.RUnlock()
	if same {
		// Registered again (leases are for good): keep the uploader. A new
		// one reads the batch from Bee, which may be what is down, and
		// failing that would end the worker.
		return nil
	}
	up, err := w.cfg.OnLease(l)
	if err != nil {
		return fmt.Errorf("worker: %w: %w", ErrLease, err)
	}
	w.mu.Lock()
	w.up, w.leased = up, l
	w.mu.Unlock()
	w.log.Info("stamp lease granted", "batch", fmt.Sprintf("%x", l.GetBatchId()), "from", l.GetCounterFrom(), "to", l.GetCounterTo())
	return nil
}

// uploader is the current uploader; nil before a lease.
func (w *Worker) uploader() Uploader {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.up
}

// drain waits for in-flight jobs up to the drain deadline; whatever is not
// finished is handed back when the registration stream closes.
func (w *Worker) drain(jobs *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { jobs.Wait(); close(done) }()
	select {
	case <-done:
		w.log.Info("drained in-flight jobs")
	case <-time.After(w.cfg.Drain):
		w.log.Warn("drain deadline passed; unfinished jobs go back to the orchestrator")
	}
}

// classify turns registration errors into the package's sentinels.
func classify(err error) error {
	switch status.Code(err) {
	case codes.Unauthenticated:
		return fmt.Errorf("worker: %w: %w", ErrWrongSecret, err)
	case codes.InvalidArgument:
		return fmt.Errorf("worker: %w: %w", ErrBadCapacity, err)
	case codes.FailedPrecondition, codes.ResourceExhausted:
		return fmt.Errorf("worker: %w: %w", ErrLease, err)
	case codes.Unavailable:
		// grpc reports a failed TLS verification only in its text.
		if strings.Contains(err.Error(), "authentication handshake failed") {
			return fmt.Errorf("worker: %w: %w", ErrTLS, err)
		}
	}
	return fmt.Errorf("worker: %w", err)
}

// beeDown reports whether an upload failed because the worker's Bee node
// is unreachable or not serving yet (503 while it starts), or ran out of
// the job's time: the worker's trouble, not the job's.
func beeDown(ctx context.Context, err error) bool {
	var apiErr *bee.APIError
	return ctx.Err() != nil || errors.Is(err, bee.ErrUnreachable) ||
		(errors.As(err, &apiErr) && apiErr.Status == http.StatusServiceUnavailable)
}

// outOfPostage reports whether an upload failed because the worker's
// postage has no room: Bee's 402 "batch is overissued" (node-side
// stamping), every node-side batch full, or a full bucket in the client-side
// issuer (its batches or lease). The worker's trouble, not the job's:
// reported, it would count against the job's attempts and end as a gap.
func outOfPostage(err error) bool {
	return errors.Is(err, bee.ErrOverissued) || errors.Is(err, upload.ErrNoPostage) || errors.Is(err, postage.ErrBucketFull)
}

// noPostage marks the worker out of postage and tells its session, once.
func (w *Worker) noPostage(err error) {
	if w.exhausted.CompareAndSwap(false, true) {
		w.cfg.Metrics.postageExhausted(true)
		select {
		case w.postageOut <- err:
		default:
		}
	}
}

// waitForPostage keeps a worker out of postage unregistered, so it takes no
// jobs, until its uploader finds a batch with room (an uploader that cannot
// tell is tried again after one interval). It reports false when ctx ends
// or stop is closed first.
func (w *Worker) waitForPostage(ctx context.Context, stop <-chan struct{}, cause error) bool {
	remedy := "Dilute or replace the batch (restart with an immutable batch that has room, several comma-separated are used in order)"
	if w.leasedNow() != nil {
		remedy = "The leased counter range is full: the orchestrator's operator must lease another batch (livepeer-archiver -archivePostageBatch); " +
			"until it does the worker only asks for its lease, taking no job"
	}
	w.log.Error("out of postage: not taking jobs until a batch has room; its jobs wait in the orchestrator's spool. "+remedy,
		"error", cause, "recheck_every", w.cfg.PostageRecheck)
	for {
		select {
		case <-ctx.Done():
			return false
		case <-stop:
			return false
		case <-time.After(w.cfg.PostageRecheck):
		}
		usable, err := w.recheck(ctx)
		if err != nil {
			w.log.Warn("re-checking postage", "error", err)
		}
		if usable {
			break
		}
		w.log.Error("still out of postage: not taking jobs", "recheck_every", w.cfg.PostageRecheck)
	}
	select { // a signal from the session just ended is stale
	case <-w.postageOut:
	default:
	}
	w.exhausted.Store(false)
	w.log.Info("postage may have room again; registering to take jobs")
	return true
}
