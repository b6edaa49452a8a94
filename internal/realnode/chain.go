package realnode

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/lpswarm/archiver/internal/chaintest"
	"github.com/lpswarm/archiver/internal/freeport"
)

// The one-chain loop's prices, in wei. Ticket parameters are chosen so that
// several tickets win in a 30 s stream: the orchestrator's ticket EV is
// about one segment's transcoding fee, and -maxFaceValue caps the face
// value at twice the EV, so each ticket wins with probability 1/2
// (go-livepeer's default face value, 100 × EV, would make a win a rare
// event). The face value stays above the redemption's gas cost at up to
// 1.4 gwei a gas (350,000 gas), what the dev chain charges.
const (
	TicketEV       = 250_000_000_000_000 // 2.5e14
	MaxFaceValue   = 2 * TicketEV
	PricePerPixel  = 30_000_000  // about one EV for a 2 s segment in two small renditions
	ArchivePerByte = 500_000_000 // a segment's archive fee is about half its transcoding fee
	BatchDepth     = 20
	maxTotalEV     = "100000000000000000"
)

// ChainConfig is the one-chain loop to start.
type ChainConfig struct {
	Dir      string
	Livepeer string // livepeer-archiver
	Worker   string // archiver-node
	Workers  int
	// MinDeposit is the orchestrator's -archiveMinDeposit in wei; empty
	// for none.
	MinDeposit string
	// StockOrchestrator registers a second orchestrator key with the
	// first, for StockOrchestrator: go-livepeer refuses payments to an
	// orchestrator not active in the round, and a key becomes active
	// only the round after it registers.
	StockOrchestrator bool
	Logf              func(format string, args ...any)
}

// ChainLoop is the whole paid loop on one local chain: a geth dev chain
// with Swarm's contracts, two Bee full nodes and the Livepeer protocol; an
// orchestrator key bonded, registered and owning a postage batch; a
// livepeer-archiver orchestrator+transcoder on chain with that key; and
// archiver-node workers stamping client-side with the same key on leased
// ranges of its batch. Broadcasters are added with Broadcaster.
type ChainLoop struct {
	Net      *chaintest.Net
	Livepeer *chaintest.Livepeer
	Gateway  string // the Bee node the workers upload to

	OrchKey     *ecdsa.PrivateKey
	OrchAddr    common.Address
	OrchKeyFile string // its keystore file, which the workers use too
	Batch       [32]byte
	Orch        *Node
	Workers     []*Node

	cfg      ChainConfig
	stockKey *ecdsa.PrivateKey // registered for StockOrchestrator
	stockURI string            // its registered service address
	nodes    []*Node
}

