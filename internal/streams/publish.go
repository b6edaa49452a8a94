package streams

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/dispatch"
)

// spec builds a stream's archive spec from the index: archived segments by
// reference, gaps as gaps; pending segments are not published yet.
func (s *Streams) spec(id catalog.StreamID, info catalog.StreamInfo) (archive.Spec, int, error) {
	recs, err := s.ix.Records(id)
	if err != nil {
		return archive.Spec{}, 0, err
	}
	byName := map[string]*archive.RenditionSpec{}
	var spec archive.Spec
	for _, r := range info.Renditions {
		spec.Renditions = append(spec.Renditions, archive.RenditionSpec{Name: r.Name, Listing: archive.Listing{Variants: []hls.Variant{{}}}})
	}
	for i := range spec.Renditions {
		byName[spec.Renditions[i].Name] = &spec.Renditions[i]
	}
	segments := 0
	for _, rec := range recs {
		r := byName[rec.Rendition]
		if r == nil || rec.State == catalog.Pending {
			continue
		}
		out := archive.Record{Segment: archive.Segment{Seq: rec.Seq, Duration: rec.Duration, Ext: rec.Ext}, Bytes: rec.Bytes}
		if rec.State == catalog.Gap {
			out.Gap = rec.Error
		} else {
			out.Reference = rec.Reference
			segments++
		}
		r.Segments = append(r.Segments, out)
	}
	return spec, segments, nil
}

// errBusy: a publish of the stream is already in flight; the next sweep
// publishes again if anything changed meanwhile.
var errBusy = errors.New("publish in flight")

// publish publishes a stream unless a publish of it is in flight.
func (s *Streams) publish(ctx context.Context, id catalog.StreamID, final bool) error {
	s.mu.Lock()
	st := s.state[id]
	if st == nil || st.publishing {
		s.mu.Unlock()
		return errBusy
	}
	st.publishing, st.fresh, st.dirty = true, 0, false
	st.due = time.Now().Add(s.cfg.PublishInterval)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		st.publishing = false
		s.mu.Unlock()
	}()
	err := s.publishOnce(ctx, id, final)
	if err != nil {
		s.log.Error("publish failed; retried at the next interval", "stream", id.String(), "error", err)
		s.mu.Lock()
		st.dirty = true
		s.mu.Unlock()
	}
	return err
}

// publishOnce publishes the stream's records, with its feed's next update
// when the publisher keeps feeds, and records both.
//
// The feed's count advances only once the update is stored and recorded
// here. If the orchestrator dies in between, the next publish signs the
// same index again for a newer manifest: Bee replaces a single-owner chunk
// stored again, so the feed points at the newer one (a reader that cached
// the older update sees the older manifest until the update after). Skipping
// the index instead would leave a hole, and a sequence lookup stops at the
// first hole: every later update would be invisible.
func (s *Streams) publishOnce(ctx context.Context, id catalog.StreamID, final bool) error {
	info, err := s.ix.StreamInfo(id)
	if err != nil {
		return err
	}
	spec, segments, err := s.spec(id, info)
	if err != nil {
		return err
	}
	req := dispatch.PublishRequest{ManifestID: id.ManifestID, Spec: spec, Final: final}
	var rec catalog.Feed
	if owner, ok := s.pub.FeedOwner(); ok {
		rec = catalog.Feed{Owner: owner, Topic: feed.StreamTopic(id.Sender, id.ManifestID)}
		if info.Feed.Owner == rec.Owner && info.Feed.Topic == rec.Topic {
			rec.Updates = info.Feed.Updates
		}
		req.Feed = &dispatch.FeedTarget{Topic: rec.Topic, Index: rec.Updates}
	}
	res, err := s.pub.Publish(ctx, req)
	if err != nil {
		return err
	}
	if res.Feed == nil {
		err = s.ix.SetPublished(ctx, id, res.Reference, segments)
	} else {
		rec.Manifest, rec.Updates = res.Feed.Manifest, res.Feed.Index+1
		err = s.ix.SetPublishedFeed(ctx, id, res.Reference, segments, rec)
	}
	if err != nil {
		return err
	}
	s.log.Info("published", "stream", id.String(), "segments", segments, "final", final, "reference", res.Reference.String())
	if res.Feed != nil {
		s.log.Info("feed updated", "stream", id.String(), "index", res.Feed.Index, "feed", res.Feed.Manifest.String())
	}
	return nil
}

