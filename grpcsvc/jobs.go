package grpcsvc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// files lists a job's files in the order FetchJob sends them: the source,
// then the renditions.
func files(j archiver.Job) []archiver.Rendition {
	out := []archiver.Rendition{{Name: "source", Data: j.Source}}
	return append(out, j.Renditions...)
}

// revocation is a job taken back from a worker that did not acknowledge
// it: if the worker asks for it later, it reads its stream after all.
type revocation struct {
	worker *worker
	token  []byte
}

// assign hands a job to a worker (whose capacity pickJob reserved) and
// arms its deadline, and its ack timeout when that comes first.
func (s *Server) assign(qj QueuedJob, w *worker) {
	a := &assignment{qj: qj, worker: w, token: newToken(), deadline: time.Now().Add(s.deadline(qj.Job))}
	job := &archiverpb.ArchiveJob{JobId: qj.ID, Token: a.token, ManifestId: []byte(qj.Job.ManifestID),
		Seq: qj.Job.Seq, DeadlineUnixMs: a.deadline.UnixMilli()}
	job.RedundancyLevel = uint32(s.cfg.Redundancy)
	for _, f := range files(qj.Job) {
		sum := sha256.Sum256(f.Data)
		job.Files = append(job.Files, &archiverpb.JobFile{Name: f.Name, Size: uint64(len(f.Data)), Sha256: sum[:]})
	}
	s.mu.Lock()
	s.assigned[qj.ID] = a
	s.metrics.Dispatched++
	a.timer = time.AfterFunc(time.Until(a.deadline), func() { s.expire(qj.ID, a) })
	if s.cfg.AckTimeout < time.Until(a.deadline) {
		a.ackTimer = time.AfterFunc(s.cfg.AckTimeout, func() { _ = s.unacknowledged(a, "job not acknowledged in time") })
	}
	s.mu.Unlock()
	select {
	case w.Link.notices <- &archiverpb.WorkerNotice{Notice: &archiverpb.WorkerNotice_Job{Job: job}}:
	case <-w.Link.gone: // left between pick and send: reclaim runs (or ran) for it
		s.redispatch(qj.ID, a, "worker left before the job was sent")
	}
}

// expire re-dispatches a job whose worker missed its deadline. The worker
// may still report; its report is then refused as late. A job it has not
// even acknowledged is taken back as at its ack timeout.
func (s *Server) expire(id string, a *assignment) {
	s.mu.Lock()
	if s.missed[id] == nil {
		s.missed[id] = map[*worker]bool{}
	}
	s.missed[id][a.worker] = true
	s.mu.Unlock()
	if s.unacknowledged(a, "deadline passed, job not acknowledged") {
		return
	}
	s.redispatch(id, a, "deadline passed") // acknowledged: late, not silent
}

// unacknowledged handles a job a's worker has not acknowledged in time: it
// does not read its stream, or not in time to work on the job. The worker
// is stalled, given no job until it acknowledges one, and every job it
// has not acknowledged goes back to the queue now, not at its deadline. A
// worker that only lagged acknowledges when it gets to the jobs (it asks
// for one of them, see revived) and is given jobs again. It reports
// whether it took a back; not when a was acknowledged, reported or
// re-dispatched meanwhile, or its worker left.
func (s *Server) unacknowledged(a *assignment, why string) bool {
	w := a.worker
	s.mu.Lock()
	if s.assigned[a.qj.ID] != a || a.acked {
		s.mu.Unlock()
		return false
	}
	select {
	case <-w.Link.gone:
		// Left: reclaim re-dispatches its jobs, after which it forgets
		// what was taken back from it; nothing may be added since.
		s.mu.Unlock()
		return false
	default:
	}
	already := s.workers.Stall(w)
	var mine []*assignment
	for id, b := range s.assigned {
		if b.worker != w || b.acked {
			continue
		}
		// Not claimed either: a report acknowledges (claim).
		delete(s.assigned, id)
		b.timer.Stop()
		if b.ackTimer != nil {
			b.ackTimer.Stop()
		}
		s.revoked[id] = append(s.revoked[id], revocation{worker: w, token: b.token})
		if s.missed[id] == nil {
			s.missed[id] = map[*worker]bool{}
		}
		s.missed[id][w] = true
		s.metrics.Redispatched++
		s.metrics.Unacknowledged++
		mine = append(mine, b)
	}
	s.mu.Unlock()
	if !already {
		s.log.Warn("worker does not acknowledge its jobs; taking them back and giving it none until it does",
			"worker", w.ID, "jobs", len(mine), "reason", why)
	}
	for _, b := range mine {
		s.workers.ReleaseUnacked(w)
		if err := s.queue.Release(b.qj.ID); err != nil {
			s.log.Error("re-queue job", "job", b.qj.ID, "error", err)
		}
	}
	return true
}

