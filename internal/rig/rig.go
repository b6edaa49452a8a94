// Package rig builds the orchestrator side that the integration tests, the
// benchmarks and the ramp command run against, in one way: the archiver's
// host (package host, as go-livepeer hosts it) serving its workers over
// gRPC, plain or over TLS as go-livepeer's service port does; or, where
// segments must come over go-livepeer's wire paid with PM tickets, the
// testbed's imitation of go-livepeer around the same host. Around it: the
// archive decorator over a stand-in for go-livepeer's core (Core), workers
// in this process or as archiver-node processes, an HTTP fault gate in
// front of Bee (Gate), and what the tests repeat: submitting jobs, waiting
// for the spool to drain, ending streams for their final manifests, and
// restarting the orchestrator on its data directory.
//
//	r, err := rig.Start(ctx, rig.Config{Dir: dir, Host: hostCfg, TLS: true,
//		Bee: rig.Bee{URL: beeURL, Batch: batch}, NodeBin: bin, Nodes: 2})
//	defer r.Close()
//	err = r.Submit(ctx, jobs...)
//	refs, err := r.Finish(ctx, time.Minute, ids...)
package rig

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	lpnet "github.com/livepeer/go-livepeer/net"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/memstore"
	"github.com/lpswarm/archiver/internal/testbed"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/worker"
)

// Config describes a rig. Dir and Host.Service.Secret are required.
type Config struct {
	// Dir holds what the rig makes: the orchestrator's data directory
	// (unless Host.DataDir names another) and the worker processes'.
	Dir string
	// Host configures the orchestrator side. DataDir defaults to
	// Dir/orchestrator and survives Restart; Service.Secret is the
	// workers' secret; Logger is the rig's (nil discards).
	Host host.Config
	// Addr is where the workers' gRPC service listens, kept across
	// restarts; empty picks a free loopback port.
	Addr string
	// TLS serves the workers over TLS with a self-signed certificate (Pin)
	// as go-livepeer's service port does. archiver-node needs it;
	// in-process workers speak plain gRPC.
	TLS bool
	// ServerOptions are added to the gRPC server's (interceptors).
	ServerOptions []grpc.ServerOption

	// Bee is where the workers store.
	Bee Bee
	// Workers in-process workers start with the rig (AddWorkers adds
	// more), each configured by Worker: its ID is numbered, Secret is the
	// host's; Capacity defaults to 8, MinBackoff to 50 ms.
	Workers int
	Worker  worker.Config
	// NodeBin is the archiver-node binary worker processes run. Nodes of
	// them, each as Node says, start with the rig (StartNode starts more).
	NodeBin string
	Nodes   int
	Node    NodeConfig

	// Decorator, when set, runs the archive decorator over the host with
	// Core as go-livepeer's core, for tests that play segments as
	// go-livepeer's ServeSegment does. CapabilityID defaults to the
	// default Archive bit, Price to 1 wei per 1000 bytes, Logger to the
	// rig's. Restart builds it again over the new host; Core stays.
	Decorator *orchestrator.Config
	// Transcoder makes the renditions for Core or the testbed; nil
	// transcodes with ffmpeg.
	Transcoder testbed.Transcoder
	// Testbed, when set, starts the testbed's go-livepeer orchestrator
	// instead (testbed.StartOrchestrator, which builds the host itself):
	// segments come over go-livepeer's wire, paid with PM tickets. Its
	// DataDir, WorkerSecret, Transcoder and Logger default to the rig's;
	// Host (but for its Service.Secret, DataDir and Logger), Addr, TLS,
	// ServerOptions and Decorator do not apply, nor does Restart.
	Testbed *testbed.OrchestratorConfig
}

// Bee is where the workers store.
type Bee struct {
	// URL is Bee's API, the dev Bee of internal/beetest, say; gates stand
	// in front of it and worker processes upload to it unless told
	// otherwise.
	URL string
	// Batch is the postage batch of node-side stamping.
	Batch string
	// Memory has in-process workers store into an in-memory Bee
	// (memstore, Store) instead of URL.
	Memory bool
}

