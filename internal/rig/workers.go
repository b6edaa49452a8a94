package rig

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/internal/memstore"
	"github.com/lpswarm/archiver/upload"
	"github.com/lpswarm/archiver/worker"
)

// inproc is a worker running in this process.
type inproc struct {
	conn *grpc.ClientConn
	stop chan struct{}
	done chan error
}

// close stops the worker as archiver-node stops on SIGTERM (its jobs in
// flight drain) and closes its connection.
func (w *inproc) close() error {
	close(w.stop)
	return errors.Join(<-w.done, w.conn.Close())
}

// idleConns is how many idle connections to Bee the in-process workers
// keep: one per job slot of the rigs the tests run.
const idleConns = 64

// AddWorkers starts n more in-process workers, configured by
// Config.Worker, and waits until they registered. They run until ctx ends
// or Close.
func (r *Rig) AddWorkers(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	if r.pin != "" {
		return errors.New("rig: in-process workers speak plain gRPC; this rig serves TLS")
	}
	up, err := r.workerUploader()
	if err != nil {
		return err
	}
	had := r.Host().DispatchHeld().Workers
	for range n {
		r.wmu.Lock()
		if r.closed {
			r.wmu.Unlock()
			return errors.New("rig: closed")
		}
		wc := r.cfg.Worker
		wc.ID = fmt.Sprintf("%s-%d", cmp.Or(wc.ID, "worker"), r.workerSeq)
		r.workerSeq++
		r.wmu.Unlock()
		wc.Secret = r.Secret()
		wc.Capacity = cmp.Or(wc.Capacity, 8)
		wc.MinBackoff = cmp.Or(wc.MinBackoff, 50*time.Millisecond)
		if wc.Logger == nil {
			wc.Logger = r.log.With("component", "worker", "worker", wc.ID)
		}
		conn, err := grpc.NewClient(r.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fmt.Errorf("rig: %w", err)
		}
		w, err := worker.New(conn, up, wc)
		if err != nil {
			return errors.Join(fmt.Errorf("rig: %w", err), conn.Close())
		}
		iw := &inproc{conn: conn, stop: make(chan struct{}), done: make(chan error, 1)}
		go func() { iw.done <- w.Run(ctx, iw.stop) }()
		r.wmu.Lock()
		r.workers = append(r.workers, iw)
		r.wmu.Unlock()
	}
	return r.WaitWorkers(ctx, had+n, inprocRegistration)
}

// workerUploader is what the in-process workers store with: node-side
// stamping on Bee.Batch, or the in-memory Bee.
func (r *Rig) workerUploader() (worker.Uploader, error) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.uploader != nil {
		return r.uploader, nil
	}
	level := r.cfg.Host.Service.Redundancy
	if r.cfg.Bee.Memory {
		r.store = memstore.New(level)
		r.uploader = r.store
		return r.uploader, nil
	}
	if r.cfg.Bee.URL == "" || r.cfg.Bee.Batch == "" {
		return nil, errors.New("rig: in-process workers need Bee.URL and Bee.Batch, or Bee.Memory")
	}
	r.beeHTTP = http.DefaultTransport.(*http.Transport).Clone()
	r.beeHTTP.MaxIdleConnsPerHost = idleConns
	client, err := bee.New(r.cfg.Bee.URL, bee.WithHTTPClient(&http.Client{Transport: r.beeHTTP, Timeout: time.Minute}))
	if err != nil {
		return nil, fmt.Errorf("rig: %w", err)
	}
	r.uploader = upload.NodeStamped(client, r.cfg.Bee.Batch, upload.Config{Redundancy: level})
	return r.uploader, nil
}

// NodeConfig is one archiver-node worker process: `archiver-node node`
// with the rig's address, secret and certificate pin, and these.
type NodeConfig struct {
	// Capacity is -capacity; zero means 1.
	Capacity int
	// Bee is -bee; empty means the rig's Bee.URL (a Gate's URL puts a
	// fault in front of it).
	Bee string
	// Batch is -postageBatch; empty means the rig's Bee.Batch, and none
	// with neither (client stamping takes its batch from a lease).
	Batch string
	// Redundancy is -redundancy.
	Redundancy int
	// DataDir is -dataDir; empty means a new directory in the rig's Dir.
	DataDir string
	// Args are further flags.
	Args []string
	// Stdout and Stderr take the process's output; nil discards it.
	Stdout, Stderr io.Writer
}

// Node is a running archiver-node worker process.
type Node struct {
	cmd     *exec.Cmd
	dataDir string
	done    chan struct{}
	err     error // Wait's, once done is closed
}

// Pid is the process id.
func (n *Node) Pid() int { return n.cmd.Process.Pid }

// DataDir is the process's -dataDir.
func (n *Node) DataDir() string { return n.dataDir }

// Kill sends SIGKILL; Wait reaps the process.
func (n *Node) Kill() error { return n.cmd.Process.Kill() }

// Signal sends sig to the process.
func (n *Node) Signal(sig os.Signal) error { return n.cmd.Process.Signal(sig) }

// Wait waits for the process to exit and returns how it did
// (exec.Cmd.Wait's error).
func (n *Node) Wait() error {
	<-n.done
	return n.err
}

// Exited is closed once the process exited.
func (n *Node) Exited() <-chan struct{} { return n.done }

// StartNode starts an archiver-node worker process connected to the rig
// (Config.NodeBin). It does not wait for it to register (WaitWorkers
// does); it is killed when ctx ends or at Close.
func (r *Rig) StartNode(ctx context.Context, nc NodeConfig) (*Node, error) {
	if r.cfg.NodeBin == "" {
		return nil, errors.New("rig: no archiver-node binary (NodeBin)")
	}
	r.wmu.Lock()
	if r.closed {
		r.wmu.Unlock()
		return nil, errors.New("rig: closed")
	}
	seq := len(r.nodes)
	r.wmu.Unlock()
	n := &Node{dataDir: nc.DataDir, done: make(chan struct{})}
	if n.dataDir == "" {
		n.dataDir = filepath.Join(r.cfg.Dir, "node-"+strconv.Itoa(seq))
		if err := os.MkdirAll(n.dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("rig: %w", err)
		}
	}
	args := []string{"node", "-orchAddr", r.Addr(), "-archiverSecret", r.Secret(),
		"-capacity", strconv.Itoa(max(nc.Capacity, 1)), "-bee", cmp.Or(nc.Bee, r.cfg.Bee.URL),
		"-redundancy", strconv.Itoa(nc.Redundancy), "-dataDir", n.dataDir}
	if r.pin != "" {
		args = append(args, "-orchCertPin", r.pin)
	}
	if batch := cmp.Or(nc.Batch, r.cfg.Bee.Batch); batch != "" {
		args = append(args, "-postageBatch", batch)
	}
	n.cmd = exec.CommandContext(ctx, r.cfg.NodeBin, append(args, nc.Args...)...)
	n.cmd.Stdout, n.cmd.Stderr = nc.Stdout, nc.Stderr
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("rig: start archiver-node: %w", err)
	}
	go func() { n.err = n.cmd.Wait(); close(n.done) }()
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.nodes = append(r.nodes, n)
	if r.closed { // Close ran meanwhile and did not see it
		_ = n.Kill()
	}
	return n, nil
}

// Nodes are the worker processes started, in order, exited ones included.
func (r *Rig) Nodes() []*Node {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	return append([]*Node(nil), r.nodes...)
}
