package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/lpswarm/archiver"
)

// DefaultQueueLen is the hand-off bound when Config.QueueLen is zero: a
// burst of that many segments can wait for the writer before Submit starts
// refusing. Memory is bounded by MaxBytes regardless, because queued jobs
// hold their reservation.
const DefaultQueueLen = 64

var (
	// ErrClosed reports use of a closed Spool.
	ErrClosed = errors.New("spool closed")
	// ErrLocked reports a spool directory held by another Spool or process.
	ErrLocked = errors.New("spool directory is locked")
	// ErrStarted reports a second Start.
	ErrStarted = errors.New("spool already started")
	// ErrNotLeased reports Done or Release of a job that is not leased (or
	// whose Done is already under way).
	ErrNotLeased = errors.New("spool job not leased")
	// ErrInvalidConfig reports a Config that cannot bound the spool.
	ErrInvalidConfig = errors.New("invalid spool config")
)

// Config bounds a spool.
type Config struct {
	// MaxBytes bounds the whole spool: job files on disk plus jobs waiting
	// to be written. Required.
	MaxBytes int64
	// MaxBytesPerSender bounds one broadcaster's share, so that one stream
	// cannot starve the rest. Zero means MaxBytes.
	MaxBytesPerSender int64
	// QueueLen bounds the in-memory hand-off to the writer. Zero means
	// DefaultQueueLen.
	QueueLen int
	// MinFreeBytes is the free space the spool leaves on its file system:
	// a job that would leave less is refused (a *FullError with Limit
	// LimitDisk and ErrReserve). The index shares the disk and must still
	// record results, or no worker could free a job and archiving would
	// stall on a disk the spool filled. Zero means DefaultMinFreeBytes or
	// an eighth of the file system, whichever is smaller; NoReserve turns
	// the check off.
	MinFreeBytes int64
	// Logger gets corruption reports and lifecycle events. Nil discards.
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	switch {
	case c.MaxBytes <= 0:
		return c, fmt.Errorf("%w: MaxBytes %d must be positive", ErrInvalidConfig, c.MaxBytes)
	case c.MaxBytesPerSender < 0:
		return c, fmt.Errorf("%w: MaxBytesPerSender %d is negative", ErrInvalidConfig, c.MaxBytesPerSender)
	case c.QueueLen < 0:
		return c, fmt.Errorf("%w: QueueLen %d is negative", ErrInvalidConfig, c.QueueLen)
	case c.MinFreeBytes < NoReserve:
		return c, fmt.Errorf("%w: MinFreeBytes %d: use a size, 0 for the default or NoReserve (-1)", ErrInvalidConfig, c.MinFreeBytes)
	}
	if c.MaxBytesPerSender == 0 {
		c.MaxBytesPerSender = c.MaxBytes
	}
	if c.QueueLen == 0 {
		c.QueueLen = DefaultQueueLen
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Entry is one leased job.
type Entry struct {
	ID  ID
	Job archiver.Job
	// Attempts counts the Releases of this job since the spool was opened;
	// leases, and so attempts, do not survive a restart.
	Attempts int
}

// Segment names the segment a spooled job archives.
type Segment struct {
	Sender     common.Address
	ManifestID archiver.ManifestID
	Seq        int64
}

// Held returns the segments of every durable job not yet Done. After a
// crash it tells a segment the index recorded from one that is also safe
// in the spool.
func (s *Spool) Held() map[Segment]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Segment]bool, len(s.records))
	for _, r := range s.records {
		out[Segment{Sender: r.sender, ManifestID: r.manifest, Seq: r.seq}] = true
	}
	return out
}

// Stats is a snapshot for metrics.
type Stats struct {
	// Jobs are durable and not yet Done, Leased ones included.
	Jobs int
	// Pending jobs were submitted but are not durable yet.
	Pending int
	Leased  int
	// Waiting counts Next calls blocked for want of a ready job: idle
	// workers.
	Waiting int
	// Bytes is what MaxBytes is checked against: the files of Jobs and
	// Pending.
	Bytes int64
	// Corrupt counts job files moved to corrupt/ since Open.
	Corrupt   int
	PerSender map[common.Address]SenderStats
}

// SenderStats is one sender's share, as checked against MaxBytesPerSender.
type SenderStats struct {
	Jobs, Pending int
	Bytes         int64
}

