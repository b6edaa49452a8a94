package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/jobspec"
	"github.com/lpswarm/archiver/proto/archiverpb"
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
	// Only what changed since this worker's last publish of the stream
	// is uploaded: uploading every node again made each publish some 3.3
	// sequential uploads per segment of the stream's whole history.
	stream := string(job.GetManifestId())
	a, err := archive.RebuildFrom(up, spec, w.published.get(stream))
	if err != nil {
		return nil, err
	}
	ref, err := a.Publish(ctx, job.GetFinal())
	if err != nil {
		w.published.drop(stream)
		return nil, err
	}
	if job.GetFinal() {
		w.published.drop(stream)
	} else {
		w.published.put(stream, a.Stored())
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

// The publish cache's bounds: beyond either the least recently published
// stream is forgotten (its next publish here uploads every node again). A
// remembered node costs 168 bytes (BenchmarkPublishedCacheMemory), and a
// stream of three renditions has about 2.3 per segment of its history, so
// the node bound, about 88 MB, is what holds for long streams.
const (
	maxPublishedStreams = 1024
	maxPublishedNodes   = 1 << 19
)

// publishedCache remembers, per stream, the manifest nodes the worker's last
// publish of it stored on its Bee node (archive.RebuildFrom). The
// orchestrator sends a stream's publishes to the worker that archived it
// last, so the next publish usually finds it here.
type publishedCache struct {
	mu         sync.Mutex
	streams    map[string]publishedEntry
	clock      uint64
	nodes      int // remembered nodes, over all streams
	maxStreams int
	maxNodes   int
}

type publishedEntry struct {
	stored archive.Stored
	used   uint64
}

func newPublishedCache() *publishedCache {
	return &publishedCache{streams: map[string]publishedEntry{}, maxStreams: maxPublishedStreams, maxNodes: maxPublishedNodes}
}

// A nil cache remembers nothing (a Worker not made by New).
func (c *publishedCache) get(stream string) archive.Stored {
	if c == nil {
		return archive.Stored{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[stream].stored
}

func (c *publishedCache) put(stream string, s archive.Stored) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	c.forget(stream)
	if s.Len() > c.maxNodes {
		return // larger than the whole cache: not remembered
	}
	for len(c.streams) > 0 && (len(c.streams) >= c.maxStreams || c.nodes+s.Len() > c.maxNodes) {
		oldest, at := "", c.clock
		for k, e := range c.streams {
			if e.used < at {
				oldest, at = k, e.used
			}
		}
		c.forget(oldest)
	}
	c.streams[stream] = publishedEntry{stored: s, used: c.clock}
	c.nodes += s.Len()
}

// drop forgets a stream: it ended, or its publish failed part-way (what
// was stored then is not known).
func (c *publishedCache) drop(stream string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forget(stream)
}

// forget drops a stream's entry; c.mu is held.
func (c *publishedCache) forget(stream string) {
	if e, ok := c.streams[stream]; ok {
		c.nodes -= e.stored.Len()
		delete(c.streams, stream)
	}
}
