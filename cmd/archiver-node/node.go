package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/internal/cliflags"
	"github.com/lpswarm/archiver/internal/version"
	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/upload"
	"github.com/lpswarm/archiver/worker"
)

// nodeConfig is the worker daemon's flags, named as go-livepeer names its
// remote transcoder's (-orchAddr, -capacity, -dataDir); the secret is
// -archiverSecret, as the orchestrator (livepeer-archiver) names it.
type nodeConfig struct {
	orchAddr     string
	secret       string
	orchCertPin  string
	orchInsecure bool
	capacity     int
	beeURL       string
	redundancy   uint
	verify       bool // node stamping: check Bee's references offline
	stamping     stampingConfig
	dataDir      string
	drain        time.Duration
	// postageRecheck: how often a worker out of postage re-checks.
	postageRecheck time.Duration
	metricsAddr    string
	pprof          bool // serve net/http/pprof on metricsAddr
	configFile     string
	verbose        bool
	watch          watchConfig
}

// nodeFlags binds the node command's flags to c.
func nodeFlags(c *nodeConfig, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: archiver-node node [flags]\n\nRuns an archiver worker: registers with an orchestrator, archives the segments it is given to Swarm.")
		fmt.Fprintln(stderr, cliflags.EnvHelp("archiverSecret"))
		fmt.Fprintln(stderr, "Flags can also come from the -config file, one \"flag value\" per line; the command line wins over the environment, which wins over the file.")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.orchAddr, "orchAddr", "", "orchestrator's archiver service, host:port")
	fs.StringVar(&c.secret, "archiverSecret", "", "shared secret the orchestrator expects (its -archiverSecret)")
	fs.StringVar(&c.orchCertPin, "orchCertPin", "", "hex SHA-256 of the orchestrator's TLS certificate (go-livepeer orchestrators use self-signed certificates)")
	fs.BoolVar(&c.orchInsecure, "orchInsecure", false, "accept any orchestrator certificate (tests only)")
	fs.IntVar(&c.capacity, "capacity", 4, "segments archived at once (manifest publishes run beside them, 1 + capacity/4 at once)")
	fs.StringVar(&c.beeURL, "bee", "http://127.0.0.1:1633", "Bee API URL")
	fs.UintVar(&c.redundancy, "redundancy", uint(redundancy.MEDIUM), "Swarm-Redundancy-Level 0-4; must match the orchestrator's")
	fs.BoolVar(&c.verify, "verify", true, "node stamping: check the reference Bee answers against the file's own, as the orchestrator computed it or, when it sends none, as computed here (false: trust Bee; the orchestrator checks every reference anyway)")
	fs.StringVar(&c.stamping.batches, "postageBatch", "", "postage batch id(s), comma-separated, used in order: the next once one is full (node stamping: immutable batches only; client stamping gets its batch from the orchestrator's lease)")
	fs.DurationVar(&c.postageRecheck, "postageRecheck", time.Minute, "when every batch is full, take no jobs and ask again this often whether one has room (Bee; with client stamping, the orchestrator whether it leases another batch)")
	fs.StringVar(&c.stamping.mode, "stamping", "node", "node (the Bee node stamps) or client (this process stamps with -ethKeystorePath)")
	fs.StringVar(&c.stamping.keyFile, "ethKeystorePath", "", "client stamping: keystore file of the batch owner")
	fs.StringVar(&c.stamping.passwordFile, "ethPassword", "", "client stamping: keystore password, or a file holding it")
	fs.StringVar(&c.dataDir, "dataDir", defaultDataDir(), "worker state: identity and stamp issuer state")
	fs.DurationVar(&c.drain, "drain", 30*time.Second, "on SIGTERM, let in-flight segments finish for this long")
	fs.StringVar(&c.metricsAddr, "metricsAddr", "", "serve Prometheus metrics on this address (host:port), e.g. 127.0.0.1:9090")
	fs.BoolVar(&c.pprof, "pprof", false, "also serve Go's profiles (net/http/pprof) under /debug/pprof/ on -metricsAddr; keep that address private")
	watchFlags(fs, &c.watch)
	fs.StringVar(&c.configFile, "config", "", "file of \"flag value\" lines")
	fs.BoolVar(&c.verbose, "v", false, "verbose logs")
	return fs
}

func parseNode(args []string, stderr io.Writer) (nodeConfig, error) {
	var c nodeConfig
	fs := nodeFlags(&c, stderr)
	if err := flagSurface(fs, stderr, "config").Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %w", errUsage, err)
	}
	c.stamping.stateDir = filepath.Join(c.dataDir, "issuer")
	switch {
	case c.orchAddr == "":
		return c, fmt.Errorf("%w: -orchAddr is required", errUsage)
	case c.secret == "":
		return c, fmt.Errorf("%w: -archiverSecret is required", errUsage)
	case c.capacity < 1:
		return c, fmt.Errorf("%w: -capacity must be at least 1", errUsage)
	case !redundancy.Level(c.redundancy).Validate():
		return c, fmt.Errorf("%w: -redundancy must be 0-4", errUsage)
	case c.pprof && c.metricsAddr == "":
		return c, fmt.Errorf("%w: -pprof serves on -metricsAddr: set -metricsAddr too", errUsage)
	}
	if err := c.stamping.validate(true); err != nil {
		return c, fmt.Errorf("%w: %w", errUsage, err)
	}
	if err := c.watch.validate(c.stamping.mode); err != nil {
		return c, fmt.Errorf("%w: %w", errUsage, err)
	}
	return c, nil
}

