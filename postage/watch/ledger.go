package watch

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lpswarm/archiver/internal/durable"
)

// ErrBadLedger: the ledger file exists but cannot be read as one. The
// watcher refuses to start rather than forget what was spent.
var ErrBadLedger = errors.New("top-up ledger unreadable")

// ledger records every automatic top-up before it is sent, durably, so
// that neither a crash nor a restart lets spending pass the cap. A top-up
// whose transaction hash is empty was reserved but not confirmed: it may
// or may not have reached the chain, so it counts as spent.
type ledger struct {
	path string

	mu    sync.Mutex
	state ledgerState
}

type ledgerState struct {
	Spent  string        `json:"spent"` // PLUR, decimal
	TopUps []ledgerEntry `json:"topUps"`
}

type ledgerEntry struct {
	Batch          string    `json:"batch"`
	AmountPerChunk string    `json:"amountPerChunk"`
	Cost           string    `json:"cost"`
	Tx             string    `json:"tx,omitempty"`
	At             time.Time `json:"at"`
}

func openLedger(path string) (*ledger, error) {
	l := &ledger{path: path, state: ledgerState{Spent: "0"}}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := durable.MkdirAll(filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("watch: ledger %s: %w", path, err)
		}
		return l, nil
	case err != nil:
		return nil, fmt.Errorf("watch: ledger %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &l.state); err != nil {
		return nil, fmt.Errorf("watch: %w: %s: %w", ErrBadLedger, path, err)
	}
	if _, ok := new(big.Int).SetString(l.state.Spent, 10); !ok {
		return nil, fmt.Errorf("watch: %w: %s: spent %q is not a number", ErrBadLedger, path, l.state.Spent)
	}
	return l, nil
}

func (l *ledger) spent() *big.Int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.spentLocked()
}

func (l *ledger) spentLocked() *big.Int {
	v, _ := new(big.Int).SetString(l.state.Spent, 10) // checked on open and on every write
	return v
}

// reserve records a top-up about to be sent, or fails with ErrCapReached.
func (l *ledger) reserve(batch string, amount, cost, limit *big.Int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	after := new(big.Int).Add(l.spentLocked(), cost)
	if after.Cmp(limit) > 0 {
		return fmt.Errorf("%w: %s PLUR spent, this top-up costs %s, the cap is %s", ErrCapReached, l.state.Spent, cost, limit)
	}
	next := l.state
	next.Spent = after.String()
	next.TopUps = append(append([]ledgerEntry(nil), l.state.TopUps...),
		ledgerEntry{Batch: batch, AmountPerChunk: amount.String(), Cost: cost.String(), At: time.Now().UTC()})
	return l.write(next)
}

// confirm records the transaction of the batch's pending top-up.
func (l *ledger) confirm(batch, tx string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := l.pending(batch)
	if i < 0 {
		return fmt.Errorf("watch: no pending top-up of batch %s", batch)
	}
	next := l.state
	next.TopUps = append([]ledgerEntry(nil), l.state.TopUps...)
	next.TopUps[i].Tx = tx
	return l.write(next)
}

// release gives back a pending top-up that was certainly not sent.
func (l *ledger) release(batch string, cost *big.Int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := l.pending(batch)
	if i < 0 {
		return fmt.Errorf("watch: no pending top-up of batch %s", batch)
	}
	next := l.state
	next.Spent = new(big.Int).Sub(l.spentLocked(), cost).String()
	next.TopUps = append(append([]ledgerEntry(nil), l.state.TopUps[:i]...), l.state.TopUps[i+1:]...)
	return l.write(next)
}

// pending is the index of the batch's last unconfirmed top-up, or -1.
func (l *ledger) pending(batch string) int {
	for i := len(l.state.TopUps) - 1; i >= 0; i-- {
		if e := l.state.TopUps[i]; e.Batch == batch && e.Tx == "" {
			return i
		}
	}
	return -1
}

// write makes next the durable state; on failure the old state stays.
func (l *ledger) write(next ledgerState) error {
	data, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return fmt.Errorf("watch: ledger: %w", err)
	}
	if err := durable.WriteFile(l.path, append(data, '\n')); err != nil {
		return fmt.Errorf("watch: ledger %s: %w", l.path, err)
	}
	l.state = next
	return nil
}
