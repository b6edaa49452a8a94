// Package host assembles the orchestrator side of the archiver, for a
// go-livepeer orchestrator (docs/golivepeer.md) or the testbed: the durable
// spool and index, the stream keeper, the workers' gRPC service and the
// broadcasters' queries, with one lifecycle.
//
//	h, err := host.Open(cfg)      // opens the data directory
//	h.Start(ctx)                  // dispatching, publishing
//	grpcServer.Register...(h)     // see Register
//	dec := orchestrator.New(inner, balances, h.Archiver(), ...)
//	h.Close()
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/spool"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// Config is the orchestrator side's configuration.
type Config struct {
	// DataDir holds the spool and the index; it must survive restarts.
	DataDir string
	// Spool bounds the on-disk spool (MaxBytes is required).
	Spool spool.Config
	// Service configures the workers' service (Secret is required).
	Service grpcsvc.Config
	// Streams sets the publishing cadence and teardown.
	Streams streams.Config
	// Offer is the archive offer broadcasters can query; nil answers an
	// empty offer.
	Offer func() *archiverpb.ArchiveOffer
	// PublicStatus answers status queries without a signature.
	PublicStatus bool
	// FeedSigner, when set, gives every stream a feed owned by the
	// operator's key, updated after every publish: one stable address,
	// /bzz/<feed manifest>/index.m3u8, that plays the latest archive. In
	// go-livepeer it is the node's Ethereum account (docs/golivepeer.md).
	FeedSigner feed.Signer
	// Results, when set, wraps where the workers' reports are recorded
	// (the stream keeper), for a tool that observes them; nil records
	// them directly.
	Results func(grpcsvc.Results) grpcsvc.Results
	Logger  *slog.Logger
}

// Host is the assembled orchestrator side.
type Host struct {
	spool   *spool.Spool
	index   *catalog.Index
	streams *streams.Streams
	service *grpcsvc.Server
	queries *grpcsvc.Queries

	results grpcsvc.Results // the stream keeper, or Config.Results's wrap of it
	log     *slog.Logger
	cancel  context.CancelFunc
	done    chan struct{}
}

// Open opens the data directory and builds the pieces.
func Open(cfg Config) (*Host, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Spool.Logger = cfg.Logger.With("component", "spool")
	cfg.Service.Logger = cfg.Logger.With("component", "workers")
	cfg.Streams.Logger = cfg.Logger.With("component", "streams")
	if cfg.FeedSigner != nil {
		cfg.Service.FeedSigner = cfg.FeedSigner
	}
	if cfg.Offer == nil {
		cfg.Offer = func() *archiverpb.ArchiveOffer { return &archiverpb.ArchiveOffer{} }
	}
	h := &Host{log: cfg.Logger}
	var err error
	if h.spool, err = spool.Open(filepath.Join(cfg.DataDir, "spool"), cfg.Spool); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	if h.index, err = catalog.Open(filepath.Join(cfg.DataDir, "index.db")); err != nil {
		return nil, errors.Join(fmt.Errorf("host: %w", err), h.spool.Close())
	}
	if h.service, err = grpcsvc.New(h.spool.Queue(), cfg.Service); err != nil {
		return nil, errors.Join(fmt.Errorf("host: %w", err), h.spool.Close(), h.index.Close())
	}
	h.streams = streams.New(h.index, h.service, cfg.Streams)
	h.results = h.streams
	if cfg.Results != nil {
		h.results = cfg.Results(h.streams)
	}
	h.queries = grpcsvc.NewQueries(h.index, cfg.Offer, cfg.PublicStatus)
	return h, nil
}

// Archiver is what the orchestrator decorator submits segments to.
func (h *Host) Archiver() archiver.Archiver { return h.streams.Intake(h.spool) }

// Register adds the workers' service and the broadcasters' queries to a
// gRPC server (go-livepeer's orchestrator serves TLS on its service port).
func (h *Host) Register(s *grpc.Server) {
	archiverpb.RegisterArchiverServiceServer(s, h.service)
	archiverpb.RegisterArchiveQueriesServer(s, h.queries)
}

