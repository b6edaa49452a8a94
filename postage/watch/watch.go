// Package watch keeps an eye on the postage batches archives are stamped
// with. A batch that runs out of balance expires, and Swarm then drops the
// chunks it paid for: an archive dies silently. So the watcher samples each
// batch's time to live, raises a metric and a warning log well before it
// runs out, and, when the operator opts in, tops the batch up itself
// within a spending cap that survives restarts.
package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Batch is what the watcher needs to know of a batch.
type Batch struct {
	ID    string
	Depth uint8
	// TTL is the time until the batch's balance runs out at today's price.
	TTL time.Duration
	// Price is the current storage price, PLUR per chunk per block.
	Price *big.Int
	// Utilization of the fullest bucket, 0 to 1; negative when unknown
	// (Bee does not know how full a client-stamped batch is).
	Utilization float64
}

// Source reads a batch's status.
type Source interface {
	Batch(ctx context.Context, id string) (Batch, error)
}

// TopUpper adds amount PLUR per chunk to a batch's balance and returns the
// transaction hash. An implementation that knows the transaction was not
// sent wraps ErrNotSent, so the watcher gives the money back to the cap.
type TopUpper interface {
	TopUp(ctx context.Context, id string, amountPerChunk *big.Int) (string, error)
}

// ErrNotSent marks a top-up that certainly did not reach the chain.
var ErrNotSent = errors.New("top-up not sent")

// ErrCapReached: a top-up would spend more than the cap allows.
var ErrCapReached = errors.New("top-up spending cap reached")

