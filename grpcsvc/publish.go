package grpcsvc

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/jobspec"
	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/upload"
)

// ErrNoFeedSigner: a publish asked for a feed update, but the service
// holds no signer (Config.FeedSigner).
var ErrNoFeedSigner = errors.New("no feed signer configured")

// Publish requests and their outcome are the dispatcher's.
type (
	PublishRequest = dispatch.PublishRequest
	FeedTarget     = dispatch.FeedTarget
	Published      = dispatch.Published
)

// ErrPublishFailed: no worker stored the manifest within the attempts.
var ErrPublishFailed = dispatch.ErrPublishFailed

// publication is a publish job handed to a worker.
type publication struct {
	token []byte
	done  chan *archiverpb.JobResult
}

// FeedOwner is the address feed updates are signed for; false when the
// service holds no signer.
func (s *Server) FeedOwner() (common.Address, bool) {
	if s.cfg.FeedSigner == nil {
		return common.Address{}, false
	}
	return s.cfg.FeedSigner.Address(), true
}

// Publish has a worker store a stream's manifest, built from req.Spec, and
// with req.Feed the feed update pointing at it. Every reference is known
// in advance (builds are deterministic, the update is signed here) and the
// worker's report must match them; a worker that fails, leaves or misses
// the deadline is replaced.
func (s *Server) Publish(ctx context.Context, req PublishRequest) (Published, error) {
	job := jobspec.Encode(req.ManifestID, req.Spec, req.Final, s.cfg.Redundancy)
	ref, err := Expected(ctx, job)
	if err != nil {
		return Published{}, fmt.Errorf("grpcsvc: build manifest of %s: %w", req.ManifestID, err)
	}
	out := Published{Reference: ref}
	want := map[string]swarm.Address{jobspec.FileManifest: ref}
	if req.Feed != nil {
		if out.Feed, err = s.signFeed(ctx, job, *req.Feed, ref); err != nil {
			return Published{}, fmt.Errorf("grpcsvc: feed of %s: %w", req.ManifestID, err)
		}
		want[jobspec.FileFeedManifest], want[jobspec.FileFeedUpdate] = out.Feed.Manifest, out.Feed.Update
	}
	if err := s.publishVia(ctx, req.ManifestID, job, want); err != nil {
		return Published{}, err
	}
	return out, nil
}

// signFeed signs the update pointing at ref into job and returns where the
// worker must store it. feed.NewUpdate checks the signature: a signer that
// signs with another key than its address is refused here, before any
// worker sees the job.
func (s *Server) signFeed(ctx context.Context, job *archiverpb.PublishJob, t FeedTarget, ref swarm.Address) (*feed.Stored, error) {
	if s.cfg.FeedSigner == nil {
		return nil, ErrNoFeedSigner
	}
	u, err := feed.NewUpdate(s.cfg.FeedSigner, t.Topic, t.Index, ref, time.Now())
	if err != nil {
		return nil, err
	}
	fm, err := feed.ManifestReference(ctx, u.Owner, u.Topic, s.cfg.Redundancy)
	if err != nil {
		return nil, err
	}
	job.Feed = jobspec.EncodeFeed(u)
	return &feed.Stored{Manifest: fm, Update: u.Address(), Index: u.Index}, nil
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

func (s *Server) publishVia(ctx context.Context, manifestID string, job *archiverpb.PublishJob, want map[string]swarm.Address) error {
	return s.d.Publish(ctx, manifestID, func(ctx context.Context, w *worker) error {
		res, err := s.publishOnce(ctx, w, job)
		if err != nil {
			return err
		}
		return checkReport(res.GetFiles(), want)
	})
}

// checkReport accepts a publish report that lists exactly the wanted files
// with the wanted references.
func checkReport(files []*archiverpb.FileResult, want map[string]swarm.Address) error {
	if len(files) != len(want) {
		return fmt.Errorf("reported %d files, want %d", len(files), len(want))
	}
	seen := map[string]bool{}
	for _, f := range files {
		ref, ok := want[f.GetName()]
		if !ok || seen[f.GetName()] {
			return fmt.Errorf("reported an unexpected file %q", f.GetName())
		}
		seen[f.GetName()] = true
		if !bytes.Equal(f.GetReference(), ref.Bytes()) {
			return fmt.Errorf("reported %s %x, not %s", f.GetName(), f.GetReference(), ref)
		}
	}
	return nil
}

// publishOnce sends the job to w and waits for its report.
func (s *Server) publishOnce(ctx context.Context, w *worker, job *archiverpb.PublishJob) (*archiverpb.JobResult, error) {
	p := &publication{token: dispatch.NewToken(), done: make(chan *archiverpb.JobResult, 1)}
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
	case w.Link.notices <- &archiverpb.WorkerNotice{Notice: &archiverpb.WorkerNotice_Publish{Publish: job}}:
	case <-w.Gone():
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
	case <-w.Gone():
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
	c := &archiverpb.PublishJob{JobId: "publish-" + hex.EncodeToString(dispatch.NewToken()), Token: token,
		ManifestId: job.ManifestId, Final: job.Final, RedundancyLevel: job.RedundancyLevel,
		Renditions: job.Renditions, Feed: job.Feed, DeadlineUnixMs: deadline.UnixMilli()}
	return c
}
