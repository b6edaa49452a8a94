package postage

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lpswarm/archiver/internal/durable"
)

// MigrateDepth rewrites the issuer state of batch id in dir at newDepth,
// after the batch was diluted on chain (PostageStamp.increaseDepth), and
// returns how many state files it rewrote: the whole batch's and any leased
// part's. Counters are kept as they are, so new indices continue after the
// old bucket bound and none is issued twice. A state already at newDepth is
// left alone, so a second migration rewrites nothing.
//
// It takes the directory's lock: while an issuer uses the directory it
// fails with ErrLocked, and that issuer migrates the state itself the next
// time it is opened with the new depth (OpenIssuer accepts a deeper
// mutable batch). After migration the state refuses the old depth, as a
// Bee node that has not seen the dilution yet would refuse the new
// indices. A missing directory or no state for the batch migrates nothing.
func MigrateDepth(dir string, id [32]byte, newDepth uint8) (int, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	d, lock, err := openStateDir(dir)
	if err != nil {
		return 0, fmt.Errorf("migrate issuer state %s: %w", dir, err)
	}
	defer func() { _ = errors.Join(d.Close(), lock.Close()) }()
	files, err := stateFiles(d.Name(), id)
	if err != nil {
		return 0, fmt.Errorf("migrate issuer state %s: %w", dir, err)
	}
	migrated := 0
	for _, path := range files {
		done, err := migrateFile(path, id, newDepth)
		if err != nil {
			return migrated, fmt.Errorf("migrate issuer state %s: %w", path, err)
		}
		if done {
			migrated++
		}
	}
	return migrated, nil
}

func migrateFile(path string, id [32]byte, newDepth uint8) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	stored, counters, err := decodeState(data)
	if err != nil {
		return false, err
	}
	deeper := stored
	deeper.Depth = newDepth
	switch {
	case stored.ID != id:
		return false, fmt.Errorf("%w: state is for batch %x", ErrBatchMismatch, stored.ID)
	case stored.Depth == newDepth:
		return false, nil
	case stored.Depth > newDepth:
		return false, fmt.Errorf("%w: state depth %d is already above %d", ErrBatchMismatch, stored.Depth, newDepth)
	case stored.Immutable:
		return false, fmt.Errorf("%w: immutable batch cannot be deepened from %d to %d", ErrBatchMismatch, stored.Depth, newDepth)
	}
	if err := deeper.checkShape(); err != nil {
		return false, err
	}
	return true, durable.WriteFile(path, encodeState(deeper, counters, nil))
}

// ReadUsage reads the issuance of batch id from the state files in dir
// (the whole batch's and any leased part's), without taking the
// directory's lock, so it works while an importer or a worker stamps. That
// is safe because state files are only ever replaced whole by rename: a
// reader sees one committed state or the next, verified by its checksum,
// never a torn one. It may trail stamps being reserved at that moment.
//
// MaxBucketCount is the highest index used in any bucket plus one, counted
// from the start of the bucket (a lease's counters start at its From);
// Depth is the state's, which trails the chain's until the state is
// migrated: compute utilization with the chain's depth. No state for the
// batch is an error matching fs.ErrNotExist.
func ReadUsage(dir string, id [32]byte) (BatchUsage, error) {
	files, err := stateFiles(dir, id)
	if err != nil {
		return BatchUsage{}, fmt.Errorf("read issuer state %s: %w", dir, err)
	}
	if len(files) == 0 {
		return BatchUsage{}, fmt.Errorf("read issuer state %s: no state for batch %x: %w", dir, id, fs.ErrNotExist)
	}
	u := BatchUsage{ID: id}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return BatchUsage{}, fmt.Errorf("read issuer state: %w", err)
		}
		b, counters, err := decodeState(data)
		if err != nil {
			return BatchUsage{}, fmt.Errorf("read issuer state %s: %w", path, err)
		}
		if b.ID != id {
			return BatchUsage{}, fmt.Errorf("read issuer state %s: %w: state is for batch %x", path, ErrBatchMismatch, b.ID)
		}
		from := leaseStart(filepath.Base(path))
		u.Depth, u.BucketDepth, u.Immutable = max(u.Depth, b.Depth), b.BucketDepth, b.Immutable
		for _, c := range counters {
			u.Issued += uint64(c)
			if c > 0 {
				u.MaxBucketCount = max(u.MaxBucketCount, from+c)
			}
		}
	}
	return u, nil
}

// stateFiles lists the state files of batch id in dir: <id>.issuer and
// <id>-<from>-<to>.issuer (see stateFileName).
func stateFiles(dir string, id [32]byte) ([]string, error) {
	return filepath.Glob(filepath.Join(dir, hex.EncodeToString(id[:])+"*"+stateSuffix))
}

// leaseStart is From of a leased state file's name, 0 for the whole batch.
func leaseStart(name string) uint32 {
	rest := strings.TrimSuffix(name[min(len(name), 64):], stateSuffix)
	var from, to uint32
	if _, err := fmt.Sscanf(rest, "-%d-%d", &from, &to); err != nil {
		return 0
	}
	return from
}
