package spool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Next leases the next job in fair order (see scheduler), waiting until one
// is ready, ctx is done or the spool is closed (ErrClosed). The job's data
// is read from disk and verified; a file that fails verification is moved
// to corrupt/ and the next job is tried. The lease lasts until Done or
// Release, or until the process ends.
func (s *Spool) Next(ctx context.Context) (Entry, error) {
	for {
		if err := ctx.Err(); err != nil {
			return Entry{}, fmt.Errorf("spool next: %w", err)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return Entry{}, ErrClosed
		}
		r := s.sched.pop()
		if r == nil {
			wake := s.wake
			s.waiting++
			s.mu.Unlock()
			var err error
			select {
			case <-ctx.Done():
				err = fmt.Errorf("spool next: %w", ctx.Err())
			case <-s.done:
			case <-wake:
			}
			s.mu.Lock()
			s.waiting--
			s.mu.Unlock()
			if err != nil {
				return Entry{}, err
			}
			continue
		}
		r.leased = true
		s.leased++
		s.ops.Add(1)
		s.mu.Unlock()

		e, err := s.loadEntry(r)
		if err == nil {
			s.ops.Done()
			return e, nil
		}
		dropped := s.unservable(r, err)
		s.ops.Done()
		if !dropped {
			return Entry{}, fmt.Errorf("spool next: load job %s: %w", r.id, err)
		}
	}
}

// unservable handles a leased job whose file could not be loaded. A
// corrupt file is moved aside and a vanished one logged, and the job is
// dropped (true): neither can ever be served. Any other error is the
// disk's, not the job's, so the job goes back to the queue (false).
func (s *Spool) unservable(r *record, err error) bool {
	switch {
	case errors.Is(err, ErrCorrupt):
		s.quarantine(r.id, err)
	case errors.Is(err, fs.ErrNotExist):
		s.log.Error("spool job file vanished; the job is lost", "job", r.id, "sender", r.sender,
			"manifest", r.manifest, "seq", r.seq, "err", err)
	default:
		s.mu.Lock()
		r.leased = false
		s.leased--
		s.sched.push(r)
		s.wakeLocked()
		s.mu.Unlock()
		return false
	}
	s.mu.Lock()
	s.forgetLocked(r)
	s.mu.Unlock()
	return true
}

// Done deletes a leased job: its file is removed and the directory
// fsynced, and only then are its bytes returned to the budgets. On error
// the job stays leased and Done may be retried. A crash before the fsync
// may bring the job back after a restart, which at-least-once delivery
// allows.
func (s *Spool) Done(id ID) error {
	s.mu.Lock()
	r, err := s.leasedLocked(id)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("spool done %s: %w", id, err)
	}
	r.finishing = true
	s.ops.Add(1)
	s.mu.Unlock()
	defer s.ops.Done()

	err = os.Remove(filepath.Join(s.path, id.fileName()))
	// Gone already means an earlier Done removed it and failed to sync;
	// only the lease holder removes files.
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		err = s.sync(s.dir)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		r.finishing = false
		return fmt.Errorf("spool done %s: %w", id, err)
	}
	s.forgetLocked(r)
	return nil
}

// Release returns a leased job to the queue, counting an attempt; it is the
// next job served for its manifest.
func (s *Spool) Release(id ID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.leasedLocked(id)
	if err != nil {
		return fmt.Errorf("spool release %s: %w", id, err)
	}
	r.leased = false
	r.attempts++
	s.leased--
	s.sched.push(r)
	s.wakeLocked()
	return nil
}

func (s *Spool) leasedLocked(id ID) (*record, error) {
	if s.closed {
		return nil, ErrClosed
	}
	r := s.records[id]
	if r == nil || !r.leased || r.finishing {
		return nil, ErrNotLeased
	}
	return r, nil
}

// forgetLocked drops a leased job and returns its bytes.
func (s *Spool) forgetLocked(r *record) {
	delete(s.records, r.id)
	s.leased--
	s.budget.release(r.sender, r.size, true)
}
