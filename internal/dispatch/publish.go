package dispatch

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/feed"
)

// ErrPublishFailed: no worker stored the manifest within the attempts.
var ErrPublishFailed = errors.New("publish failed")

// PublishRequest is one publish of a stream's manifest.
type PublishRequest struct {
	ManifestID string
	Spec       archive.Spec
	Final      bool
	// Feed, when set, also points the stream's feed at the new manifest.
	Feed *FeedTarget
}

// FeedTarget is the feed update a publish makes: update Index of the
// signer's feed on Topic.
type FeedTarget struct {
	Topic feed.Topic
	Index uint64
}

// Published is what a publish stored.
type Published struct {
	Reference swarm.Address
	Feed      *feed.Stored // nil without a feed update
}

// Publish has up to Config.MaxAttempts workers try a stream's publish, the
// stream's own worker first, each failed worker avoided after: try sends
// the publish to w and checks its report. A publish holds one of the
// worker's publish lanes (PublishLanes), never a segment's slot.
func (d *Dispatcher[L]) Publish(ctx context.Context, stream string, try func(ctx context.Context, w *Worker[L]) error) error {
	avoid := map[*Worker[L]]bool{}
	var last error
	for range d.cfg.MaxAttempts {
		w, err := d.pool.PickPublish(ctx, stream, avoid)
		if err != nil {
			return err
		}
		err = try(ctx, w)
		d.pool.ReleasePublish(w)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("worker %s: %w", w.ID, err)
		avoid[w] = true
		d.log.Warn("publish attempt failed", "stream", stream, "worker", w.ID, "error", err)
	}
	return fmt.Errorf("dispatch: %w: %s: %w", ErrPublishFailed, stream, last)
}
