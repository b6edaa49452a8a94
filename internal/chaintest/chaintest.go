package chaintest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver/internal/beetest"
)

// DefaultNetworkID is the Swarm network id of the nodes unless Options say
// otherwise: not one of Bee's known networks (1, 5, 10), so Bee takes its
// settings from the command line and dials no public bootnode.
const DefaultNetworkID = 4020

// Funding of every Bee node at start: ETH for its transactions, BZZ so it
// can buy batches itself (POST /stamps).
const (
	nodeETH = 10
	nodeBZZ = 100
)

// Options configure Start. The zero value works.
type Options struct {
	// NetworkID is the Swarm network id; 0 means DefaultNetworkID.
	NetworkID uint64
	// Logger gets progress and timings; nil discards them.
	Logger *slog.Logger
	// ProcessOutput gets a copy of the output of geth and the Bee nodes,
	// each line tagged with its process. Without it only the last lines are
	// kept, for error messages.
	ProcessOutput io.Writer
}

// Net is a running local Swarm: a geth dev chain with the storage-incentive
// contracts and two linked Bee full nodes out of warm-up. It is safe for
// concurrent use.
type Net struct {
	log       *slog.Logger
	dir       string
	chain     *chain
	dev       *sender // geth's prefunded dev account: deployer, admin, minter
	storage   *storage
	nodes     [2]*beeNode
	mu        sync.Mutex
	senders   map[common.Address]*sender // keys BuyBatch has sent from
	closeOnce sync.Once
	closeErr  error
}

// Start brings the network up: geth, contracts, two Bee nodes, linked. It
// takes about 10 s; ctx bounds the whole start, and every wait
// inside has its own limit whose error ends with the waited-on process's
// last output. A missing geth or Bee binary fails, never skips.
func Start(ctx context.Context, o Options) (_ *Net, err error) {
	gethBin, err := GethBinary()
	if err != nil {
		return nil, err
	}
	beeBin, err := beetest.Binary()
	if err != nil {
		return nil, err
	}
	if o.NetworkID == 0 {
		o.NetworkID = DefaultNetworkID
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "chaintest")
	dir, err := os.MkdirTemp("", "chaintest-")
	if err != nil {
		return nil, fmt.Errorf("chaintest: %w", err)
	}
	n := &Net{log: log, dir: dir, senders: map[common.Address]*sender{}}
	defer func() {
		if err != nil {
			_ = n.Close()
		}
	}()
	began := time.Now()

	// geth and the two `bee init`s (key derivation is deliberately slow)
	// are independent.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		n.chain, err = startGeth(gctx, gethBin, filepath.Join(dir, "geth"), o.ProcessOutput)
		return err
	})
	for i, name := range []string{"bee-a", "bee-b"} {
		g.Go(func() (err error) {
			n.nodes[i], err = initBee(gctx, beeBin, name, filepath.Join(dir, name))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	n.dev = newSender(n.chain.eth, n.chain.chainID, n.chain.devKey)
	log.Info("geth up, bee keys made", "rpc", n.chain.url, "elapsed", time.Since(began))

	fundNodes := func(s *storage) ([]pendingTx, error) {
		var txs []pendingTx
		wei := new(big.Int).Mul(big.NewInt(nodeETH), big.NewInt(1e18))
		plur := new(big.Int).Mul(big.NewInt(nodeBZZ), big.NewInt(plurPerBZZ))
		for _, b := range n.nodes {
			h, err := n.dev.transfer(ctx, b.eth, wei)
			if err != nil {
				return nil, err
			}
			txs = append(txs, pendingTx{label: "ETH to " + b.name, hash: h})
			// Mined after the token's creation: same sender, higher nonce.
			if h, err = n.dev.transact(ctx, s.token, gasCall, "mint", b.eth, plur); err != nil {
				return nil, err
			}
			txs = append(txs, pendingTx{label: "BZZ to " + b.name, hash: h})
		}
		return txs, nil
	}
	if n.storage, err = deployStorage(ctx, n.chain, n.dev, o.NetworkID, fundNodes); err != nil {
		return nil, err
	}
	contracts := n.storage.addresses()
	log.Info("contracts deployed, nodes funded", "postage", contracts.PostageStamp,
		"startBlock", contracts.PostageStartBlock, "elapsed", time.Since(began))

	g, gctx = errgroup.WithContext(ctx)
	for i, b := range n.nodes {
		// The second node advertises its loopback address to the first.
		g.Go(func() error {
			return b.start(gctx, beeBin, n.chain.url, contracts, o.NetworkID, i == 1, o.ProcessOutput)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	log.Info("bee nodes up", "a", n.nodes[0].url, "b", n.nodes[1].url, "elapsed", time.Since(began))
	if err := link(ctx, n.nodes[1], n.nodes[0]); err != nil {
		return nil, err
	}
	log.Info("bee nodes linked and warmed up", "elapsed", time.Since(began))
	warnUnreachable(ctx, log, n.nodes[:])
	// The calls above leave keep-alive connections in the shared
	// transport that a caller's first request would reuse; Bee has closed
	// some of them by then, and a POST on one fails with EOF (Go replays
	// only idempotent requests). Callers start on fresh connections.
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	return n, nil
}

// warnUnreachable warns when a node does not consider itself publicly
// reachable. Bee stores a pushed chunk only if AutoNAT calls it reachable,
// which never happens on loopback; otherwise the two nodes bounce every push
// between them until Bee's 30 s push timeout, so each direct upload takes
// 30 s (it still succeeds). Bee's build flag REACHABILITY_OVERRIDE_PUBLIC,
// which Swarm's own local clusters use, makes the nodes public.
func warnUnreachable(ctx context.Context, log *slog.Logger, nodes []*beeNode) {
	for _, b := range nodes {
		r, err := b.reachability(ctx)
		if err == nil && r == "Public" {
			continue
		}
		log.Warn("bee node is not publicly reachable: every direct upload will wait 30 s; build bee with "+
			"-ldflags '-X github.com/ethersphere/bee/v2/pkg/p2p/libp2p.reachabilityOverridePublic=true'",
			"node", b.name, "reachability", r, "err", err)
	}
}

// Nodes returns the API URLs of the two Bee nodes.
func (n *Net) Nodes() []string {
	return []string{n.nodes[0].url, n.nodes[1].url}
}

// RPCURL is the chain's JSON-RPC endpoint.
func (n *Net) RPCURL() string { return n.chain.url }

// Contracts returns the deployed contracts' addresses.
func (n *Net) Contracts() Contracts { return n.storage.addresses() }

// NodeAddress returns the chain address of Bee node i (0 or 1), the owner
// of the batches it buys.
func (n *Net) NodeAddress(i int) common.Address { return n.nodes[i].eth }

// Close stops the Bee nodes, then geth (SIGINT, then kill), and removes
// their data. It is safe to call more than once.
func (n *Net) Close() error {
	n.closeOnce.Do(func() {
		var wg sync.WaitGroup
		for _, b := range n.nodes {
			if b != nil {
				wg.Go(b.close)
			}
		}
		wg.Wait()
		if n.chain != nil {
			n.chain.close()
		}
		n.closeErr = os.RemoveAll(n.dir)
		if n.closeErr != nil {
			n.closeErr = fmt.Errorf("chaintest: %w", n.closeErr)
		}
	})
	return n.closeErr
}
