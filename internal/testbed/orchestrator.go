package testbed

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	lpnet "github.com/livepeer/go-livepeer/net"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/spool"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/internal/tickets"
	"github.com/lpswarm/archiver/internal/transcode"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/payments"
)

// OrchestratorConfig sets up the testbed orchestrator.
type OrchestratorConfig struct {
	DataDir        string
	WorkerSecret   string
	TranscodePrice *lpnet.PriceInfo // wei per pixel
	ArchivePrice   *lpnet.PriceInfo // wei per byte
	TicketEV       *big.Int
	Redundancy     uint32
	Streams        streams.Config
	// MaxSegmentBytes is the archive offer's limit on a segment (source
	// plus renditions); zero means 64 MiB.
	MaxSegmentBytes int64
	// Policy, when set, restricts which broadcasters may archive.
	Policy *payments.Policy
	// Transcoder, when set, replaces ffmpeg. Benchmarks give one that
	// returns pre-made renditions at once, so that what they time is the
	// orchestrator's own path, not ffmpeg's.
	Transcoder Transcoder
	// AcceptWait is orchestrator.Config.AcceptWait; zero keeps its default.
	AcceptWait time.Duration
	Logger     *slog.Logger
}

// Transcoder makes a segment's renditions in the order of md.Profiles.
type Transcoder func(ctx context.Context, md *orchestrator.SegTranscodingMetadata, source []byte) (*orchestrator.TranscodeData, error)

// Orchestrator is the testbed orchestrator: go-livepeer's RPC surface with
// the archiver plugged in.
type Orchestrator struct {
	lpnet.UnimplementedOrchestratorServer
	key   *ecdsa.PrivateKey
	addr  common.Address
	core  *core
	dec   *orchestrator.Decorator
	Host  *host.Host
	Funds *tickets.Funds
	clock *tickets.Clock
	log   *slog.Logger

	secret   []byte // auth tokens
	stopDec  func() // ends the decorator's session expiry
	grpcSrv  *grpc.Server
	httpSrv  *http.Server
	RPCAddr  string // gRPC: Orchestrator, ArchiverService, ArchiveQueries
	HTTPURL  string // https://…: /segment and renditions
	CertPin  string // hex SHA-256 of the TLS certificate
	profiles []string

	mu         sync.Mutex
	renditions map[string][]byte // /stream/<session>/<profile>/<seq>.ts
}

// Decorator is the archive decorator the orchestrator's replies go
// through (its reply hold histogram, its sessions).
func (o *Orchestrator) Decorator() *orchestrator.Decorator { return o.dec }