// Queries answers the broadcasters' archive info and status queries.
func (h *Host) Queries() *grpcsvc.Queries { return h.queries }

// SpoolStats is a snapshot of the spool: jobs waiting, leased and on
// their way to disk, and their bytes.
func (h *Host) SpoolStats() spool.Stats { return h.spool.Stats() }

// DispatchMetrics counts what the workers' service did with the jobs:
// dispatched, re-dispatched, archived, failed.
func (h *Host) DispatchMetrics() grpcsvc.Metrics { return h.service.Metrics() }

// DispatchHeld is what the workers' service holds in memory: connected
// workers, assigned jobs, publications, stream affinities.
func (h *Host) DispatchHeld() grpcsvc.Held { return h.service.Held() }

// Collector exports the workers' service's metrics.
func (h *Host) Collector() prometheus.Collector { return h.service.Collector() }

// StreamInfo is what the index knows of a stream; catalog.ErrUnknownStream
// if nothing of it was recorded.
func (h *Host) StreamInfo(id catalog.StreamID) (catalog.StreamInfo, error) {
	return h.index.StreamInfo(id)
}

// StreamRecords are every file of a stream the index recorded.
func (h *Host) StreamRecords(id catalog.StreamID) ([]catalog.Record, error) {
	return h.index.Records(id)
}

// PendingRecords are the stream's files accepted and not yet archived.
func (h *Host) PendingRecords(id catalog.StreamID) ([]catalog.Record, error) {
	return h.index.Pending(id)
}

// IndexedStreams are the streams the index holds, live or ended.
func (h *Host) IndexedStreams() ([]catalog.StreamID, error) { return h.index.Streams() }

// EndStream starts a stream's teardown: its final manifest is published
// once its last segments are in (streams.Streams.End).
func (h *Host) EndStream(id catalog.StreamID) { h.streams.End(id) }

// Sweep applies the stream keeper's publish, idle and teardown rules once,
// as its every tick does, and returns when what it started has finished:
// a caller sees what one sweep does, or that it leaves a stream alone,
// without waiting for ticks.
func (h *Host) Sweep(ctx context.Context) { h.streams.Sweep(ctx) }

// OpenStreams is how many streams the stream keeper holds: live ones and
// ended ones until their final publish.
func (h *Host) OpenStreams() int { return h.streams.Len() }

// Start runs the spool writer, the dispatcher and the stream keeper.
func (h *Host) Start(ctx context.Context) error {
	ctx, h.cancel = context.WithCancel(ctx)
	if err := h.spool.Start(ctx); err != nil {
		h.cancel()
		return fmt.Errorf("host: %w", err)
	}
	// A crash between the index's record of a segment and the spool's
	// write leaves a record no job will ever complete.
	held := h.spool.Held()
	if err := h.streams.Reconcile(ctx, func(id catalog.StreamID, seq int64) bool {
		return held[spool.Segment{Sender: id.Sender, ManifestID: archiver.ManifestID(id.ManifestID), Seq: seq}]
	}); err != nil {
		h.cancel()
		return fmt.Errorf("host: %w", err)
	}
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		errc := make(chan error, 2)
		go func() { errc <- h.service.Run(ctx, h.results) }()
		go func() { errc <- h.streams.Run(ctx) }()
		for range 2 {
			if err := <-errc; err != nil {
				h.log.Error("host component stopped", "error", err)
			}
		}
	}()
	return nil
}

// Close stops everything and closes the spool and the index. Accepted jobs
// stay in the spool for the next Open.
func (h *Host) Close() error {
	h.service.Close() // no report is recorded half-way, in the index but not the spool
	if h.done != nil {
		// Segments submitted just before Close reach the spool while its
		// writer still runs.
		h.streams.StopIntake()
	}
	if h.cancel != nil {
		h.cancel()
		<-h.done
	}
	return errors.Join(h.spool.Close(), h.index.Close())
}
