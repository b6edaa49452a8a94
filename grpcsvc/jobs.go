package grpcsvc

import (
	"context"
	"errors"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// sendJob delivers the dispatcher's assignment on w's registration stream;
// false when w left first.
func (s *Server) sendJob(w *worker, a dispatch.Assignment) bool {
	job := &archiverpb.ArchiveJob{JobId: a.ID, Token: a.Token, ManifestId: []byte(a.Job.ManifestID),
		Seq: a.Job.Seq, DeadlineUnixMs: a.Deadline.UnixMilli(), RedundancyLevel: uint32(s.cfg.Redundancy)}
	for _, f := range a.Files {
		jf := &archiverpb.JobFile{Name: f.Name, Size: f.Size, Sha256: f.SHA256[:]}
		if !f.Reference.IsZero() {
			jf.Reference = f.Reference.Bytes()
			jf.ChunkAddresses = make([]byte, 0, len(f.Chunks)*swarm.HashSize)
			for _, c := range f.Chunks {
				jf.ChunkAddresses = append(jf.ChunkAddresses, c.Bytes()...)
			}
		}
		job.Files = append(job.Files, jf)
	}
	select {
	case w.Link.notices <- &archiverpb.WorkerNotice{Notice: &archiverpb.WorkerNotice_Job{Job: job}}:
		return true
	case <-w.Gone():
		return false
	}
}

// FetchJob streams a job's files in chunks. Asking for them acknowledges
// the job: the worker reads its stream and works on the job.
func (s *Server) FetchJob(req *archiverpb.FetchJobRequest, stream archiverpb.ArchiverService_FetchJobServer) error {
	j, err := s.d.Fetch(req.GetJobId(), req.GetToken())
	if err != nil {
		return grpcError(err)
	}
	for i, f := range dispatch.Files(j) {
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
	if s.d.Closed() {
		return nil, grpcError(dispatch.ErrClosed)
	}
	if ok, err := s.reportPublish(res); ok {
		return &archiverpb.ReportAck{}, err
	}
	r := dispatch.Report{Err: res.GetError(), Retryable: res.GetRetryable()}
	for _, f := range res.GetFiles() {
		r.Files = append(r.Files, archiver.FileResult{Name: f.GetName(), Reference: f.GetReference(), Bytes: f.GetBytes(), Chunks: f.GetChunks()})
	}
	if err := s.d.Report(ctx, res.GetJobId(), res.GetToken(), r); err != nil {
		return nil, grpcError(err)
	}
	return &archiverpb.ReportAck{}, nil
}

// grpcError maps the dispatcher's errors to the codes workers act on:
// NotFound drops the job, InvalidArgument and Internal may be reported
// again, Unavailable retries later.
func grpcError(err error) error {
	switch {
	case errors.Is(err, dispatch.ErrUnknownJob):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, dispatch.ErrClosed):
		return status.Error(codes.Unavailable, "orchestrator shutting down")
	case errors.Is(err, dispatch.ErrBadReport):
		return status.Error(codes.InvalidArgument, err.Error())
	default:
		return status.Error(codes.Internal, err.Error())
	}
}