// End starts a stream's teardown: the final VOD is published once no
// segment is pending (or after TeardownGrace). A stream already ended and
// published (by the idle timeout) is left alone. One the index does not
// know yet may have its first segment on the way (the intake records
// asynchronously); if it is still unknown IdleTimeout after End, it never
// archived anything (go-livepeer ends every session, archiving or not) and
// is forgotten.
func (s *Streams) End(id catalog.StreamID) {
	s.mu.Lock()
	st := s.state[id]
	s.mu.Unlock()
	if st == nil {
		if info, err := s.ix.StreamInfo(id); err == nil && info.State == catalog.Ended && info.Published.Final {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st = s.state[id]; st == nil {
		st = &stream{}
		s.state[id] = st
	}
	if st.ending.IsZero() {
		st.ending = time.Now()
	}
}

// ErrLostInCrash is the gap reason of a segment the index recorded but the
// spool never stored: the orchestrator stopped between the two writes. It
// was never acknowledged as accepted, so never charged.
var ErrLostInCrash = errors.New("lost: the orchestrator stopped before the segment was spooled")

// Reconcile runs once at start, before any segment arrives: every pending
// record of a stream not yet finished whose job the spool does not hold
// (held reports what it holds) becomes a gap. Without it such a record
// would stay pending for good, and its stream would never be finished.
func (s *Streams) Reconcile(ctx context.Context, held func(id catalog.StreamID, seq int64) bool) error {
	ids, err := s.ix.Streams()
	if err != nil {
		return err
	}
	for _, id := range ids {
		info, err := s.ix.StreamInfo(id)
		if err != nil || info.Published.Final {
			continue
		}
		pending, err := s.ix.Pending(id)
		if err != nil {
			return err
		}
		for _, r := range pending {
			if held(id, int64(r.Seq)) {
				continue
			}
			if err := s.ix.Fail(ctx, id, r.Rendition, r.Seq, ErrLostInCrash.Error(), true); err != nil {
				return err
			}
			s.log.Warn("segment recorded but never spooled: a gap", "stream", id.String(), "rendition", r.Rendition, "seq", r.Seq)
		}
	}
	return nil
}

// Run republishes at the interval, ends idle streams and finishes
// teardowns until ctx ends. It first picks up live streams from the index,
// so a restarted orchestrator continues them, and ended ones whose final
// publish a crash interrupted, so they get it.
func (s *Streams) Run(ctx context.Context) error {
	ids, err := s.ix.Streams()
	if err != nil {
		return err
	}
	for _, id := range ids {
		info, err := s.ix.StreamInfo(id)
		switch {
		case err != nil:
		case info.State == catalog.Live:
			st := s.touch(id, false)
			s.mu.Lock()
			st.dirty = true
			s.mu.Unlock()
		case !info.Published.Final:
			s.End(id)
		}
	}
	tick := time.NewTicker(min(s.cfg.PublishInterval, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		s.sweep(ctx, false)
	}
}

// Sweep applies the interval, idle and teardown rules once, as Run does at
// every tick, with every stream's interval publish due, and returns when
// the publishes and teardowns it started have finished. Run does not need
// it; it lets a caller (a test) see what one sweep does, or that it leaves
// a stream alone, without waiting for ticks.
func (s *Streams) Sweep(ctx context.Context) {
	s.sweep(ctx, true).Wait()
}

// sweep applies the interval, idle and teardown rules once, an interval
// publish when the stream's is due (or for every dirty stream with
// allDue); the returned group finishes with the tasks it started.
func (s *Streams) sweep(ctx context.Context, allDue bool) *sync.WaitGroup {
	type task struct {
		id       catalog.StreamID
		teardown bool
	}
	var tasks []task
	now := time.Now()
	s.mu.Lock()
	for id, st := range s.state {
		switch {
		case st.publishing || st.tearing:
			// one at a time: a slow index must not pile up a
			// goroutine per stream per sweep
		case !st.ending.IsZero():
			st.tearing = true
			tasks = append(tasks, task{id, true})
		case time.Since(st.active) > s.cfg.IdleTimeout:
			st.ending, st.tearing = time.Now(), true
			tasks = append(tasks, task{id, true})
		case st.dirty && (allDue || !now.Before(st.due)):
			tasks = append(tasks, task{id, false})
		}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, t := range tasks {
		if t.teardown {
			wg.Go(func() {
				s.teardown(ctx, t.id)
				s.mu.Lock()
				defer s.mu.Unlock()
				if st := s.state[t.id]; st != nil {
					st.tearing = false
				}
			})
		} else {
			wg.Go(func() { _ = s.publish(ctx, t.id, false) })
		}
	}
	return &wg
}

// teardown publishes the final VOD once nothing is pending, then forgets
// the stream: the index holds all there is to know about it. Jobs still on
// their way into the index count as pending: they are checked first, so a
// job whose record the pending list misses was submitted after this check
// (after End) and is refused as such.
func (s *Streams) teardown(ctx context.Context, id catalog.StreamID) {
	s.mu.Lock()
	st := s.state[id]
	arriving := st != nil && st.arriving > 0
	s.mu.Unlock()
	if st == nil || arriving {
		return // segments are on their way
	}
	pending, err := s.ix.Pending(id)
	if errors.Is(err, catalog.ErrUnknownStream) {
		s.mu.Lock()
		if s.state[id] == st && st.arriving == 0 && time.Since(st.ending) > s.cfg.IdleTimeout {
			delete(s.state, id)
			s.log.Debug("ended stream never archived anything; forgotten", "stream", id.String())
		}
		s.mu.Unlock()
		return
	}
	if err != nil {
		s.log.Error("teardown", "stream", id.String(), "error", err)
		return
	}
	s.mu.Lock()
	expired := time.Since(st.ending) > s.cfg.TeardownGrace
	s.mu.Unlock()
	if len(pending) > 0 {
		// Workers are still archiving it, or none is connected: the
		// jobs wait in the spool. Never finish over them.
		if expired {
			s.log.Warn("stream ended but segments are still pending; waiting", "stream", id.String(), "pending", len(pending))
		}
		return
	}
	// End first: the index then marks the publish final and refuses
	// segments arriving after it.
	if err := s.ix.End(ctx, id); err != nil {
		s.log.Error("end stream", "stream", id.String(), "error", err)
		return
	}
	if err := s.publish(ctx, id, true); err != nil {
		return // the next sweep tries again
	}
	s.mu.Lock()
	if s.state[id] == st && st.arriving == 0 {
		delete(s.state, id)
	}
	s.mu.Unlock()
	s.pub.StreamEnded(id.ManifestID)
}
