package watch_test

import (
	"bytes"
	"context"
	"log/slog"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/internal/chaintest"
	"github.com/lpswarm/archiver/postage/watch"
)

// TestWatchWarnsAndTopsUpWithinCap runs the watcher against a real local
// chain and Bee node: a node-owned batch with a day to live is reported as
// expiring (metric and log), topped up once by exactly the amount a day
// costs at the chain's price, and then refused a second top-up because the
// cap would be passed — also after a restart, since the ledger is durable.
func TestWatchWarnsAndTopsUpWithinCap(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	net, err := chaintest.Start(ctx, chaintest.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = net.Close() })
	c, err := bee.New(net.Nodes()[0])
	require.NoError(t, err)

	// Just over Bee's minimum of a day's validity: 86400 one-second blocks
	// at 24000 PLUR.
	const depth = 17
	initial := big.NewInt(2_100_000_000)
	began := time.Now()
	id, err := c.BuyBatch(ctx, initial, depth, "watched", false)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		b, err := c.Batch(ctx, id)
		return err == nil && b.Usable && b.BatchTTL > 0
	}, time.Minute, 250*time.Millisecond, "batch %s not usable", id)
	cs, err := c.ChainState(ctx)
	require.NoError(t, err)
	t.Logf("batch usable after %s", time.Since(began).Round(time.Millisecond))

	// One top-up buys a day: 86400 one-second blocks at the current price;
	// the cap allows one and a half.
	amount := new(big.Int).Mul(big.NewInt(86400), cs.CurrentPrice.Int)
	cost := new(big.Int).Lsh(amount, depth)
	limit := new(big.Int).Add(cost, new(big.Int).Rsh(cost, 1))
	ledger := filepath.Join(t.TempDir(), "topups.json")
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	cfg := watch.Config{
		WarnBelow: 7 * 24 * time.Hour,
		TopUp: &watch.TopUpConfig{TopUpper: watch.NodeTopUp{Client: c}, Add: 24 * time.Hour, Cap: limit,
			Ledger: ledger, Settle: time.Nanosecond, BlockTime: time.Second},
		Registerer: reg,
		Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
	}
	w, err := watch.New(watch.NodeBatches{Client: c}, cfg)
	require.NoError(t, err)
	w.Add(id)

	began = time.Now()
	require.NoError(t, w.Check(ctx))
	t.Logf("top-up sent in %s", time.Since(began).Round(time.Millisecond))
	require.Contains(t, logs.String(), "postage batch expires soon")
	require.Contains(t, logs.String(), "postage batch topped up")
	require.Equal(t, 1.0, metric(t, reg, "archiver_postage_batch_expiring", id))
	require.Equal(t, 1.0, metric(t, reg, "archiver_postage_topups_total", id, "sent"))
	require.Equal(t, cost, w.Spent(), "spent exactly 2^depth × the amount per chunk")

	// The node adds the top-up to the batch once the chain event arrives.
	want := new(big.Int).Add(initial, amount)
	require.Eventually(t, func() bool {
		b, err := c.Batch(ctx, id)
		return err == nil && b.Amount.Cmp(want) == 0
	}, time.Minute, 250*time.Millisecond, "batch amount never reached %s", want)
	t.Logf("top-up seen by the node after %s", time.Since(began).Round(time.Millisecond))
	b, err := c.Batch(ctx, id)
	require.NoError(t, err)
	require.Greater(t, b.BatchTTL, int64(47*3600), "a day was added to a day")

	// Still under the warning threshold, but a second top-up would pass
	// the cap: refused, nothing sent.
	err = w.Check(ctx)
	require.ErrorIs(t, err, watch.ErrCapReached)
	require.Equal(t, 1.0, metric(t, reg, "archiver_postage_topups_total", id, "capped"))
	require.Equal(t, cost, w.Spent())

	// A restarted watcher remembers what was spent.
	cfg.Registerer = nil
	w2, err := watch.New(watch.NodeBatches{Client: c}, cfg)
	require.NoError(t, err)
	w2.Add(id)
	require.ErrorIs(t, w2.Check(ctx), watch.ErrCapReached)
	// A top-up Bee sends is mined before its call returns; the node has
	// applied it once it has processed a few blocks past the chain's tip.
	cs, err = c.ChainState(ctx)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		now, err := c.ChainState(ctx)
		return err == nil && now.Block >= cs.ChainTip+2
	}, time.Minute, 100*time.Millisecond, "the node processes no block past %d", cs.ChainTip)
	b, err = c.Batch(ctx, id)
	require.NoError(t, err)
	require.Equal(t, want.String(), b.Amount.String(), "only one top-up reached the chain")

	// A batch the operator's key owns (client-side stamping) is read from
	// the node's view of the chain; Bee cannot know its utilization.
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	owned, err := net.BuyBatch(ctx, key, 17, big.NewInt(1_000_000_000), true)
	require.NoError(t, err)
	got, err := watch.ChainBatches{Client: c}.Batch(ctx, common.Bytes2Hex(owned[:]))
	require.NoError(t, err)
	require.Equal(t, uint8(17), got.Depth)
	require.Equal(t, -1.0, got.Utilization)
	require.Equal(t, cs.CurrentPrice.Int, got.Price)
	// 1e9 PLUR at 24000 a block of 1 s: at most 41,666 s.
	require.InDelta(t, 41_666, got.TTL.Seconds(), 120)
}

// metric reads one series' value from reg.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i, l := range m.GetLabel() {
				if i >= len(labels) || l.GetValue() != labels[i] {
					continue series
				}
			}
			if m.Gauge != nil {
				return m.Gauge.GetValue()
			}
			return m.Counter.GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}
