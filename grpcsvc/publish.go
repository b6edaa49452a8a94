package grpcsvc

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/jobspec"
	archiverpb "github.com/lpswarm/archiver/proto"
	"github.com/lpswarm/archiver/upload"
)

// ErrPublishFailed: no worker stored the manifest within the attempts.
var ErrPublishFailed = errors.New("publish failed")

// publication is a publish job handed to a worker.
type publication struct {
	token []byte
	done  chan *archiverpb.JobResult
}

// Publish has a worker store a stream's manifest, built from spec, and
// returns its reference. The reference is known in advance (builds are
// deterministic) and the worker's report must match it; a worker that
// fails, leaves or misses the deadline is replaced.
func (s *Server) Publish(ctx context.Context, manifestID string, spec archive.Spec, final bool) (swarm.Address, error) {
	job := jobspec.Encode(manifestID, spec, final, s.cfg.Redundancy)
	ref, err := Expected(ctx, job)
	if err != nil {
		return swarm.ZeroAddress, fmt.Errorf("grpcsvc: build manifest of %s: %w", manifestID, err)
	}
	return s.publishVia(ctx, manifestID, job, ref)
}

// Expected computes offline the manifest reference a publish job yields.
func Expected(ctx context.Context, job *archiverpb.PublishJob) (swarm.Address, error) {
	spec, err := jobspec.Decode(job)
	if err != nil {
		return swarm.ZeroAddress, err
	}
	a, err := archive.Rebuild(upload.Offline{Level: redundancy.Level(job.GetRedundancyLevel())}, spec)
	if err != nil {
		return swarm.ZeroAddress, err
	}
	return a.Publish(ctx, job.GetFinal())
}

func (s *Server) publishVia(ctx context.Context, manifestID string, job *archiverpb.PublishJob, want swarm.Address) (swarm.Address, error) {
	avoid := map[*worker]bool{}
	var last error
	for range s.cfg.MaxAttempts {
		w, err := s.workers.pick(ctx, manifestID, avoid)
		if err != nil {
			return swarm.ZeroAddress, err
		}
		res, err := s.publishOnce(ctx, w, job)
		s.workers.release(w)
		if err == nil {
			if got := res.GetFiles(); len(got) == 1 && bytes.Equal(got[0].GetReference(), want.Bytes()) {
				return want, nil
			}
			err = fmt.Errorf("worker %s reported a manifest other than %s", w.id, want)
		}
		last = err
		avoid[w] = true
		s.log.Warn("publish attempt failed", "stream", manifestID, "worker", w.id, "error", err)
	}
	return swarm.ZeroAddress, fmt.Errorf("grpcsvc: %w: %s: %w", ErrPublishFailed, manifestID, last)
}

// publishOnce sends the job to w and waits for its report.
func (s *Server) publishOnce(ctx context.Context, w *worker, job *archiverpb.PublishJob) (*archiverpb.JobResult, error) {
	p := &publication{token: newToken(), done: make(chan *archiverpb.JobResult, 1)}
	deadline := time.Now().Add(s.cfg.BaseTimeout)
	job = cloneWith(job, p.token, deadline)
	s.mu.Lock()
	s.publishing[job.JobId] = p
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.publishing, job.JobId)
		s.mu.Unlock()
	}()
	select {
	case w.notices <- &archiverpb.WorkerNotice{Notice: &archiverpb.WorkerNotice_Publish{Publish: job}}:
	case <-w.gone:
		return nil, errors.New("worker left")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case res := <-p.done:
		if res.GetError() != "" {
			return nil, errors.New(res.GetError())
		}
		return res, nil
	case <-w.gone:
		return nil, errors.New("worker left")
	case <-timer.C:
		return nil, errors.New("deadline passed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// reportPublish routes a publish report; false when id is no publication.
func (s *Server) reportPublish(res *archiverpb.JobResult) (bool, error) {
	s.mu.Lock()
	p, ok := s.publishing[res.GetJobId()]
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	if subtle.ConstantTimeCompare(p.token, res.GetToken()) != 1 {
		return true, status.Error(codes.NotFound, "no such job for this token")
	}
	select {
	case p.done <- res:
	default: // a duplicate report
	}
	return true, nil
}

func cloneWith(job *archiverpb.PublishJob, token []byte, deadline time.Time) *archiverpb.PublishJob {
	c := &archiverpb.PublishJob{JobId: "publish-" + hex.EncodeToString(newToken()), Token: token,
		ManifestId: job.ManifestId, Final: job.Final, RedundancyLevel: job.RedundancyLevel,
		Renditions: job.Renditions, DeadlineUnixMs: deadline.UnixMilli()}
	return c
}
