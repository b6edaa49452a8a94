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

	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/orchestrator"
	archiverpb "github.com/lpswarm/archiver/proto"
)

// files lists a job's files in the order FetchJob sends them: the source,
// then the renditions.
func files(j orchestrator.Job) []orchestrator.Rendition {
	out := []orchestrator.Rendition{{Name: "source", Data: j.Source}}
	return append(out, j.Renditions...)
}

// assign hands a job to a worker (whose capacity pick reserved) and arms
// its deadline.
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
	s.mu.Unlock()
	select {
	case w.notices <- &archiverpb.WorkerNotice{Notice: &archiverpb.WorkerNotice_Job{Job: job}}:
	case <-w.gone: // left between pick and send: reclaim runs (or ran) for it
		s.redispatch(qj.ID, a, "worker left before the job was sent")
	}
}

// expire re-dispatches a job whose worker missed its deadline. The worker
// may still report; its report is then refused as late.
func (s *Server) expire(id string, a *assignment) {
	s.mu.Lock()
	if s.missed[id] == nil {
		s.missed[id] = map[*worker]bool{}
	}
	s.missed[id][a.worker] = true
	s.mu.Unlock()
	s.redispatch(id, a, "deadline passed")
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
		s.redispatch(a.qj.ID, a, "worker disconnected")
	}
}

// redispatch returns a job to the queue if a is still its assignment and
// no report of it is being recorded: a claimed job's report decides (it
// finishes the job, or unclaim re-dispatches it).
func (s *Server) redispatch(id string, a *assignment, why string) {
	s.mu.Lock()
	if s.assigned[id] != a || a.claimed {
		s.mu.Unlock()
		return // already reported, re-dispatched, or being reported
	}
	delete(s.assigned, id)
	a.timer.Stop()
	s.metrics.Redispatched++
	s.mu.Unlock()
	s.workers.release(a.worker)
	s.log.Warn("re-dispatching job", "job", id, "worker", a.worker.id, "reason", why)
	if err := s.queue.Release(id); err != nil {
		s.log.Error("re-queue job", "job", id, "error", err)
	}
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
// fired is late.
func (s *Server) claim(id string, token []byte) (*assignment, error) {
	a, err := s.lookup(id, token)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.assigned[id] != a || a.claimed || !a.timer.Stop() {
		return nil, status.Error(codes.NotFound, "no such job for this token (re-dispatched or finished)")
	}
	a.claimed = true
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
	case <-a.worker.gone:
		s.mu.Unlock()
		s.redispatch(a.qj.ID, a, "worker left while its report was refused")
	default:
		a.timer.Reset(time.Until(a.deadline))
		s.mu.Unlock()
	}
}

// FetchJob streams a job's files in chunks.
func (s *Server) FetchJob(req *archiverpb.FetchJobRequest, stream archiverpb.ArchiverService_FetchJobServer) error {
	a, err := s.lookup(req.GetJobId(), req.GetToken())
	if err != nil {
		return err
	}
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
	s.workers.release(a.worker)
	if err := s.queue.Done(a.qj.ID); err != nil {
		s.log.Error("remove finished job from the spool", "job", a.qj.ID, "error", err)
	}
}

// checkResults matches reported files to the job's files and, with verify,
// checks every reference against the one computed offline from the bytes
// the orchestrator holds: a worker cannot record a reference that is not
// the content's.
func checkResults(ctx context.Context, j orchestrator.Job, got []*archiverpb.FileResult, level redundancy.Level, verify bool) ([]FileResult, error) {
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
