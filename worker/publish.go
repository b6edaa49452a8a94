package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/jobspec"
	archiverpb "github.com/lpswarm/archiver/proto"
)

// ErrNoFeedSupport: a publish job carries a feed update but the worker's
// uploader cannot store single-owner chunks.
var ErrNoFeedSupport = errors.New("this worker's uploader cannot store feed updates")

// publish stores a stream's manifest built from the orchestrator's records
// and, when the job carries one, the feed update pointing at it, and
// reports their references.
func (w *Worker) publish(ctx context.Context, job *archiverpb.PublishJob) {
	started := time.Now()
	ctx, cancel := context.WithDeadline(ctx, time.UnixMilli(job.GetDeadlineUnixMs()))
	defer cancel()
	res := &archiverpb.JobResult{JobId: job.GetJobId(), Token: job.GetToken()}
	files, err := w.buildAndStore(ctx, job)
	if err != nil {
		w.cfg.Metrics.failed("publish")
		res.Error, res.Retryable = err.Error(), true
		w.log.Warn("publish failed", "stream", string(job.GetManifestId()), "error", err)
		if outOfPostage(err) {
			w.noPostage(err) // reported retryable, so published by a worker with postage
		}
	} else {
		w.cfg.Metrics.job("published", started)
		res.Files = files
	}
	w.send(ctx, res)
}

func (w *Worker) buildAndStore(ctx context.Context, job *archiverpb.PublishJob) ([]*archiverpb.FileResult, error) {
	level := redundancy.Level(job.GetRedundancyLevel())
	if level != w.redundancy() {
		return nil, errors.New("publish job wants another redundancy level than this worker uploads at")
	}
	spec, err := jobspec.Decode(job)
	if err != nil {
		return nil, err
	}
	update, err := jobspec.DecodeFeed(job)
	if err != nil {
		return nil, err
	}
	up := w.uploader()
	if up == nil {
		return nil, errors.New("no stamp lease yet")
	}
	var fs feed.Storer
	if update != nil {
		// Checked before anything is stored: an update the owner did not
		// sign would be refused by Bee after the manifest was paid for.
		if err := update.Verify(); err != nil {
			return nil, err
		}
		var ok bool
		if fs, ok = up.(feed.Storer); !ok {
			return nil, ErrNoFeedSupport
		}
	}
	a, err := archive.Rebuild(up, spec)
	if err != nil {
		return nil, err
	}
	ref, err := a.Publish(ctx, job.GetFinal())
	if err != nil {
		return nil, err
	}
	files := []*archiverpb.FileResult{{Name: jobspec.FileManifest, Reference: ref.Bytes()}}
	w.log.Info("published", "stream", string(job.GetManifestId()), "final", job.GetFinal(), "reference", ref.String())
	if update == nil {
		return files, nil
	}
	stored, err := feed.Store(ctx, fs, *update, ref, level)
	if err != nil {
		return nil, fmt.Errorf("feed update %d: %w", update.Index, err)
	}
	w.log.Info("feed updated", "stream", string(job.GetManifestId()), "index", stored.Index, "feed", stored.Manifest.String())
	return append(files,
		&archiverpb.FileResult{Name: jobspec.FileFeedManifest, Reference: stored.Manifest.Bytes()},
		&archiverpb.FileResult{Name: jobspec.FileFeedUpdate, Reference: stored.Update.Bytes(), Chunks: 1}), nil
}
