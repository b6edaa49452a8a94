package postage

import (
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/internal/durable"
)

var (
	// ErrBucketFull reports a chunk whose bucket has no free index in any
	// configured batch. The concrete error is a *BucketFullError.
	ErrBucketFull = errors.New("postage bucket full")
	// ErrLocked reports a state directory already used by another issuer.
	ErrLocked = errors.New("issuer state directory is locked")
	// ErrClosed reports use of a closed Issuer.
	ErrClosed = errors.New("issuer closed")
	// ErrKeyMismatch reports a batch not owned by the issuer's key.
	ErrKeyMismatch = errors.New("key does not own batch")
	// ErrUnknownBatch reports a batch ID the issuer was not opened with.
	ErrUnknownBatch = errors.New("batch not configured")
	// ErrInvalidAddress reports a chunk address that is not 32 bytes.
	ErrInvalidAddress = errors.New("invalid chunk address")
)

// BucketFullError reports the first chunk of a Stamp call that did not fit.
type BucketFullError struct {
	Address swarm.Address
	// Bucket is the chunk's bucket under the first configured batch.
	Bucket uint32
}

func (e *BucketFullError) Error() string {
	return fmt.Sprintf("%v: no batch has a free index in bucket %d for chunk %s", ErrBucketFull, e.Bucket, e.Address)
}

// Unwrap makes errors.Is(err, ErrBucketFull) hold.
func (e *BucketFullError) Unwrap() error { return ErrBucketFull }

const lockFileName = "LOCK"

// Issuer issues postage stamps from an ordered list of batches owned by
// one key, persisting every reserved index before the stamp that uses it
// is returned. It is safe for concurrent use. A state directory must be
// used by one Issuer at a time; OpenIssuer enforces this with a flock.
type Issuer struct {
	key     *ecdsa.PrivateKey
	owner   common.Address
	dir     *os.File
	lock    *os.File
	batches []*batchState // fixed after OpenIssuer; contents guarded by mu

	mu     sync.Mutex
	closed bool
}

type batchState struct {
	batch    Batch
	counters []uint32 // next free index per bucket
	issued   uint64
	maxCount uint32
}

// slot is one reserved index.
type slot struct {
	id      [32]byte
	bucket  uint32
	counter uint32
}

// OpenIssuer opens (creating if needed) the state directory dir, locks it
// against other issuers (ErrLocked) and loads the counters of every batch.
// Batches are tried in order for each chunk. A batch without a state file
// starts at zero, so dir must be the same directory on every run: an empty
// or wrong directory is indistinguishable from first use. A state file
// that fails verification is an error matching ErrStateCorrupt, never a
// reset.
func OpenIssuer(dir string, key *ecdsa.PrivateKey, batches []Batch) (*Issuer, error) {
	owner, err := checkConfig(key, batches)
	if err != nil {
		return nil, fmt.Errorf("open issuer: %w", err)
	}
	d, lock, err := openStateDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open issuer %s: %w", dir, err)
	}
	is := &Issuer{key: key, owner: owner, dir: d, lock: lock}
	if err := is.load(batches); err != nil {
		return nil, errors.Join(fmt.Errorf("open issuer %s: %w", dir, err), is.release())
	}
	return is, nil
}

func checkConfig(key *ecdsa.PrivateKey, batches []Batch) (common.Address, error) {
	if key == nil {
		return common.Address{}, errors.New("nil key")
	}
	if len(batches) == 0 {
		return common.Address{}, errors.New("no batches")
	}
	owner := ethcrypto.PubkeyToAddress(key.PublicKey)
	seen := make(map[[32]byte]bool, len(batches))
	for _, b := range batches {
		if err := b.checkShape(); err != nil {
			return common.Address{}, fmt.Errorf("batch %x: %w", b.ID, err)
		}
		if b.Owner != owner {
			return common.Address{}, fmt.Errorf("batch %x owned by %s, key is %s: %w", b.ID, b.Owner, owner, ErrKeyMismatch)
		}
		if seen[b.ID] {
			return common.Address{}, fmt.Errorf("batch %x: %w: listed twice", b.ID, ErrInvalidBatch)
		}
		seen[b.ID] = true
	}
	return owner, nil
}

