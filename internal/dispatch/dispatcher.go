package dispatch

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"

	"github.com/lpswarm/archiver"
)

// Sentinel errors of a worker's fetch or report, for the transport to map.
var (
	// ErrUnknownJob: no current assignment has this id and token; the job
	// was re-dispatched or finished, and the worker drops it.
	ErrUnknownJob = errors.New("no such job for this token (re-dispatched or finished)")
	// ErrClosed: the dispatcher is shutting down; the job stays queued.
	ErrClosed = errors.New("dispatcher closed")
	// ErrBadReport: the report does not match the job (files, sizes or a
	// reference that is not the content's). The worker may report again
	// until its deadline.
	ErrBadReport = errors.New("report does not match the job")
	// ErrNotRecorded: the outcome could not be recorded; the worker may
	// report again until its deadline.
	ErrNotRecorded = errors.New("outcome not recorded")
)

// Config tunes the dispatcher.
type Config struct {
	// MaxAttempts bounds the failures workers report for a job before it
	// is recorded as a gap. A job whose worker vanished, missed its
	// deadline or ran out of postage is re-dispatched without counting:
	// that is the worker's trouble, not the job's.
	MaxAttempts int
	// BaseTimeout plus one second per MinThroughput bytes is a job's
	// deadline.
	BaseTimeout   time.Duration
	MinThroughput int64 // bytes per second
	// MaxUnacked bounds the jobs a worker holds that it has not
	// acknowledged (fetched or reported), whatever capacity it declares.
	MaxUnacked int
	// AckTimeout is how long a worker has to acknowledge a job; one that
	// misses it loses every job it has not acknowledged to the queue and
	// is given no more until it acknowledges one.
	AckTimeout time.Duration
	// AbortGrace is how long the jobs a worker had fetched wait after it
	// leaves before they go back to the queue (its uploads may still be
	// open on Bee's side); negative: none.
	AbortGrace time.Duration
	// Redundancy is the level reported references are checked at.
	Redundancy redundancy.Level
	// Verify compares every reported reference with the one computed
	// from the job's bytes before the job is recorded as archived.
	Verify bool
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultMaxAttempts   = 5
	DefaultBaseTimeout   = 10 * time.Second
	DefaultMinThroughput = 256 << 10
	// Two jobs in flight on the registration stream keep an honest worker
	// busy: it acknowledges a job a round trip after it is sent. Five
	// seconds is many round trips, and half the shortest default deadline.
	DefaultMaxUnacked = 2
	DefaultAckTimeout = 5 * time.Second
	DefaultAbortGrace = 5 * time.Second
)