// acknowledge records that a's worker fetched or reported the job: it
// reads its stream. A fetch of a job re-dispatched meanwhile says as much.
func (s *Server) acknowledge(a *assignment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acknowledgeLocked(a)
}

// acknowledgeLocked is acknowledge with s.mu held.
func (s *Server) acknowledgeLocked(a *assignment) {
	if s.assigned[a.qj.ID] == a {
		s.ackLocked(a)
		return
	}
	s.unstallLocked(a.worker, false)
}

// ackLocked marks a acknowledged: it no longer counts against its worker's
// bound on unacknowledged jobs, and a stalled worker gets jobs again. s.mu
// must be held.
func (s *Server) ackLocked(a *assignment) {
	held := !a.acked
	if held {
		a.acked = true
		if a.ackTimer != nil {
			a.ackTimer.Stop()
		}
	}
	s.unstallLocked(a.worker, held)
}

// unstallLocked records an acknowledgement by w, of a job it held
// unacknowledged if held: a stalled w is given jobs again and what was
// taken back from it is forgotten. s.mu must be held.
func (s *Server) unstallLocked(w *worker, held bool) {
	if s.workers.Ack(w, held) {
		s.forgetRevokedLocked(w)
		s.log.Info("stalled worker acknowledges again; giving it jobs", "worker", w.ID)
	}
}

// revived wakes the stalled worker a job was taken back from, when it asks
// for that job (FetchJob or ReportResult with its token): it reads its
// stream after all, late. The job itself is someone else's now.
func (s *Server) revived(id string, token []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.revoked[id] {
		if subtle.ConstantTimeCompare(r.token, token) == 1 {
			s.unstallLocked(r.worker, false)
			return
		}
	}
}

// forgetRevoked drops what was taken back from w, once it left.
func (s *Server) forgetRevoked(w *worker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetRevokedLocked(w)
}

// forgetRevokedLocked drops what was taken back from w; s.mu must be held.
func (s *Server) forgetRevokedLocked(w *worker) {
	for id, rs := range s.revoked {
		kept := rs[:0]
		for _, r := range rs {
			if r.worker != w {
				kept = append(kept, r)
			}
		}
		if len(kept) == 0 {
			delete(s.revoked, id)
		} else {
			s.revoked[id] = kept
		}
	}
}

// reclaim re-dispatches every job of a worker that left.
func (s *Server) reclaim(w *worker) {
	s.mu.Lock()
	var mine []*assignment
	for _, a := range s.assigned {
		if a.worker == w {
			mine = append(mine, a)
		}
	}
	s.mu.Unlock()
	for _, a := range mine {
		s.redispatchAfter(a.qj.ID, a, "worker disconnected", s.cfg.AbortGrace)
	}
}

// redispatch returns a job to the queue if a is still its assignment and
// no report of it is being recorded: a claimed job's report decides (it
// finishes the job, or unclaim re-dispatches it).
func (s *Server) redispatch(id string, a *assignment, why string) {
	s.redispatchAfter(id, a, why, 0)
}

