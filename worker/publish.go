package worker

import (
	"context"
	"errors"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/jobspec"
	archiverpb "github.com/lpswarm/archiver/proto"
)

// publish stores a stream's manifest built from the orchestrator's records
// and reports its reference as the single file "manifest".
func (w *Worker) publish(ctx context.Context, job *archiverpb.PublishJob) {
	started := time.Now()
	ctx, cancel := context.WithDeadline(ctx, time.UnixMilli(job.GetDeadlineUnixMs()))
	defer cancel()
	res := &archiverpb.JobResult{JobId: job.GetJobId(), Token: job.GetToken()}
	ref, err := w.buildAndStore(ctx, job)
	if err != nil {
		w.cfg.Metrics.failed("publish")
		res.Error, res.Retryable = err.Error(), true
	} else {
		w.cfg.Metrics.job("published", started)
		res.Files = []*archiverpb.FileResult{{Name: "manifest", Reference: ref}}
	}
	w.send(ctx, res)
}

func (w *Worker) buildAndStore(ctx context.Context, job *archiverpb.PublishJob) ([]byte, error) {
	if redundancy.Level(job.GetRedundancyLevel()) != w.redundancy() {
		return nil, errors.New("publish job wants another redundancy level than this worker uploads at")
	}
	spec, err := jobspec.Decode(job)
	if err != nil {
		return nil, err
	}
	up := w.uploader()
	if up == nil {
		return nil, errors.New("no stamp lease yet")
	}
	a, err := archive.Rebuild(up, spec)
	if err != nil {
		return nil, err
	}
	ref, err := a.Publish(ctx, job.GetFinal())
	if err != nil {
		return nil, err
	}
	w.log.Info("published", "stream", string(job.GetManifestId()), "final", job.GetFinal(), "reference", ref.String())
	return ref.Bytes(), nil
}