// StartOrchestrator starts the orchestrator's servers on loopback.
func StartOrchestrator(ctx context.Context, cfg OrchestratorConfig) (*Orchestrator, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	o := &Orchestrator{key: key, addr: crypto.PubkeyToAddress(key.PublicKey), log: cfg.Logger,
		renditions: map[string][]byte{}, profiles: []string{"P360p30fps16x9", "P240p30fps16x9"}}
	o.secret = make([]byte, 32)
	_, _ = rand.Read(o.secret)
	o.clock = tickets.NewClock(100, common.HexToHash("0xabc1"), 1000)
	o.Funds = tickets.NewFunds(o.addr, o.clock)
	rcp, err := tickets.NewRecipient(tickets.RecipientConfig{Address: o.addr, EV: cfg.TicketEV, RedeemGas: 100_000, TxCostMultiplier: 100,
		Logger: cfg.Logger}, o.Funds, o.clock, tickets.NewGasPriceFeed(big.NewInt(1_000_000_000)))
	if err != nil {
		return nil, err
	}
	o.core = &core{rcp: rcp, price: cfg.TranscodePrice, caps: &lpnet.Capabilities{Bitstring: []uint64{0b1111}},
		profiles: []transcode.Profile{transcode.P360p(), transcode.P240p()}, instant: cfg.Transcoder, balances: map[string]*big.Rat{}}
	if o.Host, err = host.Open(host.Config{DataDir: cfg.DataDir, Spool: spool.Config{MaxBytes: 1 << 30},
		Service: grpcsvc.Config{Secret: cfg.WorkerSecret, Redundancy: redundancy.Level(cfg.Redundancy)},
		Streams: cfg.Streams, PublicStatus: false, Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	if err := o.Host.Start(ctx); err != nil {
		return nil, errors.Join(err, o.Host.Close())
	}
	o.dec, err = orchestrator.New(o.core, o.core, o.Host.Archiver(), orchestrator.Config{
		CapabilityID: capability.DefaultArchiveID, Price: func() *lpnet.PriceInfo { return cfg.ArchivePrice },
		RetentionSeconds: 30 * 24 * 3600, RedundancyLevel: cfg.Redundancy, MaxSegmentBytes: cmp.Or(cfg.MaxSegmentBytes, 64<<20),
		Policy: cfg.Policy, AcceptWait: cfg.AcceptWait, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, errors.Join(err, o.Host.Close())
	}
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = o.dec.Run(dctx) }() // sessions expire as go-livepeer's balances do
	o.stopDec = func() { cancel(); <-done }
	if err := o.serve(); err != nil {
		o.stopDec()
		return nil, errors.Join(err, o.Host.Close())
	}
	return o, nil
}

// serve starts the gRPC and HTTPS listeners with one self-signed
// certificate, as a go-livepeer orchestrator presents.
func (o *Orchestrator) serve() error {
	cert, pin, err := SelfSigned()
	if err != nil {
		return err
	}
	o.CertPin = pin
	o.grpcSrv = grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	lpnet.RegisterOrchestratorServer(o.grpcSrv, o)
	o.Host.Register(o.grpcSrv)
	rpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	o.RPCAddr = rpcLis.Addr().String()
	go func() { _ = o.grpcSrv.Serve(rpcLis) }()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /segment", o.serveSegment)
	mux.HandleFunc("GET /stream/", o.serveRendition)
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	o.HTTPURL = "https://" + httpLis.Addr().String()
	o.httpSrv = &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = o.httpSrv.ServeTLS(httpLis, "", "") }()
	return nil
}

// Address is the orchestrator's Ethereum address (the ticket recipient).
func (o *Orchestrator) Address() common.Address { return o.addr }

// Balance is the session balance as the orchestrator keeps it.
func (o *Orchestrator) Balance(sender common.Address, session string) *big.Rat {
	if b := o.core.Balance(sender, archiver.ManifestID(session)); b != nil {
		return b
	}
	return new(big.Rat)
}

// Close stops the servers and the archiver's orchestrator side.
func (o *Orchestrator) Close() error {
	o.grpcSrv.Stop()
	_ = o.httpSrv.Close()
	o.stopDec()
	return o.Host.Close()
}

// authToken is core's AuthToken: an HMAC over session id and expiry.
func (o *Orchestrator) authToken(session string, expiration int64) *lpnet.AuthToken {
	h := hmac.New(sha256.New, o.secret)
	h.Write([]byte(session))
	h.Write(new(big.Int).SetInt64(expiration).Bytes())
	return &lpnet.AuthToken{Token: h.Sum(nil), SessionId: session, Expiration: expiration}
}

func newSessionID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func renditionKey(session, profile string, seq int64) string {
	return session + "/" + profile + "/" + strconv.FormatInt(seq, 10) + ".ts"
}

// orchestratorInfo is what GetOrchestrator and every reply carry.
func (o *Orchestrator) orchestratorInfo(sender common.Address, session string) (*lpnet.OrchestratorInfo, error) {
	price, err := o.dec.PriceInfo(sender, archiver.ManifestID(session))
	if err != nil {
		return nil, err
	}
	params, err := o.core.rcp.TicketParams(sender, price)
	if err != nil {
		return nil, err
	}
	return &lpnet.OrchestratorInfo{Transcoder: o.HTTPURL, TicketParams: params, PriceInfo: price, Address: o.addr.Bytes(),
		Capabilities: o.dec.Capabilities(), AuthToken: o.authToken(session, time.Now().Add(time.Hour).Unix())}, nil
}

func (o *Orchestrator) String() string {
	return fmt.Sprintf("orchestrator %s at %s", o.addr.Hex(), o.HTTPURL)
}
