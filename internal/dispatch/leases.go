package dispatch

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/lpswarm/archiver/internal/durable"
)

// ErrNoLease: every counter range of the shared batch is leased.
var ErrNoLease = errors.New("no free stamp lease")

// LeaseConfig makes workers with client-side stamping share one batch:
// each worker gets, for good, its own range of counters in every bucket, so
// two workers never produce the same batch index. The table is durable: a
// restarted orchestrator gives every worker back the range it had, and a
// range once given is never given to another worker.
type LeaseConfig struct {
	Batch          [32]byte
	BucketCapacity uint32 // 2^(depth − bucket depth) of the batch
	Slot           uint32 // counters per worker
	Path           string // the table file
}

// Lease is a worker's range of counters, [From, To), in every bucket of
// the batch.
type Lease struct {
	Batch    [32]byte
	From, To uint32
}

// LeaseTable assigns slots to worker ids; guarded by its mutex.
type LeaseTable struct {
	cfg LeaseConfig
	mu  sync.Mutex
	doc leaseDoc
}

type leaseDoc struct {
	Batch   string         `json:"batch"`
	Slot    uint32         `json:"slot"`
	Workers map[string]int `json:"workers"` // worker id → slot number
}

// OpenLeases reads the table at cfg.Path, or starts an empty one; a table
// that does not match cfg or is damaged is refused, never reset.
func OpenLeases(cfg LeaseConfig) (*LeaseTable, error) {
	if cfg.Slot == 0 || cfg.Slot > cfg.BucketCapacity {
		return nil, fmt.Errorf("dispatch: lease slot %d must be in 1..%d", cfg.Slot, cfg.BucketCapacity)
	}
	t := &LeaseTable{cfg: cfg, doc: leaseDoc{Batch: hex.EncodeToString(cfg.Batch[:]), Slot: cfg.Slot, Workers: map[string]int{}}}
	data, err := os.ReadFile(cfg.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return t, nil
	case err != nil:
		return nil, fmt.Errorf("dispatch: lease table: %w", err)
	}
	var doc leaseDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("dispatch: lease table %s is damaged (refusing to reissue ranges): %w", cfg.Path, err)
	}
	if doc.Batch != t.doc.Batch || doc.Slot != cfg.Slot {
		return nil, fmt.Errorf("dispatch: lease table %s is for batch %s slot %d, not %s slot %d",
			cfg.Path, doc.Batch, doc.Slot, t.doc.Batch, cfg.Slot)
	}
	// lease hands out slots 0, 1, 2, … and never takes one back. Anything
	// else (a flipped digit still parses) would give two workers one range,
	// or a range outside the buckets.
	taken := make([]bool, len(doc.Workers))
	for w, slot := range doc.Workers {
		if slot < 0 || slot >= len(taken) || taken[slot] {
			return nil, fmt.Errorf("dispatch: lease table %s is damaged (refusing to reissue ranges): worker %q has slot %d of %d",
				cfg.Path, w, slot, len(taken))
		}
		taken[slot] = true
	}
	if uint64(len(taken))*uint64(cfg.Slot) > uint64(cfg.BucketCapacity) {
		return nil, fmt.Errorf("dispatch: lease table %s is damaged (refusing to reissue ranges): %d ranges of %d exceed the bucket capacity %d",
			cfg.Path, len(taken), cfg.Slot, cfg.BucketCapacity)
	}
	t.doc = doc
	if t.doc.Workers == nil {
		t.doc.Workers = map[string]int{}
	}
	return t, nil
}

// Lease returns the worker's range, assigning the next free one durably.
func (t *LeaseTable) Lease(worker string) (Lease, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	slot, ok := t.doc.Workers[worker]
	if !ok {
		slot = len(t.doc.Workers)
		if uint64(slot+1)*uint64(t.cfg.Slot) > uint64(t.cfg.BucketCapacity) {
			return Lease{}, fmt.Errorf("dispatch: %w: %d workers hold all ranges", ErrNoLease, slot)
		}
		t.doc.Workers[worker] = slot
		if err := t.save(); err != nil {
			delete(t.doc.Workers, worker)
			return Lease{}, err
		}
	}
	from := uint32(slot) * t.cfg.Slot
	return Lease{Batch: t.cfg.Batch, From: from, To: from + t.cfg.Slot}, nil
}

// save writes the table durably (temp file, fsync, rename, fsync dir).
func (t *LeaseTable) save() error {
	data, err := json.MarshalIndent(t.doc, "", "  ")
	if err != nil {
		return err
	}
	if err := durable.WriteFile(t.cfg.Path, data); err != nil {
		return fmt.Errorf("dispatch: lease table: %w", err)
	}
	return nil
}
