package spool

import (
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

const (
	// DefaultMinFreeBytes is the free-space reserve when
	// Config.MinFreeBytes is zero, capped at an eighth of the file system
	// so that a small disk is still usable.
	DefaultMinFreeBytes = 64 << 20
	// NoReserve as Config.MinFreeBytes turns the reserve off: the spool
	// then fills the disk until the file system refuses (ENOSPC).
	NoReserve = -1
	// freeRefresh bounds how stale the cached free-space figure may be
	// before Submit asks the file system again; the writer refreshes it
	// after every batch anyway, so under load Submit never has to.
	freeRefresh = 100 * time.Millisecond
	// blockSlack is what a job file costs beyond its bytes, at most: the
	// partly filled last block and the directory entry.
	blockSlack = 4096
)

// ErrReserve is the file system's free space having reached the spool's
// reserve (Config.MinFreeBytes): the space left is kept for the index,
// which shares the disk and must still record results so that workers can
// free jobs. It comes inside a *FullError with Limit LimitDisk.
var ErrReserve = errors.New("free space at the spool's reserve (MinFreeBytes), kept for recording results")

// diskSpace is the spool's view of the free space on its file system,
// refreshed from statfs at most every freeRefresh by Submit and after every
// batch by the writer. Guarded by the Spool's mutex.
type diskSpace struct {
	// reserve is the resolved MinFreeBytes; 0 means no check.
	reserve int64
	// avail is what statfs reported at refreshed, for unprivileged users.
	avail     int64
	refreshed time.Time
	// unwritten counts bytes Submit reserved that the writer has not yet
	// put on disk, so not in avail: a burst cannot overrun the reserve
	// between two refreshes.
	unwritten int64
	// statfs reports the available and total bytes of the file system
	// holding the spool; a test replaces it.
	statfs func() (avail, total int64, err error)
}

// resolveReserve turns Config.MinFreeBytes into bytes for a file system of
// total bytes.
func resolveReserve(cfg int64, total int64) int64 {
	switch {
	case cfg < 0:
		return 0
	case cfg > 0:
		return cfg
	}
	return min(DefaultMinFreeBytes, total/8)
}

// admitLocked reports whether a job of size bytes leaves the reserve free,
// refreshing the cached figure first when it is stale, and books the job's
// bytes as unwritten if so.
func (d *diskSpace) admitLocked(sender common.Address, size int64, now time.Time) error {
	if d.reserve == 0 {
		return nil
	}
	if now.Sub(d.refreshed) > freeRefresh {
		d.refreshLocked(now)
	}
	free := d.avail - d.unwritten
	if free-(size+blockSlack) < d.reserve {
		return &FullError{Limit: LimitDisk, Sender: sender, Used: free, Need: size, Max: d.reserve,
			Err: fmt.Errorf("%w: %d bytes free, %d kept", ErrReserve, max(free, 0), d.reserve)}
	}
	d.unwritten += size + blockSlack
	return nil
}

// writtenLocked moves a job's bytes out of unwritten once the writer is
// done with it, written or not.
func (d *diskSpace) writtenLocked(size int64) {
	if d.reserve != 0 {
		d.unwritten -= size + blockSlack
	}
}

// refreshLocked asks the file system. A failed statfs keeps the old figure:
// the real write still meets ENOSPC if the disk is full.
func (d *diskSpace) refreshLocked(now time.Time) {
	if d.reserve == 0 {
		return
	}
	if avail, _, err := d.statfs(); err == nil {
		d.avail = avail
	}
	d.refreshed = now
}

// openReserve sizes the reserve for the spool's file system. Where statfs
// is unavailable the spool keeps none and relies on ENOSPC alone.
func (s *Spool) openReserve(now time.Time) {
	s.disk.statfs = func() (int64, int64, error) { return statfs(s.path) }
	if s.cfg.MinFreeBytes == NoReserve {
		return
	}
	avail, total, err := s.disk.statfs()
	if err != nil {
		s.log.Warn("spool keeps no free-space reserve: cannot read the file system's free space", "dir", s.path, "err", err)
		return
	}
	s.disk.reserve = resolveReserve(s.cfg.MinFreeBytes, total)
	s.disk.avail, s.disk.refreshed = avail, now
	if avail < s.disk.reserve {
		s.log.Warn("free space is below the spool's reserve; new jobs are refused until space frees",
			"dir", s.path, "free", avail, "min_free_bytes", s.disk.reserve)
	}
}