// Rig is a running orchestrator side with its workers. Its accessors and
// waits are safe for concurrent use, also while Restart swaps the
// orchestrator under them.
type Rig struct {
	cfg  Config
	log  *slog.Logger
	cert tls.Certificate
	pin  string
	core *Core
	tb   *testbed.Orchestrator

	mu      sync.RWMutex // guards the orchestrator side, which Restart replaces
	host    *host.Host
	dec     *orchestrator.Decorator
	addr    string
	stopped bool
	stop    func() error // stops the gRPC server, the decorator and the host

	wmu       sync.Mutex // guards what follows
	workers   []*inproc
	workerSeq int // numbers the in-process workers' IDs
	nodes     []*Node
	gates     []*Gate
	uploader  worker.Uploader // the in-process workers', made once
	beeHTTP   *http.Transport // the in-process workers' connections to Bee
	store     *memstore.Store
	closed    bool
}

// Start starts the orchestrator side and the workers Config asks for, and
// waits until those workers registered. The rig runs until ctx ends or
// Close.
func Start(ctx context.Context, cfg Config) (*Rig, error) {
	if cfg.Dir == "" {
		return nil, errors.New("rig: no Dir")
	}
	if cfg.Host.Service.Secret == "" {
		return nil, errors.New("rig: no workers' secret (Host.Service.Secret)")
	}
	if cfg.Host.Logger == nil {
		cfg.Host.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Host.DataDir = cmp.Or(cfg.Host.DataDir, filepath.Join(cfg.Dir, "orchestrator"))
	r := &Rig{cfg: cfg, log: cfg.Host.Logger}
	if err := r.start(ctx); err != nil {
		return nil, errors.Join(err, r.Close())
	}
	return r, nil
}

func (r *Rig) start(ctx context.Context) error {
	cfg := r.cfg
	if cfg.Testbed != nil {
		tc := *cfg.Testbed
		tc.DataDir = cmp.Or(tc.DataDir, cfg.Host.DataDir)
		tc.WorkerSecret = cmp.Or(tc.WorkerSecret, cfg.Host.Service.Secret)
		if tc.Transcoder == nil {
			tc.Transcoder = cfg.Transcoder
		}
		if tc.Logger == nil {
			tc.Logger = r.log
		}
		r.cfg.Host.Service.Secret = tc.WorkerSecret
		o, err := testbed.StartOrchestrator(ctx, tc)
		if err != nil {
			return fmt.Errorf("rig: %w", err)
		}
		r.tb, r.host, r.dec, r.addr, r.pin = o, o.Host, o.Decorator(), o.RPCAddr, o.CertPin
		r.stop = o.Close
	} else {
		if cfg.TLS {
			var err error
			if r.cert, r.pin, err = testbed.SelfSigned(); err != nil {
				return fmt.Errorf("rig: %w", err)
			}
		}
		if cfg.Decorator != nil {
			r.core = NewCore(cfg.Transcoder)
		}
		r.addr = cfg.Addr
		if err := r.startOrchestrator(ctx); err != nil {
			return err
		}
	}
	if err := r.AddWorkers(ctx, cfg.Workers); err != nil {
		return err
	}
	for range cfg.Nodes {
		if _, err := r.StartNode(ctx, cfg.Node); err != nil {
			return err
		}
	}
	if cfg.Nodes > 0 {
		return r.WaitWorkers(ctx, cfg.Workers+cfg.Nodes, nodeRegistration)
	}
	return nil
}

// nodeRegistration bounds how long a worker process may take to start and
// register; an in-process one takes inprocRegistration.
const (
	nodeRegistration   = 30 * time.Second
	inprocRegistration = 10 * time.Second
)

// startOrchestrator opens the host on the data directory, starts it and
// the decorator, and serves the workers on r.addr.
func (r *Rig) startOrchestrator(ctx context.Context) error {
	h, err := host.Open(r.cfg.Host)
	if err != nil {
		return fmt.Errorf("rig: %w", err)
	}
	hctx, hcancel := context.WithCancel(ctx)
	if err := h.Start(hctx); err != nil {
		hcancel()
		return errors.Join(fmt.Errorf("rig: %w", err), h.Close())
	}
	stopHost := func() error { hcancel(); return h.Close() }

	var dec *orchestrator.Decorator
	stopDec := func() {}
	if r.cfg.Decorator != nil {
		dc := *r.cfg.Decorator
		if dc.CapabilityID == 0 {
			dc.CapabilityID = capability.DefaultArchiveID
		}
		if dc.Price == nil {
			dc.Price = func() *lpnet.PriceInfo { return &lpnet.PriceInfo{PricePerUnit: 1, PixelsPerUnit: 1000} }
		}
		if dc.Logger == nil {
			dc.Logger = r.log.With("component", "decorator")
		}
		if dec, err = orchestrator.New(r.core, r.core, h.Archiver(), dc); err != nil {
			return errors.Join(fmt.Errorf("rig: %w", err), stopHost())
		}
		dctx, dcancel := context.WithCancel(ctx)
		ddone := make(chan struct{})
		go func() { defer close(ddone); _ = dec.Run(dctx) }() // sessions expire as go-livepeer's balances do
		stopDec = func() { dcancel(); <-ddone }
	}

	opts := slices.Clone(r.cfg.ServerOptions)
	if r.cfg.TLS {
		opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(&r.cert)))
	}
	g := grpc.NewServer(opts...)
	h.Register(g)
	lis, err := net.Listen("tcp", cmp.Or(r.addr, "127.0.0.1:0"))
	if err != nil {
		stopDec()
		return errors.Join(fmt.Errorf("rig: %w", err), stopHost())
	}
	gdone := make(chan struct{})
	go func() { defer close(gdone); _ = g.Serve(lis) }()

	r.mu.Lock()
	defer r.mu.Unlock()
	r.host, r.dec, r.addr, r.stopped = h, dec, lis.Addr().String(), false
	r.stop = func() error {
		g.Stop()
		<-gdone
		stopDec()
		return stopHost()
	}
	return nil
}