// Config configures a Watcher.
type Config struct {
	// Interval between samples of every batch; default one minute.
	Interval time.Duration
	// WarnBelow is the TTL under which the batch is reported as expiring
	// (metric and warning log); default seven days, time enough for an
	// operator to top up by hand.
	WarnBelow time.Duration
	// TopUp, when set, tops batches up automatically.
	TopUp *TopUpConfig
	// OnSample, when set, gets every successful sample (e.g. to feed other
	// metrics).
	OnSample func(Batch)
	// Registerer gets the watcher's metrics; nil registers none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// TopUpConfig is the opt-in automatic top-up.
type TopUpConfig struct {
	TopUpper TopUpper
	// Below is the TTL under which a batch is topped up; default the
	// warning threshold.
	Below time.Duration
	// Add is the TTL one top-up buys, at the current price.
	Add time.Duration
	// Cap is the most PLUR all automatic top-ups together may spend (the
	// amount per chunk times 2^depth each), over the life of Ledger.
	Cap *big.Int
	// Ledger is the file that keeps what was spent, so a restart does not
	// reset the cap.
	Ledger string
	// Settle is how long to wait after a top-up of a batch before another:
	// the node sees the new balance only some blocks later. Default ten
	// minutes.
	Settle time.Duration
	// BlockTime is the postage chain's block time, which prices are per;
	// default five seconds, Gnosis Chain's (Bee's --block-time).
	BlockTime time.Duration
}

// Watcher samples batches and acts on what it sees. Its methods are safe
// for concurrent use.
type Watcher struct {
	src     Source
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	ledger  *ledger // nil without automatic top-up

	mu      sync.Mutex
	batches map[string]time.Time // watched ids → time of the last top-up
}

// New returns a watcher reading batches from src.
func New(src Source, cfg Config) (*Watcher, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.WarnBelow <= 0 {
		cfg.WarnBelow = 7 * 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{src: src, cfg: cfg, log: cfg.Logger, batches: map[string]time.Time{}}
	if t := cfg.TopUp; t != nil {
		switch {
		case t.TopUpper == nil:
			return nil, errors.New("watch: automatic top-up needs a TopUpper")
		case t.Add <= 0:
			return nil, errors.New("watch: automatic top-up needs the TTL to add")
		case t.Cap == nil || t.Cap.Sign() <= 0:
			return nil, errors.New("watch: automatic top-up needs a positive spending cap")
		case t.Ledger == "":
			return nil, errors.New("watch: automatic top-up needs a ledger file")
		}
		if t.Below <= 0 {
			t.Below = cfg.WarnBelow
		}
		if t.Settle <= 0 {
			t.Settle = 10 * time.Minute
		}
		if t.BlockTime <= 0 {
			t.BlockTime = 5 * time.Second
		}
		l, err := openLedger(t.Ledger)
		if err != nil {
			return nil, err
		}
		w.ledger = l
	}
	w.metrics = newMetrics(cfg.Registerer)
	if w.ledger != nil {
		w.metrics.capLeft(new(big.Int).Sub(cfg.TopUp.Cap, w.ledger.spent()))
	}
	return w, nil
}

// Add starts watching a batch; adding one already watched does nothing.
func (w *Watcher) Add(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.batches[id]; !ok {
		w.batches[id] = time.Time{}
	}
}

// Run samples every watched batch each interval until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	tick := time.NewTicker(w.cfg.Interval)
	defer tick.Stop()
	for {
		_ = w.Check(ctx) // Check logs what fails
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Check samples every watched batch once: metrics, warnings, top-ups. It
// returns the errors met, joined.
func (w *Watcher) Check(ctx context.Context) error {
	w.mu.Lock()
	ids := make([]string, 0, len(w.batches))
	for id := range w.batches {
		ids = append(ids, id)
	}
	w.mu.Unlock()
	var errs []error
	for _, id := range ids {
		if err := w.check(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("batch %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

func (w *Watcher) check(ctx context.Context, id string) error {
	b, err := w.src.Batch(ctx, id)
	if err != nil {
		w.log.Warn("postage batch status unavailable", "batch", id, "error", err)
		return err
	}
	if w.cfg.OnSample != nil {
		w.cfg.OnSample(b)
	}
	expiring := b.TTL < w.cfg.WarnBelow
	w.metrics.sample(id, b.TTL, expiring)
	if !expiring {
		return nil
	}
	w.log.Warn("postage batch expires soon: top it up (archiver-node postage topup) or its archives are lost",
		"batch", id, "ttl", b.TTL.Round(time.Second).String(), "warnBelow", w.cfg.WarnBelow.String(),
		"autoTopUp", w.ledger != nil)
	if w.ledger == nil || b.TTL >= w.cfg.TopUp.Below {
		return nil
	}
	return w.topUp(ctx, b)
}

// topUp buys cfg.TopUp.Add more TTL for b unless a top-up of it is still
// settling or the cap forbids it.
func (w *Watcher) topUp(ctx context.Context, b Batch) error {
	t := w.cfg.TopUp
	w.mu.Lock()
	last := w.batches[b.ID]
	w.mu.Unlock()
	if !last.IsZero() && time.Since(last) < t.Settle {
		return nil
	}
	amount, err := Amount(b, t.Add, t.BlockTime)
	if err != nil {
		return err
	}
	cost := Cost(amount, b.Depth)
	if err := w.ledger.reserve(b.ID, amount, cost, t.Cap); err != nil {
		w.metrics.topUp(b.ID, "capped")
		w.log.Error("postage batch not topped up: the spending cap would be exceeded",
			"batch", b.ID, "cost", cost.String(), "spent", w.ledger.spent().String(), "cap", t.Cap.String(), "error", err)
		return err
	}
	w.mu.Lock()
	w.batches[b.ID] = time.Now()
	w.mu.Unlock()
	tx, err := t.TopUpper.TopUp(ctx, b.ID, amount)
	if err != nil {
		if errors.Is(err, ErrNotSent) {
			if rerr := w.ledger.release(b.ID, cost); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		w.metrics.topUp(b.ID, "failed")
		w.metrics.capLeft(new(big.Int).Sub(t.Cap, w.ledger.spent()))
		w.log.Error("postage batch top-up failed", "batch", b.ID, "amount", amount.String(), "error", err)
		return fmt.Errorf("top-up: %w", err)
	}
	if err := w.ledger.confirm(b.ID, tx); err != nil {
		w.log.Error("recording a top-up", "batch", b.ID, "tx", tx, "error", err)
	}
	w.metrics.topUp(b.ID, "sent")
	w.metrics.capLeft(new(big.Int).Sub(t.Cap, w.ledger.spent()))
	w.log.Info("postage batch topped up", "batch", b.ID, "amountPerChunk", amount.String(), "cost", cost.String(),
		"tx", tx, "spent", w.ledger.spent().String(), "cap", t.Cap.String())
	return nil
}

// Spent is the PLUR spent on automatic top-ups so far (zero without them).
func (w *Watcher) Spent() *big.Int {
	if w.ledger == nil {
		return new(big.Int)
	}
	return w.ledger.spent()
}

// Amount is the PLUR per chunk that buys add more TTL for b at its current
// price: whole blocks of blockTime, rounded up.
func Amount(b Batch, add, blockTime time.Duration) (*big.Int, error) {
	switch {
	case b.Price == nil || b.Price.Sign() <= 0:
		return nil, fmt.Errorf("watch: batch %s: no current price", b.ID)
	case blockTime <= 0:
		return nil, fmt.Errorf("watch: block time %v: must be positive", blockTime)
	case b.TTL <= 0:
		return nil, fmt.Errorf("watch: batch %s has expired: it cannot be topped up", b.ID)
	}
	blocks := (add + blockTime - 1) / blockTime
	return new(big.Int).Mul(big.NewInt(int64(blocks)), b.Price), nil
}

// Cost is what a top-up of amount PLUR per chunk costs a batch of the
// given depth: every one of its 2^depth chunks is paid for.
func Cost(amountPerChunk *big.Int, depth uint8) *big.Int {
	return new(big.Int).Lsh(amountPerChunk, uint(depth))
}