// Spool is a bounded, durable queue of archive jobs in one directory. It
// implements archiver.Archiver and is safe for concurrent use.
type Spool struct {
	cfg   Config
	log   *slog.Logger
	path  string
	dir   *os.File // kept open for directory fsyncs
	lock  *os.File
	queue chan *pending
	// done is closed by Close to wake every Next.
	done chan struct{}
	// stopped is closed when the writer has drained the queue.
	stopped chan struct{}
	// sync is fsync; a test stalls it to hold the writer.
	sync func(*os.File) error
	// ops tracks file I/O done outside mu (Next's reads, Done's removals),
	// which Close waits for before it closes the directory.
	ops sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	started  bool
	nextID   ID
	records  map[ID]*record // durable jobs
	sched    *scheduler     // the records ready to lease
	budget   *budget
	leased   int
	waiting  int
	corrupts int
	disk     diskSpace
	// wake is closed and replaced whenever a job becomes ready, waking
	// every waiting Next; each re-checks under mu.
	wake chan struct{}
}

var _ archiver.Archiver = (*Spool)(nil)

// Open opens (creating if needed) the spool directory dir, locks it against
// other spools (ErrLocked), removes temp files a crash left, and reloads
// every job file in it: verified ones are served again, corrupt ones are
// moved to dir/corrupt/. Jobs found on disk count against the budgets even
// if they exceed them, since they were accepted and charged. Call Start to
// begin writing.
func Open(dir string, cfg Config) (*Spool, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	s := &Spool{
		cfg:     cfg,
		log:     cfg.Logger,
		queue:   make(chan *pending, cfg.QueueLen),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
		sync:    (*os.File).Sync,
		records: map[ID]*record{},
		sched:   newScheduler(),
		budget:  newBudget(cfg.MaxBytes, cfg.MaxBytesPerSender),
		wake:    make(chan struct{}),
	}
	if err := s.openDir(dir); err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	s.openReserve(time.Now())
	if err := s.reload(); err != nil {
		return nil, errors.Join(fmt.Errorf("open spool %s: %w", dir, err), s.release())
	}
	st := s.Stats()
	s.log.Info("spool opened", "dir", s.path, "jobs", st.Jobs, "bytes", st.Bytes, "corrupt", st.Corrupt)
	if st.Bytes > cfg.MaxBytes {
		s.log.Warn("spool holds more than MaxBytes; new jobs are refused until workers drain it",
			"bytes", st.Bytes, "max_bytes", cfg.MaxBytes)
	}
	return s, nil
}

// Start runs the writer until Close. Once ctx is done the writer stops
// writing and answers every job still handed to it with an error; it does
// not stop Next, which has its own context.
func (s *Spool) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.started:
		return ErrStarted
	}
	s.started = true
	go s.run(ctx)
	return nil
}

// Close refuses new jobs, lets the writer finish every job already handed
// to it (so every outcome channel Submit returned gets its answer), waits
// for reads and removals under way, and releases the directory. It waits
// as long as the disk takes to finish those writes. Jobs leased and not
// Done are offered again by the next Open. Without Start, queued jobs are
// answered ErrClosed. A second Close is a no-op.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	// Submit sends only under mu and after checking closed, so no send
	// can race this close.
	close(s.queue)
	close(s.done)
	started := s.started
	s.mu.Unlock()

	if started {
		<-s.stopped
	} else {
		for p := range s.queue {
			s.mu.Lock()
			s.disk.writtenLocked(p.size)
			s.mu.Unlock()
			s.fail(p, ErrClosed)
		}
	}
	s.ops.Wait()
	err := s.release()
	s.log.Info("spool closed", "dir", s.path)
	return err
}

func (s *Spool) release() error {
	// Closing the lock file drops the flock.
	return errors.Join(s.dir.Close(), s.lock.Close())
}

// Stats returns a snapshot of the spool's contents.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Jobs:      s.budget.total.jobs,
		Pending:   s.budget.total.pending,
		Leased:    s.leased,
		Waiting:   s.waiting,
		Bytes:     s.budget.total.bytes,
		Corrupt:   s.corrupts,
		PerSender: make(map[common.Address]SenderStats, len(s.budget.senders)),
	}
	for addr, u := range s.budget.senders {
		st.PerSender[addr] = SenderStats{Jobs: u.jobs, Pending: u.pending, Bytes: u.bytes}
	}
	return st
}

// wakeLocked tells waiting Next calls that a job became ready.
func (s *Spool) wakeLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}