// Stop stops the orchestrator side: the gRPC server, the decorator and
// the host, whose accepted jobs stay in the spool. The workers stay and
// try to reconnect; Restart starts the orchestrator again. Host still
// answers for what the stopped one counted.
func (r *Rig) Stop() error {
	r.mu.Lock()
	stop := r.stop
	if r.stopped {
		stop = nil
	}
	r.stopped = true
	r.mu.Unlock()
	if stop == nil {
		return nil
	}
	return stop()
}

// Restart stops the orchestrator side if it runs and starts it again on
// the same data directory and address, after edits to its configuration
// (which later restarts keep).
func (r *Rig) Restart(ctx context.Context, edits ...func(*host.Config)) error {
	if r.tb != nil {
		return errors.New("rig: the testbed's orchestrator does not restart")
	}
	if err := r.Stop(); err != nil {
		return fmt.Errorf("rig: stop: %w", err)
	}
	for _, e := range edits {
		e(&r.cfg.Host)
	}
	return r.startOrchestrator(ctx)
}

// Close stops the workers (in-process ones drain their jobs first, worker
// processes are killed), then the orchestrator side and the gates. It
// reports the in-process workers' errors and the host's; a second Close
// does nothing.
func (r *Rig) Close() error {
	r.wmu.Lock()
	if r.closed {
		r.wmu.Unlock()
		return nil
	}
	r.closed = true
	workers, nodes, gates := r.workers, r.nodes, r.gates
	r.wmu.Unlock()

	var errs []error
	for i := len(workers) - 1; i >= 0; i-- {
		errs = append(errs, workers[i].close())
	}
	for _, n := range nodes {
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	errs = append(errs, r.Stop())
	for _, g := range gates {
		g.Close()
	}
	if r.beeHTTP != nil {
		r.beeHTTP.CloseIdleConnections()
	}
	return errors.Join(errs...)
}

// Host is the orchestrator side now running (or last stopped).
func (r *Rig) Host() *host.Host {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.host
}

// Decorator is the archive decorator now running: Config.Decorator's, or
// the testbed's; nil without either.
func (r *Rig) Decorator() *orchestrator.Decorator {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.dec
}

// Core is the decorator's stand-in for go-livepeer's core; nil without
// Config.Decorator.
func (r *Rig) Core() *Core { return r.core }

// Testbed is the testbed's orchestrator; nil without Config.Testbed.
func (r *Rig) Testbed() *testbed.Orchestrator { return r.tb }

// Addr is the workers' gRPC address.
func (r *Rig) Addr() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.addr
}

