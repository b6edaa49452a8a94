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
	Spool   *spool.Spool
	Index   *catalog.Index
	Streams *streams.Streams
	Service *grpcsvc.Server
	Queries *grpcsvc.Queries

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
	if h.Spool, err = spool.Open(filepath.Join(cfg.DataDir, "spool"), cfg.Spool); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	if h.Index, err = catalog.Open(filepath.Join(cfg.DataDir, "index.db")); err != nil {
		return nil, errors.Join(fmt.Errorf("host: %w", err), h.Spool.Close())
	}
	if h.Service, err = grpcsvc.New(h.Spool.Queue(), cfg.Service); err != nil {
		return nil, errors.Join(fmt.Errorf("host: %w", err), h.Spool.Close(), h.Index.Close())
	}
	h.Streams = streams.New(h.Index, h.Service, cfg.Streams)
	h.results = h.Streams
	if cfg.Results != nil {
		h.results = cfg.Results(h.Streams)
	}
	h.Queries = grpcsvc.NewQueries(h.Index, cfg.Offer, cfg.PublicStatus)
	return h, nil
}

// Archiver is what the orchestrator decorator submits segments to.
func (h *Host) Archiver() archiver.Archiver { return h.Streams.Intake(h.Spool) }

// Register adds the workers' service and the broadcasters' queries to a
// gRPC server (go-livepeer's orchestrator serves TLS on its service port).
func (h *Host) Register(s *grpc.Server) {
	archiverpb.RegisterArchiverServiceServer(s, h.Service)
	archiverpb.RegisterArchiveQueriesServer(s, h.Queries)
}

// Start runs the spool writer, the dispatcher and the stream keeper.
func (h *Host) Start(ctx context.Context) error {
	ctx, h.cancel = context.WithCancel(ctx)
	if err := h.Spool.Start(ctx); err != nil {
		h.cancel()
		return fmt.Errorf("host: %w", err)
	}
	// A crash between the index's record of a segment and the spool's
	// write leaves a record no job will ever complete.
	held := h.Spool.Held()
	if err := h.Streams.Reconcile(ctx, func(id catalog.StreamID, seq int64) bool {
		return held[spool.Segment{Sender: id.Sender, ManifestID: archiver.ManifestID(id.ManifestID), Seq: seq}]
	}); err != nil {
		h.cancel()
		return fmt.Errorf("host: %w", err)
	}
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		errc := make(chan error, 2)
		go func() { errc <- h.Service.Run(ctx, h.results) }()
		go func() { errc <- h.Streams.Run(ctx) }()
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
	h.Service.Close() // no report is recorded half-way, in the index but not the spool
	if h.cancel != nil {
		h.cancel()
		<-h.done
	}
	return errors.Join(h.Spool.Close(), h.Index.Close())
}
