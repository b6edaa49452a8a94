package plugin

import (
	"context"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Deposit lookups: how long a deposit read from the chain is used, and how
// long a session's first lookup may take (it happens when a broadcaster
// asks for the orchestrator's info, before any segment).
const (
	depositTTL     = 30 * time.Second
	depositTimeout = 5 * time.Second
	// maxDeposits bounds the cache: past it, entries unused for ten TTLs
	// are dropped (a dropped sender's next session looks it up again).
	maxDeposits = 4096
)

// deposits caches broadcasters' TicketBroker deposits for
// -archiveMinDeposit: the decision to archive a segment reads only the
// cache. A sender's first lookup waits (GetOrchestrator, session setup);
// later ones refresh in the background once the value is older than
// depositTTL.
type deposits struct {
	fetch func(ctx context.Context, addr common.Address) (*big.Int, error)

	mu sync.Mutex
	m  map[common.Address]*deposit
}

type deposit struct {
	value   *big.Int  // nil until read
	at      time.Time // when value was read
	used    time.Time // last refresh
	loading bool
	tried   bool // a lookup was made: later ones never wait
}

func newDeposits(fetch func(context.Context, common.Address) (*big.Int, error)) *deposits {
	return &deposits{fetch: fetch, m: map[common.Address]*deposit{}}
}

// Deposit is the sender's deposit as last read.
func (d *deposits) Deposit(addr common.Address) (*big.Int, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.m[addr]; e != nil && e.value != nil {
		return new(big.Int).Set(e.value), true
	}
	return nil, false
}

// refresh reads the sender's deposit: the first time waiting for it, later
// (stale, or the first read failed) in the background, so that a chain
// that does not answer never holds up a segment's reply.
func (d *deposits) refresh(ctx context.Context, addr common.Address) {
	d.mu.Lock()
	e := d.m[addr]
	if e == nil {
		d.prune()
		e = &deposit{}
		d.m[addr] = e
	}
	e.used = time.Now()
	if e.loading || (e.value != nil && time.Since(e.at) < depositTTL) {
		d.mu.Unlock()
		return
	}
	e.loading = true
	tried := e.tried
	e.tried = true
	d.mu.Unlock()
	if tried {
		go d.load(context.WithoutCancel(ctx), addr)
		return
	}
	d.load(ctx, addr)
}

// prune drops entries unused for ten TTLs once the cache is full; d.mu
// must be held.
func (d *deposits) prune() {
	if len(d.m) < maxDeposits {
		return
	}
	for addr, e := range d.m {
		if !e.loading && time.Since(e.used) > 10*depositTTL {
			delete(d.m, addr)
		}
	}
}

func (d *deposits) load(ctx context.Context, addr common.Address) {
	ctx, cancel := context.WithTimeout(ctx, depositTimeout)
	defer cancel()
	v, err := d.fetch(ctx, addr)
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.m[addr]
	e.loading = false
	if err == nil && v != nil {
		e.value, e.at = v, time.Now()
	}
}