func defaultDataDir() string {
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".lpswarm-archiver")
	}
	return ".lpswarm-archiver"
}

func runNode(ctx context.Context, stop <-chan struct{}, args []string, stderr io.Writer) error {
	c, err := parseNode(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	id, err := workerID(c.dataDir)
	if err != nil {
		return err
	}
	client, err := bee.New(c.beeURL)
	if err != nil {
		return err
	}
	var key *ecdsa.PrivateKey
	if c.stamping.mode == "client" {
		if key, err = loadKey(c.stamping.keyFile, c.stamping.passwordFile); err != nil {
			return err
		}
	}
	reg := newRegistry()
	metrics := worker.NewMetrics(reg)
	watcher, err := newWatcher(ctx, c.watch, c.stamping.mode, c.dataDir, client, key, metrics, reg, log)
	if err != nil {
		return err
	}
	upCfg := upload.Config{Redundancy: redundancy.Level(c.redundancy), SkipVerify: !c.verify}
	var up worker.Uploader
	var onLease func(*archiverpb.StampLease) (worker.Uploader, error)
	closeUp := func() error { return nil }
	if c.stamping.mode == "client" {
		onLease = func(l *archiverpb.StampLease) (worker.Uploader, error) {
			if err := closeUp(); err != nil { // a new lease replaces the old issuer
				return nil, err
			}
			u, closer, err := clientUploader(ctx, client, key, []string{hex.EncodeToString(l.GetBatchId())},
				postage.Lease{From: l.GetCounterFrom(), To: l.GetCounterTo()}, c.stamping.stateDir, upCfg)
			if err != nil {
				return nil, err
			}
			closeUp = closer
			watcher.Add(hex.EncodeToString(l.GetBatchId()))
			return u, nil
		}
	} else {
		u, closer, err := newUploader(ctx, client, c.stamping, upCfg)
		if err != nil {
			return err
		}
		up, closeUp = u, closer
		for _, id := range c.stamping.ids() {
			watcher.Add(id)
		}
	}
	go watcher.Run(ctx)
	defer func() {
		if err := closeUp(); err != nil {
			log.Error("closing the stamp issuer", "error", err)
		}
	}()
	creds, err := transportCredentials(c.orchCertPin, c.orchInsecure)
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(c.orchAddr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return fmt.Errorf("orchestrator %s: %w", c.orchAddr, err)
	}
	defer conn.Close()
	if c.metricsAddr != "" {
		_, stopMetrics, err := serveMetrics(c.metricsAddr, reg, c.pprof, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	w, err := worker.New(conn, up, worker.Config{ID: id, Secret: c.secret, Capacity: c.capacity,
		Version: "archiver-node " + version.Read().Short(), Drain: c.drain, PostageRecheck: c.postageRecheck, OnLease: onLease, Metrics: metrics, Logger: log.With("worker", id)})
	if err != nil {
		return err
	}
	log.Info("archiver worker starting", "worker", id, "orchestrator", c.orchAddr, "capacity", c.capacity, "bee", c.beeURL)
	return w.Run(ctx, stop)
}

// workerID is this worker's stable identity, kept in the data directory so
// a restarted worker is recognised.
func workerID(dataDir string) (string, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("-dataDir: %w", err)
	}
	p := filepath.Join(dataDir, "worker-id")
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	host, _ := os.Hostname()
	id := fmt.Sprintf("%s-%d", host, time.Now().UnixNano())
	if err := os.WriteFile(p, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("-dataDir: %w", err)
	}
	return id, nil
}

// transportCredentials is TLS to the orchestrator: pinned to a certificate
// hash (go-livepeer orchestrators present self-signed certificates),
// unchecked when insecure is set (tests), else verified by the system.
func transportCredentials(pin string, insecure bool) (credentials.TransportCredentials, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case pin != "":
		want, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(pin), "sha256:"))
		if err != nil || len(want) != sha256.Size {
			return nil, fmt.Errorf("%w: -orchCertPin must be 64 hex digits", errUsage)
		}
		cfg.InsecureSkipVerify = true // replaced by the pin check below
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) > 0 {
				if got := sha256.Sum256(raw[0]); bytes.Equal(got[:], want) {
					return nil
				}
			}
			return errors.New("orchestrator certificate does not match -orchCertPin")
		}
	case insecure:
		cfg.InsecureSkipVerify = true
	}
	return credentials.NewTLS(cfg), nil
}
