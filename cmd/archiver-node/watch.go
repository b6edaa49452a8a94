package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/postage/onchain"
	"github.com/lpswarm/archiver/postage/watch"
	"github.com/lpswarm/archiver/worker"
)

// watchConfig is the batch TTL watch: a warning before a batch expires and
// the opt-in automatic top-up.
type watchConfig struct {
	warnBelow time.Duration
	topUpAdd  time.Duration
	topUpCap  string // PLUR
	blockTime time.Duration
	interval  time.Duration
	ethURL    string // postage chain, for batches the operator's key owns
	contract  string
}

func watchFlags(fs *flag.FlagSet, c *watchConfig) {
	fs.DurationVar(&c.warnBelow, "postageWarnTTL", 7*24*time.Hour,
		"warn (log and archiver_postage_batch_expiring metric) when a batch has less than this to live")
	fs.DurationVar(&c.topUpAdd, "postageTopupTTL", 0,
		"automatic top-up: when a batch is under -postageWarnTTL, buy this much more TTL (0: never top up)")
	fs.StringVar(&c.topUpCap, "postageTopupCap", "",
		"automatic top-up: the most PLUR all top-ups together may spend (1 xBZZ = 1e16 PLUR); required with -postageTopupTTL")
	fs.DurationVar(&c.blockTime, "postageBlockTime", postage.GnosisBlockTime, "block time of the postage chain (Gnosis: 5s)")
	fs.StringVar(&c.ethURL, "postageEthUrl", "", "client stamping: JSON-RPC URL of the postage chain (Gnosis Chain), to watch the key's batches on the contract and top them up from the key; go-livepeer's -ethUrl stays Arbitrum")
	fs.StringVar(&c.contract, "postageContract", onchain.GnosisPostageStampAddress, "PostageStamp contract address on that chain")
	fs.DurationVar(&c.interval, "postageWatchInterval", time.Minute, "how often batches are checked")
}

// validate checks the flags for the stamping mode.
func (c watchConfig) validate(mode string) error {
	if c.topUpAdd < 0 || c.warnBelow < 0 || c.blockTime <= 0 || c.interval <= 0 {
		return errors.New("postage watch durations must be positive")
	}
	if c.topUpAdd == 0 {
		if c.topUpCap != "" {
			return errors.New("-postageTopupCap needs -postageTopupTTL")
		}
		return nil
	}
	if mode == "client" && c.ethURL == "" {
		return errors.New("automatic top-up of batches the operator's key owns needs -postageEthUrl")
	}
	_, err := c.capPLUR()
	return err
}

func (c watchConfig) capPLUR() (*big.Int, error) {
	v, ok := new(big.Int).SetString(c.topUpCap, 10)
	if !ok || v.Sign() <= 0 {
		return nil, fmt.Errorf("-postageTopupCap %q: want a positive number of PLUR", c.topUpCap)
	}
	return v, nil
}

// newWatcher builds the watch of the batches the worker stamps with: the
// node's own (node stamping) or the operator key's (client stamping). The
// top-up ledger lives in the data directory, so a restart keeps the cap.
func newWatcher(ctx context.Context, c watchConfig, mode, dataDir string, client *bee.Client, key *ecdsa.PrivateKey,
	m *worker.Metrics, reg prometheus.Registerer, log *slog.Logger) (*watch.Watcher, error) {
	var src watch.Source = watch.NodeBatches{Client: client}
	var topUpper watch.TopUpper = watch.NodeTopUp{Client: client}
	if mode == "client" {
		src, topUpper = watch.ChainBatches{Client: client}, nil
		if c.ethURL != "" {
			chain, err := postageChain(ctx, c.ethURL, c.contract, c.blockTime, key, log)
			if err != nil {
				return nil, err
			}
			src, topUpper = watch.ContractBatches{Client: chain}, watch.ContractTopUp{Client: chain}
		}
	}
	cfg := watch.Config{Interval: c.interval, WarnBelow: c.warnBelow, Registerer: reg, Logger: log,
		OnSample: func(b watch.Batch) {
			m.BatchTTL(b.ID, b.TTL)
			if b.Utilization >= 0 {
				m.BatchUtilization(b.ID, b.Utilization)
			}
		}}
	if c.topUpAdd > 0 {
		limit, err := c.capPLUR()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errUsage, err)
		}
		cfg.TopUp = &watch.TopUpConfig{TopUpper: topUpper, Add: c.topUpAdd, Cap: limit,
			Ledger: filepath.Join(dataDir, "topups.json"), BlockTime: c.blockTime}
	}
	return watch.New(src, cfg)
}