// redispatchAfter is redispatch, the job going back to the queue grace
// later if the worker had fetched it (see Config.AbortGrace); a report of
// it is refused from now on.
func (s *Server) redispatchAfter(id string, a *assignment, why string, grace time.Duration) {
	s.mu.Lock()
	if s.assigned[id] != a || a.claimed {
		s.mu.Unlock()
		return // already reported, re-dispatched, or being reported
	}
	delete(s.assigned, id)
	a.timer.Stop()
	if a.ackTimer != nil {
		a.ackTimer.Stop()
	}
	s.metrics.Redispatched++
	unacked := !a.acked
	s.mu.Unlock()
	if unacked {
		s.workers.ReleaseUnacked(a.worker)
	} else {
		s.workers.Release(a.worker)
	}
	requeue := func() {
		if err := s.queue.Release(id); err != nil {
			s.log.Error("re-queue job", "job", id, "error", err)
		}
	}
	if unacked || grace <= 0 {
		s.log.Warn("re-dispatching job", "job", id, "worker", a.worker.ID, "reason", why)
		requeue()
		return
	}
	// The worker fetched it: its upload may still be open on Bee's side.
	s.log.Warn("re-dispatching job once Bee has cleaned up the worker's uploads", "job", id, "worker", a.worker.ID,
		"reason", why, "after", grace)
	time.AfterFunc(grace, func() {
		s.reporting.RLock()
		defer s.reporting.RUnlock()
		if !s.closed { // shutting down: the spool keeps the job for the next start
			requeue()
		}
	})
}

// lookup finds a job's current assignment and checks its token.
func (s *Server) lookup(id string, token []byte) (*assignment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.assigned[id]
	if !ok || subtle.ConstantTimeCompare(a.token, token) != 1 {
		return nil, status.Error(codes.NotFound, "no such job for this token (re-dispatched or finished)")
	}
	return a, nil
}