func (c Config) withDefaults() Config {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BaseTimeout <= 0 {
		c.BaseTimeout = DefaultBaseTimeout
	}
	if c.MinThroughput <= 0 {
		c.MinThroughput = DefaultMinThroughput
	}
	if c.MaxUnacked <= 0 {
		c.MaxUnacked = DefaultMaxUnacked
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.AbortGrace == 0 {
		c.AbortGrace = DefaultAbortGrace
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Assignment is a job as handed to a worker: the worker proves it holds
// the job by its token, and must report before the deadline.
type Assignment struct {
	ID       string
	Job      archiver.Job
	Token    []byte
	Deadline time.Time
	// Files describe the job's files, as Describe computed them when the
	// job left the queue.
	Files []FileSpec
}

// Report is a worker's outcome of a job: an error, or a reference per file
// in the order of Files.
type Report struct {
	Err       string
	Retryable bool
	Files     []archiver.FileResult
}

// Metrics counts what happened; read with Dispatcher.Metrics.
type Metrics struct {
	Dispatched, Redispatched, Archived, Failed, LateReports int64
	// Unacknowledged counts the re-dispatches of jobs taken back from a
	// worker that did not acknowledge them (also in Redispatched).
	Unacknowledged int64
}

// Held counts what the dispatcher keeps in memory per job.
type Held struct {
	Assigned int // jobs handed to a worker, not yet reported
	Missed   int // jobs with a missed deadline, until reported
	Failed   int // jobs with a reported, retried failure, until done
	// Described counts jobs whose files were described (hashed) for
	// their dispatch, kept while they are out of the queue.
	Described int
	// Revoked counts jobs taken back from stalled workers still
	// connected, kept until the worker acknowledges or leaves.
	Revoked int
}

// Dispatcher hands queued jobs to the pool's workers and follows each
// assignment until its outcome is recorded or the job goes back to the
// queue: a missed deadline, a missed acknowledgement, a worker that left,
// a retryable failure. The transport delivers assignments (send) and
// brings back fetches and reports.
type Dispatcher[L any] struct {
	cfg   Config
	queue archiver.Queue
	send  func(*Worker[L], Assignment) bool
	pool  *Pool[L]
	log   *slog.Logger

	// mu may be held while taking pool.mu, never the other way round.
	mu       sync.Mutex
	results  archiver.Results
	metrics  Metrics
	assigned map[string]*assignment[L]      // job id → current assignment
	missed   map[string]map[*Worker[L]]bool // job id → workers that missed its deadline
	failures map[string]int                 // job id → failures reported by workers
	revoked  map[string][]revocation[L]     // job id → takings back from stalled workers
	specs    map[string][]FileSpec          // job id → its files, described at its dispatch, until back in the queue or done
	stopped  bool                           // Close ran: no new deadline is armed

	// reporting is held for reading by every report being recorded and
	// for writing by Close, which so waits for them; closed refuses later
	// ones.
	reporting sync.RWMutex
	closed    bool
}

// assignment is a job handed to a worker.
type assignment[L any] struct {
	Assignment
	worker   *Worker[L]
	timer    *time.Timer
	ackTimer *time.Timer // nil when the deadline comes first
	claimed  bool        // a report of it is being recorded; guarded by Dispatcher.mu
	acked    bool        // the worker fetched or reported it; guarded by Dispatcher.mu
}

// revocation is a job taken back from a worker that did not acknowledge
// it: if the worker asks for it later, it reads its stream after all.
type revocation[L any] struct {
	worker *Worker[L]
	token  []byte
}

// New returns a dispatcher of queue's jobs; send delivers an assignment to
// its worker and reports false when the worker left before it was sent.
// Run starts dispatching.
func New[L any](queue archiver.Queue, cfg Config, send func(*Worker[L], Assignment) bool) *Dispatcher[L] {
	cfg = cfg.withDefaults()
	return &Dispatcher[L]{cfg: cfg, queue: queue, send: send, pool: NewPool[L](cfg.MaxUnacked), log: cfg.Logger,
		assigned: make(map[string]*assignment[L]), missed: make(map[string]map[*Worker[L]]bool),
		failures: make(map[string]int), revoked: make(map[string][]revocation[L]), specs: make(map[string][]FileSpec)}
}

// Workers is the pool jobs are dispatched to.
func (d *Dispatcher[L]) Workers() *Pool[L] { return d.pool }

// Join admits a worker.
func (d *Dispatcher[L]) Join(w *Worker[L]) { d.pool.Add(w) }

// Leave forgets a worker: its jobs go back to the queue, those it had
// fetched after Config.AbortGrace.
func (d *Dispatcher[L]) Leave(w *Worker[L]) {
	d.pool.Remove(w)
	close(w.gone)
	d.reclaim(w)
	d.forgetRevoked(w)
}

// Metrics returns a snapshot of the counters.
func (d *Dispatcher[L]) Metrics() Metrics {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.metrics
}

// Held reports the sizes of the per-job state: with no job in flight, all
// are zero.
func (d *Dispatcher[L]) Held() Held {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := Held{Assigned: len(d.assigned), Missed: len(d.missed), Failed: len(d.failures), Described: len(d.specs)}
	for _, rs := range d.revoked {
		h.Revoked += len(rs)
	}
	return h
}

// AssignedTo counts the jobs currently assigned to the worker with id:
// what that worker holds.
func (d *Dispatcher[L]) AssignedTo(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, a := range d.assigned {
		if a.worker.ID == id {
			n++
		}
	}
	return n
}

// Close refuses further reports, waits for those being recorded and stops
// every deadline, so the queue and the results can be closed under none:
// a report recorded whose queue Done failed on the closed queue left the
// job there, and the next process archived and counted it again. Jobs not
// reported stay queued.
func (d *Dispatcher[L]) Close() {
	d.reporting.Lock()
	defer d.reporting.Unlock()
	d.closed = true
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	for _, a := range d.assigned {
		a.stopTimers()
	}
}

// Closed reports whether Close was called.
func (d *Dispatcher[L]) Closed() bool {
	d.reporting.RLock()
	defer d.reporting.RUnlock()
	return d.closed
}

// Run dispatches queued jobs to workers until ctx ends, and records what
// they report in results.
func (d *Dispatcher[L]) Run(ctx context.Context, results archiver.Results) error {
	if results == nil {
		return errors.New("dispatch: Run needs somewhere to record results")
	}
	// Written before the first assignment; reports reach it only through
	// an assignment, taken under d.mu.
	d.mu.Lock()
	d.results = results
	d.mu.Unlock()
	for {
		qj, err := d.queue.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("dispatch: next job: %w", err)
		}
		// Described while the workers are still busy, not after one
		// frees a slot: the pass over the bytes stays off the critical path.
		files := d.describe(qj)
		d.mu.Lock()
		avoid := d.missed[qj.ID]
		d.mu.Unlock()
		w, err := d.pool.PickJob(ctx, string(qj.Job.ManifestID), avoid)
		if err != nil {
			d.requeue(qj.ID)
			return nil
		}
		d.assign(qj, w, files)
	}
}

// deadline scales a job's timeout with its size: uploads are bound by
// bytes.
func (d *Dispatcher[L]) deadline(j archiver.Job) time.Duration {
	return d.cfg.BaseTimeout + time.Duration(j.Bytes()/d.cfg.MinThroughput)*time.Second
}

// NewToken is a fresh random job token.
func NewToken() []byte {
	t := make([]byte, 16)
	_, _ = rand.Read(t)
	return t
}

// assign hands a job to a worker (whose capacity PickJob reserved) and
// arms its deadline, and its ack timeout when that comes first.
func (d *Dispatcher[L]) assign(qj archiver.QueuedJob, w *Worker[L], files []FileSpec) {
	a := &assignment[L]{Assignment: Assignment{ID: qj.ID, Job: qj.Job, Token: NewToken(),
		Deadline: time.Now().Add(d.deadline(qj.Job)), Files: files}, worker: w}
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		d.pool.ReleaseUnacked(w)
		d.requeue(qj.ID)
		return
	}
	d.assigned[qj.ID] = a
	d.metrics.Dispatched++
	a.timer = time.AfterFunc(time.Until(a.Deadline), func() { d.expire(qj.ID, a) })
	if d.cfg.AckTimeout < time.Until(a.Deadline) {
		a.ackTimer = time.AfterFunc(d.cfg.AckTimeout, func() { _ = d.unacknowledged(a, "job not acknowledged in time") })
	}
	d.mu.Unlock()
	if !d.send(w, a.Assignment) { // left between pick and send: Leave reclaims (or reclaimed) it
		d.redispatch(qj.ID, a, "worker left before the job was sent")
	}
}

// describe returns the job's file descriptions, computed once per
// dispatch from the queue (a job taken back from a worker and queued again
// is described again: rare, and it keeps the queue's jobs out of memory).
func (d *Dispatcher[L]) describe(qj archiver.QueuedJob) []FileSpec {
	d.mu.Lock()
	files, ok := d.specs[qj.ID]
	d.mu.Unlock()
	if ok {
		return files
	}
	files, err := Describe(context.Background(), qj.Job, d.cfg.Redundancy, d.cfg.Verify)
	if err != nil {
		// The report is checked against the bytes instead (see Report);
		// the worker splits the file itself.
		d.log.Error("describe job", "job", qj.ID, "error", err)
		files, _ = Describe(context.Background(), qj.Job, d.cfg.Redundancy, false)
	}
	d.mu.Lock()
	d.specs[qj.ID] = files
	d.mu.Unlock()
	return files
}

// stopTimers stops a's deadline and ack timeout.
func (a *assignment[L]) stopTimers() {
	a.timer.Stop()
	if a.ackTimer != nil {
		a.ackTimer.Stop()
	}
}

// expire re-dispatches a job whose worker missed its deadline. The worker
// may still report; its report is then refused as late. A job it has not
// even acknowledged is taken back as at its ack timeout.
func (d *Dispatcher[L]) expire(id string, a *assignment[L]) {
	d.mu.Lock()
	if d.missed[id] == nil {
		d.missed[id] = map[*Worker[L]]bool{}
	}
	d.missed[id][a.worker] = true
	d.mu.Unlock()
	if d.unacknowledged(a, "deadline passed, job not acknowledged") {
		return
	}
	d.redispatch(id, a, "deadline passed") // acknowledged: late, not silent
}

// unacknowledged handles a job a's worker has not acknowledged in time: it
// does not read its stream, or not in time to work on the job. The worker
// is stalled, given no job until it acknowledges one, and every job it
// has not acknowledged goes back to the queue now, not at its deadline. A
// worker that only lagged acknowledges when it gets to the jobs (it asks
// for one of them, see revived) and is given jobs again. It reports
// whether it took a back; not when a was acknowledged, reported or
// re-dispatched meanwhile, or its worker left.
func (d *Dispatcher[L]) unacknowledged(a *assignment[L], why string) bool {
	w := a.worker
	d.mu.Lock()
	if d.assigned[a.ID] != a || a.acked {
		d.mu.Unlock()
		return false
	}
	select {
	case <-w.gone:
		// Left: Leave re-dispatches its jobs, after which it forgets what
		// was taken back from it; nothing may be added since.
		d.mu.Unlock()
		return false
	default:
	}
	already := d.pool.Stall(w)
	var mine []*assignment[L]
	for id, b := range d.assigned {
		if b.worker != w || b.acked {
			continue
		}
		// Not claimed either: a report acknowledges (claim).
		delete(d.assigned, id)
		b.stopTimers()
		d.revoked[id] = append(d.revoked[id], revocation[L]{worker: w, token: b.Token})
		if d.missed[id] == nil {
			d.missed[id] = map[*Worker[L]]bool{}
		}
		d.missed[id][w] = true
		d.metrics.Redispatched++
		d.metrics.Unacknowledged++
		mine = append(mine, b)
	}
	d.mu.Unlock()
	if !already {
		d.log.Warn("worker does not acknowledge its jobs; taking them back and giving it none until it does",
			"worker", w.ID, "jobs", len(mine), "reason", why)
	}
	for _, b := range mine {
		d.pool.ReleaseUnacked(w)
		d.requeue(b.ID)
	}
	return true
}

// acknowledgeLocked records that a's worker fetched or reported the job:
// it reads its stream. A fetch of a job re-dispatched meanwhile says as
// much. d.mu must be held.
func (d *Dispatcher[L]) acknowledgeLocked(a *assignment[L]) {
	if d.assigned[a.ID] == a {
		d.ackLocked(a)
		return
	}
	d.unstallLocked(a.worker, false)
}

// ackLocked marks a acknowledged: it no longer counts against its worker's
// bound on unacknowledged jobs, and a stalled worker gets jobs again. d.mu
// must be held.
func (d *Dispatcher[L]) ackLocked(a *assignment[L]) {
	held := !a.acked
	if held {
		a.acked = true
		if a.ackTimer != nil {
			a.ackTimer.Stop()
		}
	}
	d.unstallLocked(a.worker, held)
}

// unstallLocked records an acknowledgement by w, of a job it held
// unacknowledged if held: a stalled w is given jobs again and what was
// taken back from it is forgotten. d.mu must be held.
func (d *Dispatcher[L]) unstallLocked(w *Worker[L], held bool) {
	if d.pool.Ack(w, held) {
		d.forgetRevokedLocked(w)
		d.log.Info("stalled worker acknowledges again; giving it jobs", "worker", w.ID)
	}
}

// revived wakes the stalled worker a job was taken back from, when it asks
// for that job (a fetch or a report with its token): it reads its stream
// after all, late. The job itself is someone else's now.
func (d *Dispatcher[L]) revived(id string, token []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.revoked[id] {
		if subtle.ConstantTimeCompare(r.token, token) == 1 {
			d.unstallLocked(r.worker, false)
			return
		}
	}
}

// forgetRevoked drops what was taken back from w, once it left.
func (d *Dispatcher[L]) forgetRevoked(w *Worker[L]) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.forgetRevokedLocked(w)
}