// StartChainLoop starts everything and waits until the orchestrator is in
// the active set and every worker is registered (about 45 s).
func StartChainLoop(ctx context.Context, cfg ChainConfig) (l *ChainLoop, err error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	start := time.Now()
	l = &ChainLoop{cfg: cfg}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if l.Net, err = chaintest.Start(ctx, chaintest.Options{}); err != nil {
		return nil, err
	}
	if l.Livepeer, err = l.Net.DeployLivepeer(ctx, chaintest.LivepeerOptions{}); err != nil {
		return nil, err
	}
	l.Gateway = l.Net.Nodes()[0]
	cfg.Logf("chain, two Bee nodes and the Livepeer protocol up in %.1f s", time.Since(start).Seconds())

	if l.OrchKey, err = l.fundedKey(ctx); err != nil {
		return nil, err
	}
	l.OrchAddr = crypto.PubkeyToAddress(l.OrchKey.PublicKey)
	if l.Batch, err = l.Net.BuyBatch(ctx, l.OrchKey, BatchDepth, big.NewInt(500_000_000), true); err != nil {
		return nil, err
	}
	service, err := l.register(ctx, l.OrchKey)
	if err != nil {
		return nil, err
	}
	if cfg.StockOrchestrator {
		if l.stockKey, err = l.fundedKey(ctx); err != nil {
			return nil, err
		}
		if l.stockURI, err = l.register(ctx, l.stockKey); err != nil {
			return nil, err
		}
	}
	if _, err := l.Livepeer.NextRound(ctx); err != nil {
		return nil, err
	}
	if active, err := l.Livepeer.IsActiveTranscoder(ctx, l.OrchAddr); err != nil || !active {
		return nil, fmt.Errorf("realnode: orchestrator %s not active after a round: %v", l.OrchAddr.Hex(), err)
	}
	cfg.Logf("orchestrator %s bonded, registered and active, %.1f s in", l.OrchAddr.Hex(), time.Since(start).Seconds())

	chain, keyFile, err := l.keystore("orchestrator", l.OrchKey)
	if err != nil {
		return nil, err
	}
	l.OrchKeyFile = keyFile
	const secret = "chain-secret"
	args := append(priceArgs(),
		// Rounds last 20 s here: the orchestrator initializes each at once,
		// not after go-livepeer's random delay (up to 30 s), or its winning
		// tickets could not be redeemed in time.
		"-initializeRound", "-initializeRoundMaxDelay", "0s",
		"-archiver", "-archiverSecret", secret, "-archiveGateway", l.Gateway,
		"-archivePricePerUnit", strconv.Itoa(ArchivePerByte),
		"-archivePostageBatch", hex.EncodeToString(l.Batch[:]), "-archivePostageDepth", strconv.Itoa(BatchDepth),
	)
	if cfg.MinDeposit != "" {
		args = append(args, "-archiveMinDeposit", cfg.MinDeposit)
	}
	if l.Orch, err = StartLivepeer(ctx, LivepeerConfig{Name: "orchestrator", Bin: cfg.Livepeer,
		Dir: filepath.Join(cfg.Dir, "orchestrator"), Orchestrator: true, HTTPAddr: service, Chain: chain, Args: args}); err != nil {
		return nil, err
	}
	l.nodes = append(l.nodes, l.Orch)
	for i := range cfg.Workers {
		name := fmt.Sprintf("worker%d", i+1)
		w, err := StartClientWorker(ctx, cfg.Worker, name, filepath.Join(cfg.Dir, name), l.Orch.Service, secret,
			l.Gateway, keyFile, chain.Password, 2)
		if err != nil {
			return nil, err
		}
		l.Workers = append(l.Workers, w)
		l.nodes = append(l.nodes, w)
		if err := l.Orch.WaitLog(ctx, "worker registered"); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Broadcaster funds a new key (10 ETH for gas, deposit and as much
// reserve in the TicketBroker) and starts a livepeer-archiver broadcaster
// of the orchestrator with it.
func (l *ChainLoop) Broadcaster(ctx context.Context, name string, deposit *big.Int, args ...string) (*Node, *ecdsa.PrivateKey, error) {
	return l.broadcaster(ctx, l.cfg.Livepeer, name, l.Orch.Service, deposit,
		append([]string{"-archiveGateway", l.Gateway}, args...))
}

// StockBroadcaster is Broadcaster for a stock livepeer binary, bin, of the
// orchestrator at orch (a service address), with go-livepeer's metrics on
// (-monitor): what it pays shows on its CLI's /metrics (TicketsSent).
func (l *ChainLoop) StockBroadcaster(ctx context.Context, bin, name, orch string, deposit *big.Int) (*Node, *ecdsa.PrivateKey, error) {
	return l.broadcaster(ctx, bin, name, orch, deposit, []string{"-monitor"})
}

func (l *ChainLoop) broadcaster(ctx context.Context, bin, name, orch string, deposit *big.Int, args []string) (*Node, *ecdsa.PrivateKey, error) {
	key, err := l.fundedKey(ctx)
	if err != nil {
		return nil, nil, err
	}
	chain, _, err := l.keystore(name, key)
	if err != nil {
		return nil, nil, err
	}
	if err := l.Livepeer.FundBroadcaster(ctx, key, deposit, deposit); err != nil {
		return nil, nil, err
	}
	b, err := StartLivepeer(ctx, LivepeerConfig{Name: name, Bin: bin, Dir: filepath.Join(l.cfg.Dir, name),
		OrchAddr: orch, Chain: chain, Args: append([]string{
			"-transcodingOptions", Profiles,
			"-maxTicketEV", strconv.Itoa(MaxFaceValue), "-maxTotalEV", maxTotalEV,
		}, args...)})
	if err != nil {
		return nil, nil, err
	}
	l.nodes = append(l.nodes, b)
	return b, key, nil
}

// StockOrchestrator starts a stock livepeer binary, bin, as an
// orchestrator+transcoder on the chain with the second key
// (ChainConfig.StockOrchestrator), bonded and registered like the loop's
// orchestrator, at its prices and ticket parameters: what a broadcaster
// would pay anywhere else.
func (l *ChainLoop) StockOrchestrator(ctx context.Context, bin, name string) (*Node, error) {
	if l.stockKey == nil {
		return nil, errors.New("realnode: no stock orchestrator key: set ChainConfig.StockOrchestrator")
	}
	chain, _, err := l.keystore(name, l.stockKey)
	if err != nil {
		return nil, err
	}
	o, err := StartLivepeer(ctx, LivepeerConfig{Name: name, Bin: bin, Dir: filepath.Join(l.cfg.Dir, name),
		Orchestrator: true, HTTPAddr: l.stockURI, Chain: chain, Args: priceArgs()})
	if err != nil {
		return nil, err
	}
	l.nodes = append(l.nodes, o)
	return o, nil
}

// register mints LPT to a funded key, bonds it to itself and registers
// it at a free loopback service address, which it returns; the key is an
// active orchestrator from the next round. Fee share 0: it keeps every fee
// as its commission, so what it withdraws is exactly what its tickets won.
func (l *ChainLoop) register(ctx context.Context, key *ecdsa.PrivateKey) (string, error) {
	service, err := freeport.Addr()
	if err != nil {
		return "", err
	}
	stake := ether(1000)
	if err := l.Livepeer.MintLPT(ctx, crypto.PubkeyToAddress(key.PublicKey), stake); err != nil {
		return "", err
	}
	if err := l.Livepeer.ActivateOrchestrator(ctx, key, stake, 0, 0, "https://"+service); err != nil {
		return "", err
	}
	return service, nil
}

// priceArgs are the orchestrators' transcoding price and ticket parameters.
func priceArgs() []string {
	return []string{"-pricePerUnit", strconv.Itoa(PricePerPixel), "-pixelsPerUnit", "1",
		"-ticketEV", strconv.Itoa(TicketEV), "-maxFaceValue", strconv.Itoa(MaxFaceValue)}
}

// fundedKey makes a key with 10 ETH, for gas, deposits and stake.
func (l *ChainLoop) fundedKey(ctx context.Context) (*ecdsa.PrivateKey, error) {
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := l.Net.Fund(ctx, crypto.PubkeyToAddress(key.PublicKey), ether(10), nil); err != nil {
		return nil, err
	}
	return key, nil
}

// keystore writes a node's key as go-livepeer reads it: go-livepeer v0.7.9
// reads only the address from a key file and looks for the key in
// -dataDir/keystore, so it is given a folder holding the key alone.
func (l *ChainLoop) keystore(name string, key *ecdsa.PrivateKey) (*Chain, string, error) {
	ks := filepath.Join(l.cfg.Dir, name+"-keystore")
	keyFile, pw, err := WriteKeystore(ks, key, "pw-"+name)
	if err != nil {
		return nil, "", err
	}
	return &Chain{EthURL: l.Net.RPCURL(), Controller: l.Livepeer.Controller.Hex(), Keystore: ks, Password: pw}, keyFile, nil
}

// Nodes are the running processes, for logs.
func (l *ChainLoop) Nodes() []*Node { return append([]*Node(nil), l.nodes...) }

// Close stops every process, the Bee nodes and the chain.
func (l *ChainLoop) Close() {
	for i := len(l.nodes) - 1; i >= 0; i-- {
		l.nodes[i].Stop(5 * time.Second)
	}
	if l.Net != nil {
		_ = l.Net.Close()
	}
}

func ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }
