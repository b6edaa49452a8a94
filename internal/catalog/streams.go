package catalog

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	bolt "go.etcd.io/bbolt"

	"github.com/lpswarm/archiver/hls"
)

// Rendition registers a rendition of a stream, creating the stream (Live)
// on its first rendition. Registering a name again is a no-op that keeps
// the first listing: the master playlist must not change under a VOD.
func (ix *Index) Rendition(ctx context.Context, id StreamID, name string, listing []byte) error {
	op := fmt.Sprintf("rendition %s %q", id, name)
	// Names become manifest paths (<rendition>/<seq><ext>).
	if err := hls.ValidName(name); err != nil {
		return fmt.Errorf("index: %s: %w: %w", op, ErrInvalid, err)
	}
	return ix.update(ctx, op, func(tx *bolt.Tx) error { return ix.rendition(tx, id, name, listing) })
}

// rendition is Rendition's transaction.
func (ix *Index) rendition(tx *bolt.Tx, id StreamID, name string, listing []byte) error {
	s, err := createStream(tx, id, ix.now())
	if err != nil {
		return err
	}
	if s.renditions.Get([]byte(name)) != nil {
		return nil
	}
	m, err := s.meta()
	if err != nil {
		return err
	}
	if m.State == Ended {
		return ErrEnded
	}
	// The bucket's sequence starts at 1; ordinals start at 0 so the
	// first rendition's records sort first.
	next, err := s.renditions.NextSequence()
	if err != nil {
		return err
	}
	if next > math.MaxUint32 {
		return fmt.Errorf("%w: too many renditions", ErrInvalid)
	}
	return s.renditions.Put([]byte(name), encodeRendition(uint32(next-1), listing))
}

// SetPublished records the manifest last published for a stream, listing
// segments segments. A publish listing fewer segments than the recorded one
// is ErrStalePublish.
func (ix *Index) SetPublished(ctx context.Context, id StreamID, ref swarm.Address, segments int) error {
	return ix.setPublished(ctx, id, ref, segments, nil)
}

// SetPublishedFeed records a publish as SetPublished does and, in the same
// transaction, the feed update that points at it: f.Updates is the index of
// that update plus one. A feed must advance: f.Updates not above the
// recorded count of the same feed (owner and topic) is ErrStalePublish;
// another owner or topic starts a new count.
func (ix *Index) SetPublishedFeed(ctx context.Context, id StreamID, ref swarm.Address, segments int, f Feed) error {
	if f.Updates == 0 || f.Manifest.IsZero() {
		return fmt.Errorf("index: set published feed %s: %w: %d updates, feed manifest %s", id, ErrInvalid, f.Updates, f.Manifest)
	}
	return ix.setPublished(ctx, id, ref, segments, &f)
}

func (ix *Index) setPublished(ctx context.Context, id StreamID, ref swarm.Address, segments int, f *Feed) error {
	op := fmt.Sprintf("set published %s", id)
	if ref.IsZero() || segments < 0 {
		return fmt.Errorf("index: %s: %w: reference %s, %d segments", op, ErrInvalid, ref, segments)
	}
	return ix.update(ctx, op, func(tx *bolt.Tx) error {
		s, err := openStream(tx, id)
		if err != nil {
			return err
		}
		m, err := s.meta()
		if err != nil {
			return err
		}
		if segments < m.Published.Segments {
			return fmt.Errorf("%w: %d segments, recorded %d", ErrStalePublish, segments, m.Published.Segments)
		}
		if f != nil {
			old, err := s.feed()
			if err != nil {
				return err
			}
			if old.Owner == f.Owner && old.Topic == f.Topic && f.Updates <= old.Updates {
				return fmt.Errorf("%w: feed update %d, recorded %d", ErrStalePublish, f.Updates-1, old.Updates)
			}
			if err := s.b.Put(keyFeed, f.encode()); err != nil {
				return err
			}
		}
		m.Published = Publish{Reference: ref, Segments: segments, At: ix.now(), Final: m.State == Ended}
		return s.putMeta(m)
	})
}

// End marks a stream Ended. It takes no new segments or renditions; pending
// records may still complete or fail. Ending twice keeps the first time.
func (ix *Index) End(ctx context.Context, id StreamID) error {
	return ix.update(ctx, fmt.Sprintf("end %s", id), func(tx *bolt.Tx) error {
		s, err := openStream(tx, id)
		if err != nil {
			return err
		}
		m, err := s.meta()
		if err != nil || m.State == Ended {
			return err
		}
		m.State, m.Ended = Ended, ix.now()
		return s.putMeta(m)
	})
}

// StreamInfo returns a stream's metadata and renditions.
func (ix *Index) StreamInfo(id StreamID) (StreamInfo, error) {
	info := StreamInfo{ID: id}
	err := ix.view(fmt.Sprintf("stream info %s", id), func(tx *bolt.Tx) error {
		s, err := openStream(tx, id)
		if err != nil {
			return err
		}
		m, err := s.meta()
		if err != nil {
			return err
		}
		info.State, info.Created, info.Ended, info.Published = m.State, m.Created, m.Ended, m.Published
		if info.Feed, err = s.feed(); err != nil {
			return err
		}
		info.Renditions, err = s.renditionList()
		return err
	})
	if err != nil {
		return StreamInfo{}, err
	}
	return info, nil
}

// renditionList returns the renditions in first-seen order.
func (s stream) renditionList() ([]RenditionInfo, error) {
	type entry struct {
		ord uint32
		RenditionInfo
	}
	var list []entry
	err := s.renditions.ForEach(func(k, v []byte) error {
		ord, listing, err := decodeRendition(v)
		list = append(list, entry{ord, RenditionInfo{Name: string(k), Listing: listing}})
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b entry) int { return cmp.Compare(a.ord, b.ord) })
	out := make([]RenditionInfo, len(list))
	for i, e := range list {
		out[i] = e.RenditionInfo
	}
	return out, nil
}

// Streams lists every stream, ordered by sender, then manifest id.
func (ix *Index) Streams() ([]StreamID, error) {
	var out []StreamID
	err := ix.view("streams", func(tx *bolt.Tx) error {
		return tx.Bucket(keyStreams).ForEach(func(k, v []byte) error {
			if v != nil {
				return fmt.Errorf("%w: value %q among streams", ErrCorrupt, bytes.Clone(k))
			}
			id, err := streamFromKey(k)
			out = append(out, id)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
