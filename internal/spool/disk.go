package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lpswarm/archiver/internal/durable"
)

// Names inside a spool directory.
const (
	lockFileName   = "LOCK"
	corruptDirName = "corrupt"
	jobSuffix      = ".job"
	tempSuffix     = ".tmp"
	idDigits       = 16
)

// ID names one job for its lifetime in the spool. IDs increase in
// submission order and never collide with a job on disk; a restart may
// reuse the ID of a job already Done.
type ID uint64

func (id ID) String() string { return fmt.Sprintf("%0*x", idDigits, uint64(id)) }

func (id ID) fileName() string { return id.String() + jobSuffix }
func (id ID) tempName() string { return id.String() + tempSuffix }

// parseJobName returns the ID of a job file name.
func parseJobName(name string) (ID, bool) {
	hex, ok := strings.CutSuffix(name, jobSuffix)
	if !ok || len(hex) != idDigits {
		return 0, false
	}
	v, err := strconv.ParseUint(hex, 16, 64)
	return ID(v), err == nil
}

// openDir creates and locks the spool directory and clears temp files a
// crash left: only the lock holder may, since another holder could be
// mid-write.
func (s *Spool) openDir(path string) error {
	path, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if err := durable.MkdirAll(path); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(path, lockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := durable.Lock(lock); err != nil {
		if errors.Is(err, durable.ErrLocked) {
			err = fmt.Errorf("%w: %w", ErrLocked, err)
		}
		return errors.Join(err, lock.Close())
	}
	dir, err := os.Open(path)
	if err != nil {
		return errors.Join(err, lock.Close())
	}
	s.path, s.dir, s.lock = path, dir, lock
	if err := s.removeTemps(); err != nil {
		return errors.Join(err, s.release())
	}
	if err := durable.MkdirAll(filepath.Join(path, corruptDirName)); err != nil {
		return errors.Join(err, s.release())
	}
	return nil
}

func (s *Spool) syncPath(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(s.sync(d), d.Close())
}

func (s *Spool) removeTemps() error {
	temps, err := filepath.Glob(filepath.Join(s.path, "*"+tempSuffix))
	if err != nil || len(temps) == 0 {
		return err
	}
	for _, t := range temps {
		if err := os.Remove(t); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	s.log.Info("spool removed unfinished writes", "files", len(temps))
	return s.sync(s.dir)
}

// reload books every job file in the directory, oldest first. Corrupt
// files are moved aside; a file that cannot be read at all fails Open,
// because skipping it would silently drop an accepted job.
func (s *Spool) reload() error {
	entries, err := os.ReadDir(s.path)
	if err != nil {
		return err
	}
	var ids []ID
	for _, e := range entries {
		name := e.Name()
		if name == lockFileName || name == corruptDirName {
			continue
		}
		if id, ok := parseJobName(name); ok && e.Type().IsRegular() {
			ids = append(ids, id)
			continue
		}
		s.log.Warn("spool ignores unknown file", "file", filepath.Join(s.path, name))
	}
	slices.Sort(ids)
	for _, id := range ids {
		r, err := s.loadRecord(id)
		if errors.Is(err, ErrCorrupt) {
			s.quarantine(id, err)
			continue
		}
		if err != nil {
			return fmt.Errorf("reload job %s: %w", id, err)
		}
		s.records[id] = r
		s.budget.loaded(r.sender, r.size)
		s.sched.push(r)
	}
	if len(ids) > 0 {
		// Counting the files just moved aside too keeps a new job from
		// taking the name of one an operator is about to inspect.
		s.nextID = ids[len(ids)-1] + 1
	}
	return nil
}

// loadRecord verifies a job file without keeping its data.
func (s *Spool) loadRecord(id ID) (*record, error) {
	f, err := os.Open(filepath.Join(s.path, id.fileName()))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	job, err := decode(f, fi.Size(), false)
	if err != nil {
		return nil, err
	}
	return &record{id: id, sender: job.Sender, manifest: job.ManifestID, seq: job.Seq, size: fi.Size()}, nil
}

// loadEntry reads a leased job in full.
func (s *Spool) loadEntry(r *record) (Entry, error) {
	f, err := os.Open(filepath.Join(s.path, r.id.fileName()))
	if err != nil {
		return Entry{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Entry{}, err
	}
	job, err := decode(f, fi.Size(), true)
	if err != nil {
		return Entry{}, err
	}
	// The file verified but is not the one booked: replaced behind our back.
	if fi.Size() != r.size || job.Sender != r.sender || job.ManifestID != r.manifest || job.Seq != r.seq {
		return Entry{}, fmt.Errorf("%w: file does not hold the job booked as %s", ErrCorrupt, r.id)
	}
	return Entry{ID: r.id, Job: job, Attempts: r.attempts}, nil
}

// writeJob makes one job durable except for its directory entry: the data
// is fsynced under a temp name and then renamed into place, so a crash
// leaves either no job file or a complete one. The caller fsyncs the
// directory before acknowledging.
func (s *Spool) writeJob(p *pending) error {
	tmp := filepath.Join(s.path, p.id.tempName())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write job %s: %w", p.id, err)
	}
	err = encode(f, p.job)
	if err == nil {
		err = s.sync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.path, p.id.fileName()))
	}
	if err != nil {
		if rerr := os.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			s.log.Warn("spool could not remove a failed write; Open will", "file", tmp, "err", rerr)
		}
		return fmt.Errorf("write job %s: %w", p.id, err)
	}
	return nil
}

// quarantine moves a job file that failed verification to corrupt/ for an
// operator to inspect. It never overwrites an earlier file there, and a
// file it cannot move stays where it is, unserved, until the next Open.
func (s *Spool) quarantine(id ID, cause error) {
	src := filepath.Join(s.path, id.fileName())
	dst, err := s.moveAside(src, id.fileName())
	if err != nil {
		s.log.Error("spool job file corrupt and could not be moved aside; not served",
			"file", src, "cause", cause, "err", err)
	} else {
		s.log.Error("spool job file corrupt; moved aside, not served", "file", src, "moved_to", dst, "err", cause)
	}
	s.mu.Lock()
	s.corrupts++
	s.mu.Unlock()
}

func (s *Spool) moveAside(src, name string) (string, error) {
	corrupt := filepath.Join(s.path, corruptDirName)
	dst := filepath.Join(corrupt, name)
	for n := 1; ; n++ {
		_, err := os.Lstat(dst)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return "", err
		}
		dst = filepath.Join(corrupt, fmt.Sprintf("%s.%d", name, n))
	}
	if err := os.Rename(src, dst); err != nil {
		return "", err
	}
	// Target first: the file must never be in neither directory.
	return dst, errors.Join(s.syncPath(corrupt), s.sync(s.dir))
}