// claim takes a job's assignment for its report: its deadline is stopped
// and a disconnect of its worker no longer re-dispatches it, so the job
// cannot be handed to another worker (whose lease the report's Done would
// then break, and whose report would record the job a second time) while
// the report is checked and recorded. A report whose deadline already
// fired is late. A report acknowledges the job, whatever its outcome.
func (s *Server) claim(id string, token []byte) (*assignment, error) {
	a, err := s.lookup(id, token)
	if err != nil {
		s.revived(id, token)
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.assigned[id] != a || a.claimed || !a.timer.Stop() {
		s.acknowledgeLocked(a) // late or not, it reports: it reads its stream
		return nil, status.Error(codes.NotFound, "no such job for this token (re-dispatched or finished)")
	}
	a.claimed = true
	s.ackLocked(a)
	return a, nil
}

// unclaim gives a claimed assignment its deadline back: its report was not
// taken, and the worker may report again until then. If the worker left
// meanwhile (its disconnect skipped the claimed job), the job is
// re-dispatched now.
func (s *Server) unclaim(a *assignment) {
	s.mu.Lock()
	if s.assigned[a.qj.ID] != a {
		s.mu.Unlock()
		return
	}
	a.claimed = false
	select {
	case <-a.worker.Link.gone:
		s.mu.Unlock()
		s.redispatch(a.qj.ID, a, "worker left while its report was refused")
	default:
		a.timer.Reset(time.Until(a.deadline))
		s.mu.Unlock()
	}
}

// FetchJob streams a job's files in chunks. Asking for them acknowledges
// the job: the worker reads its stream and works on the job.
func (s *Server) FetchJob(req *archiverpb.FetchJobRequest, stream archiverpb.ArchiverService_FetchJobServer) error {
	a, err := s.lookup(req.GetJobId(), req.GetToken())
	if err != nil {
		s.revived(req.GetJobId(), req.GetToken())
		return err
	}
	s.acknowledge(a)
	for i, f := range files(a.qj.Job) {
		for off := 0; off < len(f.Data) || (off == 0 && len(f.Data) == 0); off += s.cfg.ChunkSize {
			end := min(off+s.cfg.ChunkSize, len(f.Data))
			if err := stream.Send(&archiverpb.JobChunk{File: uint32(i), Offset: uint64(off), Data: f.Data[off:end]}); err != nil {
				return err
			}
			if len(f.Data) == 0 {
				break
			}
		}
	}
	return nil
}

// ReportResult records a job's outcome. Only the current assignment may
// report; a worker whose job was re-dispatched gets NotFound and drops it.
func (s *Server) ReportResult(ctx context.Context, res *archiverpb.JobResult) (*archiverpb.ReportAck, error) {
	s.reporting.RLock()
	defer s.reporting.RUnlock()
	if s.closed {
		return nil, status.Error(codes.Unavailable, "orchestrator shutting down")
	}
	if ok, err := s.reportPublish(res); ok {
		return &archiverpb.ReportAck{}, err
	}
	a, err := s.claim(res.GetJobId(), res.GetToken())
	if err != nil {
		s.mu.Lock()
		s.metrics.LateReports++
		s.mu.Unlock()
		return nil, err
	}
	if res.GetError() != "" {
		return &archiverpb.ReportAck{}, s.failed(ctx, a, res)
	}
	results, err := checkResults(ctx, a.qj.Job, res.GetFiles(), s.cfg.Redundancy, !s.cfg.TrustReferences)
	if err != nil {
		s.unclaim(a)
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.results.Archived(ctx, a.qj.Job, results); err != nil {
		s.unclaim(a)
		return nil, status.Errorf(codes.Internal, "record result: %v", err)
	}
	s.finish(a, func(m *Metrics) { m.Archived++ })
	return &archiverpb.ReportAck{}, nil
}

// failed re-dispatches a retryable failure, or records a gap after the
// last attempt. Only reported failures count: the spool's Attempts also
// counts the returns of jobs whose worker was killed or cut off, and
// those must never turn a segment into a gap.
func (s *Server) failed(ctx context.Context, a *assignment, res *archiverpb.JobResult) error {
	s.mu.Lock()
	s.failures[a.qj.ID]++
	retry := res.GetRetryable() && s.failures[a.qj.ID] < s.cfg.MaxAttempts
	if retry {
		a.claimed = false // this report's decision is to re-dispatch
	}
	s.mu.Unlock()
	if retry {
		s.redispatch(a.qj.ID, a, "worker failed: "+res.GetError())
		return nil
	}
	if err := s.results.Failed(ctx, a.qj.Job, res.GetError()); err != nil {
		s.mu.Lock()
		s.failures[a.qj.ID]-- // not recorded: the next report decides again
		s.mu.Unlock()
		s.unclaim(a)
		return status.Errorf(codes.Internal, "record failure: %v", err)
	}
	s.finish(a, func(m *Metrics) { m.Failed++ })
	return nil
}

// finish ends an assignment whose outcome is recorded.
func (s *Server) finish(a *assignment, count func(*Metrics)) {
	s.mu.Lock()
	if s.assigned[a.qj.ID] == a {
		delete(s.assigned, a.qj.ID)
		a.timer.Stop()
	}
	delete(s.missed, a.qj.ID)
	delete(s.failures, a.qj.ID)
	count(&s.metrics)
	s.mu.Unlock()
	s.workers.Release(a.worker)
	if err := s.queue.Done(a.qj.ID); err != nil {
		s.log.Error("remove finished job from the spool", "job", a.qj.ID, "error", err)
	}
}

// checkResults matches reported files to the job's files and, with verify,
// checks every reference against the one computed offline from the bytes
// the orchestrator holds: a worker cannot record a reference that is not
// the content's.
func checkResults(ctx context.Context, j archiver.Job, got []*archiverpb.FileResult, level redundancy.Level, verify bool) ([]FileResult, error) {
	want := files(j)
	if len(got) != len(want) {
		return nil, fmt.Errorf("reported %d files, job has %d", len(got), len(want))
	}
	out := make([]FileResult, len(got))
	for i, f := range got {
		if f.GetName() != want[i].Name || len(f.GetReference()) != 32 || f.GetBytes() != uint64(len(want[i].Data)) {
			return nil, fmt.Errorf("file %d: reported %q (%d bytes), job has %q (%d bytes)",
				i, f.GetName(), f.GetBytes(), want[i].Name, len(want[i].Data))
		}
		if verify {
			ref, err := chunker.Reference(ctx, want[i].Data, level)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(ref.Bytes(), f.GetReference()) {
				return nil, fmt.Errorf("file %q: reported reference %x, the content's is %s", f.GetName(), f.GetReference(), ref)
			}
		}
		out[i] = FileResult{Name: f.GetName(), Reference: f.GetReference(), Bytes: f.GetBytes(), Chunks: f.GetChunks()}
	}
	return out, nil
}