// forgetRevokedLocked drops what was taken back from w; d.mu must be held.
func (d *Dispatcher[L]) forgetRevokedLocked(w *Worker[L]) {
	for id, rs := range d.revoked {
		kept := rs[:0]
		for _, r := range rs {
			if r.worker != w {
				kept = append(kept, r)
			}
		}
		if len(kept) == 0 {
			delete(d.revoked, id)
		} else {
			d.revoked[id] = kept
		}
	}
}

// reclaim re-dispatches every job of a worker that left.
func (d *Dispatcher[L]) reclaim(w *Worker[L]) {
	d.mu.Lock()
	var mine []*assignment[L]
	for _, a := range d.assigned {
		if a.worker == w {
			mine = append(mine, a)
		}
	}
	d.mu.Unlock()
	for _, a := range mine {
		d.redispatchAfter(a.ID, a, "worker disconnected", d.cfg.AbortGrace)
	}
}

// redispatch returns a job to the queue if a is still its assignment and
// no report of it is being recorded: a claimed job's report decides (it
// finishes the job, or unclaim re-dispatches it).
func (d *Dispatcher[L]) redispatch(id string, a *assignment[L], why string) {
	d.redispatchAfter(id, a, why, 0)
}

// redispatchAfter is redispatch, the job going back to the queue grace
// later if the worker had fetched it (see Config.AbortGrace); a report of
// it is refused from now on.
func (d *Dispatcher[L]) redispatchAfter(id string, a *assignment[L], why string, grace time.Duration) {
	d.mu.Lock()
	if d.assigned[id] != a || a.claimed {
		d.mu.Unlock()
		return // already reported, re-dispatched, or being reported
	}
	delete(d.assigned, id)
	a.stopTimers()
	d.metrics.Redispatched++
	unacked := !a.acked
	d.mu.Unlock()
	if unacked {
		d.pool.ReleaseUnacked(a.worker)
	} else {
		d.pool.Release(a.worker)
	}
	requeue := func() { d.requeue(id) }
	if unacked || grace <= 0 {
		d.log.Warn("re-dispatching job", "job", id, "worker", a.worker.ID, "reason", why)
		requeue()
		return
	}
	// The worker fetched it: its upload may still be open on Bee's side.
	d.log.Warn("re-dispatching job once Bee has cleaned up the worker's uploads", "job", id, "worker", a.worker.ID,
		"reason", why, "after", grace)
	time.AfterFunc(grace, func() {
		d.reporting.RLock()
		defer d.reporting.RUnlock()
		if !d.closed { // shutting down: the queue keeps the job for the next start
			requeue()
		}
	})
}