// Pin is the hex SHA-256 of the TLS certificate (archiver-node's
// -orchCertPin); empty for plain gRPC.
func (r *Rig) Pin() string { return r.pin }

// Secret is the workers' secret.
func (r *Rig) Secret() string { return r.cfg.Host.Service.Secret }

// Store is the in-memory Bee the in-process workers store into, with
// Bee.Memory, once a worker was added; nil otherwise.
func (r *Rig) Store() *memstore.Store {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	return r.store
}

// Submit hands jobs to the orchestrator side as the decorator does, one
// after another, each once the spool accepted the one before.
func (r *Rig) Submit(ctx context.Context, jobs ...archiver.Job) error {
	in := r.Host().Archiver()
	for _, j := range jobs {
		select {
		case out := <-in.Submit(j):
			if out.Err != nil {
				return fmt.Errorf("rig: %s seq %d: %w", j.ManifestID, j.Seq, out.Err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// WaitDrained waits, up to within, until the spool holds no job, durable
// or on its way to disk.
func (r *Rig) WaitDrained(ctx context.Context, within time.Duration) error {
	err := poll(ctx, within, 20*time.Millisecond, func() bool {
		st := r.Host().SpoolStats()
		return st.Jobs == 0 && st.Pending == 0
	})
	if err != nil {
		return fmt.Errorf("rig: spool not drained: %+v: %w", r.Host().SpoolStats(), err)
	}
	return nil
}

// Finish ends the streams and waits, up to within, for each one's final
// manifest, which it returns.
func (r *Rig) Finish(ctx context.Context, within time.Duration, ids ...catalog.StreamID) (map[catalog.StreamID]swarm.Address, error) {
	h := r.Host()
	for _, id := range ids {
		h.EndStream(id)
	}
	out := make(map[catalog.StreamID]swarm.Address, len(ids))
	err := poll(ctx, within, 20*time.Millisecond, func() bool {
		for _, id := range ids {
			if _, ok := out[id]; ok {
				continue
			}
			info, err := h.StreamInfo(id)
			if err != nil || info.State != catalog.Ended || !info.Published.Final {
				return false
			}
			out[id] = info.Published.Reference
		}
		return true
	})
	if err != nil {
		return out, fmt.Errorf("rig: final manifests of %d of %d streams published: %w", len(out), len(ids), err)
	}
	return out, nil
}

// WaitWorkers waits, up to within, until n workers are registered.
func (r *Rig) WaitWorkers(ctx context.Context, n int, within time.Duration) error {
	if err := poll(ctx, within, 10*time.Millisecond, func() bool { return r.Host().DispatchHeld().Workers == n }); err != nil {
		return fmt.Errorf("rig: %d of %d workers registered after %v: %w", r.Host().DispatchHeld().Workers, n, within, err)
	}
	return nil
}

// CloseIdleConnections closes the in-process workers' idle connections to
// Bee: their buffers are the transport's pool, not the orchestrator's,
// for a test that reads the heap or counts goroutines.
func (r *Rig) CloseIdleConnections() {
	r.wmu.Lock()
	t := r.beeHTTP
	r.wmu.Unlock()
	if t != nil {
		t.CloseIdleConnections()
	}
}

// poll checks cond every interval until it holds; it fails once within
// has passed or ctx ended.
func poll(ctx context.Context, within, every time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	t := time.NewTicker(every)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
