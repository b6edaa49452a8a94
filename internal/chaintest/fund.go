package chaintest

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Fund sends addr ethWei from the dev account and mints it plur BZZ (PLUR),
// and waits until both are mined. A nil or zero amount is not sent.
func (n *Net) Fund(ctx context.Context, addr common.Address, ethWei, plur *big.Int) error {
	var txs []pendingTx
	if ethWei != nil && ethWei.Sign() > 0 {
		h, err := n.dev.transfer(ctx, addr, ethWei)
		if err != nil {
			return err
		}
		txs = append(txs, pendingTx{label: "ETH to " + addr.Hex(), hash: h})
	}
	if plur != nil && plur.Sign() > 0 {
		h, err := n.dev.transact(ctx, n.storage.token, gasCall, "mint", addr, plur)
		if err != nil {
			return err
		}
		txs = append(txs, pendingTx{label: "BZZ to " + addr.Hex(), hash: h})
	}
	_, err := n.chain.waitMined(ctx, txs...)
	return err
}

// StartChain starts only the chain of a local Swarm: geth with the
// storage-incentive contracts deployed and the price set, no Bee nodes
// (about 4 s instead of 10). For tests of code that talks to the contracts
// alone: Nodes and NodeAddress need the nodes and must not be used; Fund,
// BuyBatch (which then waits for no node), BatchOwner, RPCURL and Contracts
// work.
func StartChain(ctx context.Context, o Options) (_ *Net, err error) {
	gethBin, err := GethBinary()
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
	if n.chain, err = startGeth(ctx, gethBin, filepath.Join(dir, "geth"), o.ProcessOutput); err != nil {
		return nil, err
	}
	n.dev = newSender(n.chain.eth, n.chain.chainID, n.chain.devKey)
	if n.storage, err = deployStorage(ctx, n.chain, n.dev, o.NetworkID, nil); err != nil {
		return nil, err
	}
	log.Info("chain up, contracts deployed", "rpc", n.chain.url, "postage", n.storage.postage.addr, "elapsed", time.Since(began))
	return n, nil
}