// requeue returns a job to the queue and forgets its description: a job
// waiting in the queue costs no memory beyond the queue's own, and one
// that comes back is described again at its next dispatch.
func (d *Dispatcher[L]) requeue(id string) {
	d.mu.Lock()
	delete(d.specs, id)
	d.mu.Unlock()
	if err := d.queue.Release(id); err != nil {
		d.log.Error("re-queue job", "job", id, "error", err)
	}
}

// lookup finds a job's current assignment and checks its token.
func (d *Dispatcher[L]) lookup(id string, token []byte) (*assignment[L], error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.assigned[id]
	if !ok || subtle.ConstantTimeCompare(a.Token, token) != 1 {
		return nil, ErrUnknownJob
	}
	return a, nil
}

// Fetch returns the job a worker asks for by its id and token. Asking
// acknowledges the job: the worker reads its stream and works on the job.
func (d *Dispatcher[L]) Fetch(id string, token []byte) (archiver.Job, error) {
	a, err := d.lookup(id, token)
	if err != nil {
		d.revived(id, token)
		return archiver.Job{}, err
	}
	d.mu.Lock()
	d.acknowledgeLocked(a)
	d.mu.Unlock()
	return a.Job, nil
}

// claim takes a job's assignment for its report: its deadline is stopped
// and a disconnect of its worker no longer re-dispatches it, so the job
// cannot be handed to another worker (whose lease the report's Done would
// then break, and whose report would record the job a second time) while
// the report is checked and recorded. A report whose deadline already
// fired is late. A report acknowledges the job, whatever its outcome.
func (d *Dispatcher[L]) claim(id string, token []byte) (*assignment[L], error) {
	a, err := d.lookup(id, token)
	if err != nil {
		d.revived(id, token)
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.assigned[id] != a || a.claimed || !a.timer.Stop() {
		d.acknowledgeLocked(a) // late or not, it reports: it reads its stream
		return nil, ErrUnknownJob
	}
	a.claimed = true
	d.ackLocked(a)
	return a, nil
}

// unclaim gives a claimed assignment its deadline back: its report was not
// taken, and the worker may report again until then. If the worker left
// meanwhile (its Leave skipped the claimed job), the job is re-dispatched
// now.
func (d *Dispatcher[L]) unclaim(a *assignment[L]) {
	d.mu.Lock()
	if d.assigned[a.ID] != a {
		d.mu.Unlock()
		return
	}
	a.claimed = false
	select {
	case <-a.worker.gone:
		d.mu.Unlock()
		d.redispatch(a.ID, a, "worker left while its report was refused")
	default:
		a.timer.Reset(time.Until(a.Deadline))
		d.mu.Unlock()
	}
}

// Report records the outcome a worker reports for a job. Only the current
// assignment may report (else ErrUnknownJob). A retryable failure goes
// back to the queue until Config.MaxAttempts failures, then becomes a gap;
// files are checked against the job (Verify) before they are recorded.
func (d *Dispatcher[L]) Report(ctx context.Context, id string, token []byte, r Report) error {
	d.reporting.RLock()
	defer d.reporting.RUnlock()
	if d.closed {
		return ErrClosed
	}
	a, err := d.claim(id, token)
	if err != nil {
		d.mu.Lock()
		d.metrics.LateReports++
		d.mu.Unlock()
		return err
	}
	if r.Err != "" {
		return d.failed(ctx, a, r)
	}
	if err := d.check(ctx, a, r.Files); err != nil {
		d.unclaim(a)
		return fmt.Errorf("%w: %w", ErrBadReport, err)
	}
	if len(a.Files) == len(r.Files) {
		// Checked against these descriptions: the recorder need not hash
		// the bytes again.
		for i := range r.Files {
			r.Files[i].SHA256 = a.Files[i].SHA256
		}
	}
	if err := d.results.Archived(ctx, a.Job, r.Files); err != nil {
		d.unclaim(a)
		return fmt.Errorf("%w: %w", ErrNotRecorded, err)
	}
	d.finish(a, func(m *Metrics) { m.Archived++ })
	return nil
}

// check matches a report's files to the job, comparing each reference with
// the one described from the job's bytes when it was dispatched.
func (d *Dispatcher[L]) check(ctx context.Context, a *assignment[L], got []archiver.FileResult) error {
	if d.cfg.Verify && (len(a.Files) == 0 || a.Files[0].Reference.IsZero()) {
		return Verify(ctx, a.Job, got, d.cfg.Redundancy, true) // describing failed at dispatch
	}
	return Check(a.Files, got, d.cfg.Verify)
}

// failed re-dispatches a retryable failure, or records a gap after the
// last attempt. Only reported failures count: the queue's Attempts also
// counts the returns of jobs whose worker was killed or cut off, and
// those must never turn a segment into a gap.
func (d *Dispatcher[L]) failed(ctx context.Context, a *assignment[L], r Report) error {
	d.mu.Lock()
	d.failures[a.ID]++
	retry := r.Retryable && d.failures[a.ID] < d.cfg.MaxAttempts
	if retry {
		a.claimed = false // this report's decision is to re-dispatch
	}
	d.mu.Unlock()
	if retry {
		d.redispatch(a.ID, a, "worker failed: "+r.Err)
		return nil
	}
	if err := d.results.Failed(ctx, a.Job, r.Err); err != nil {
		d.mu.Lock()
		d.failures[a.ID]-- // not recorded: the next report decides again
		d.mu.Unlock()
		d.unclaim(a)
		return fmt.Errorf("%w: %w", ErrNotRecorded, err)
	}
	d.finish(a, func(m *Metrics) { m.Failed++ })
	return nil
}

// finish ends an assignment whose outcome is recorded.
func (d *Dispatcher[L]) finish(a *assignment[L], count func(*Metrics)) {
	d.mu.Lock()
	if d.assigned[a.ID] == a {
		delete(d.assigned, a.ID)
		a.timer.Stop()
	}
	delete(d.missed, a.ID)
	delete(d.failures, a.ID)
	delete(d.specs, a.ID)
	count(&d.metrics)
	d.mu.Unlock()
	d.pool.Release(a.worker)
	if err := d.queue.Done(a.ID); err != nil {
		d.log.Error("remove finished job from the queue", "job", a.ID, "error", err)
	}
}