// openStateDir creates and locks dir and clears temp files a crash left.
func openStateDir(path string) (dir, lock *os.File, err error) {
	path, err = filepath.Abs(path)
	if err != nil {
		return nil, nil, err
	}
	if err := durable.MkdirAll(path); err != nil {
		return nil, nil, err
	}
	lock, err = os.OpenFile(filepath.Join(path, lockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	if err := durable.Lock(lock); err != nil {
		if errors.Is(err, durable.ErrLocked) {
			err = fmt.Errorf("%w: %w", ErrLocked, err)
		}
		return nil, nil, errors.Join(err, lock.Close())
	}
	if dir, err = os.Open(path); err != nil {
		return nil, nil, errors.Join(err, lock.Close())
	}
	// Only the lock holder may touch temp files; another holder could be
	// mid-write.
	if err := removeTemps(path); err != nil {
		return nil, nil, errors.Join(err, dir.Close(), lock.Close())
	}
	return dir, lock, nil
}

// load reads every batch's counters and writes them back, so a new batch
// gets its state file (and an unwritable directory fails) at startup.
func (is *Issuer) load(batches []Batch) error {
	for _, b := range batches {
		counters, err := loadState(is.dir.Name(), b)
		if err != nil {
			return fmt.Errorf("batch %x: %w", b.ID, err)
		}
		bs := newBatchState(b, counters)
		if err := is.persist(bs, nil); err != nil {
			return fmt.Errorf("batch %x: %w", b.ID, err)
		}
		is.batches = append(is.batches, bs)
	}
	return nil
}

func newBatchState(b Batch, counters []uint32) *batchState {
	bs := &batchState{batch: b, counters: counters}
	for _, c := range counters {
		bs.issued += uint64(c)
		bs.maxCount = max(bs.maxCount, c)
	}
	return bs
}

// Stamp reserves one index per address and returns the signed stamps in
// the same order. Either every address gets a stamp or none does; on
// ErrBucketFull nothing is reserved. The indices are durable (one fsynced
// state write per touched batch) before any stamp is signed, so a crash
// can waste indices but never reissue one. An address repeated within a
// call gets the same stamp. Callers must keep the stamps and reuse them to
// retry an upload: calling Stamp again consumes new indices.
func (is *Issuer) Stamp(ctx context.Context, addrs []swarm.Address) ([]*beepostage.Stamp, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, a := range addrs {
		if len(a.Bytes()) != swarm.HashSize {
			return nil, fmt.Errorf("%w: address %d has %d bytes", ErrInvalidAddress, i, len(a.Bytes()))
		}
	}
	if len(addrs) == 0 {
		return nil, nil
	}
	slots, err := is.reserve(addrs)
	if err != nil {
		return nil, err
	}
	return is.signAll(ctx, addrs, slots)
}

// reserve assigns indices to addrs and makes them durable. A failed write
// leaves memory at the last state known to be on disk; batches written
// before the failure keep their (unused, wasted) reservations.
func (is *Issuer) reserve(addrs []swarm.Address) ([]slot, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.closed {
		return nil, ErrClosed
	}
	deltas := make([]map[uint32]uint32, len(is.batches))
	slots := make([]slot, len(addrs))
	first := make(map[[32]byte]int, len(addrs))
	for i, a := range addrs {
		key := [32]byte(a.Bytes())
		if j, ok := first[key]; ok {
			slots[i] = slots[j]
			continue
		}
		s, ok := is.place(deltas, a)
		if !ok {
			return nil, &BucketFullError{Address: a.Clone(), Bucket: bucketOf(a, is.batches[0].batch.BucketDepth)}
		}
		slots[i], first[key] = s, i
	}
	for k, d := range deltas {
		if d == nil {
			continue
		}
		bs := is.batches[k]
		if err := is.persist(bs, d); err != nil {
			return nil, fmt.Errorf("reserve stamps in batch %x: %w", bs.batch.ID, err)
		}
		bs.apply(d)
	}
	return slots, nil
}

// place finds the first batch with room in a's bucket, counting the
// reservations already planned in this call.
func (is *Issuer) place(deltas []map[uint32]uint32, a swarm.Address) (slot, bool) {
	for k, bs := range is.batches {
		bucket := bucketOf(a, bs.batch.BucketDepth)
		from, to := bs.batch.counters()
		next := from + uint64(bs.counters[bucket]) + uint64(deltas[k][bucket])
		if next >= to {
			continue
		}
		if deltas[k] == nil {
			deltas[k] = make(map[uint32]uint32)
		}
		deltas[k][bucket]++
		return slot{id: bs.batch.ID, bucket: bucket, counter: uint32(next)}, true
	}
	return slot{}, false
}

func (is *Issuer) persist(bs *batchState, deltas map[uint32]uint32) error {
	return durable.WriteFile(filepath.Join(is.dir.Name(), stateFileName(bs.batch)), encodeState(bs.batch, bs.counters, deltas))
}

func (bs *batchState) apply(deltas map[uint32]uint32) {
	for bucket, d := range deltas {
		bs.counters[bucket] += d
		bs.issued += uint64(d)
		bs.maxCount = max(bs.maxCount, bs.counters[bucket])
	}
}

// bucketOf is Bee's toBucket: the top depth bits of the address.
func bucketOf(a swarm.Address, depth uint8) uint32 {
	return binary.BigEndian.Uint32(a.Bytes()[:4]) >> (32 - depth)
}

// Owner is the Ethereum address of the issuer's key.
func (is *Issuer) Owner() common.Address { return is.owner }

// Close releases the state directory. Stamps already returned stay valid.
func (is *Issuer) Close() error {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.closed {
		return nil
	}
	is.closed = true
	return is.release()
}

func (is *Issuer) release() error {
	// Closing the lock file drops the flock.
	return errors.Join(is.dir.Close(), is.lock.Close())
}
