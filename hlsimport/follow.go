package hlsimport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/hls"
)

// follow archives one track: every segment its playlist lists, and while
// following, every segment it lists later, in sequence order.
func (im *importer) follow(ctx context.Context, t track) error {
	var next uint64
	started := false
	inits := make(map[string]string) // init section URL → archived name
	lastGrowth := time.Now()
	for {
		pl, err := im.mediaPlaylist(ctx, t.url)
		if err != nil && (!im.cfg.Follow || !errors.Is(err, ErrFetch)) {
			return err
		}
		poll := im.cfg.Poll
		if err != nil {
			im.log.Warn("playlist reload failed; retrying", "rendition", t.name, "error", err)
		} else {
			for _, s := range pl.Segments {
				if started && s.Seq < next {
					continue
				}
				if started && s.Seq > next {
					im.log.Warn("segments left the live window before they were read",
						"rendition", t.name, "from", next, "to", s.Seq-1)
				}
				if err := im.archiveSegment(ctx, t, s, inits); err != nil {
					return err
				}
				next, started, lastGrowth = s.Seq+1, true, time.Now()
			}
			if pl.EndList || !im.cfg.Follow {
				return nil
			}
			if poll <= 0 {
				poll = max(time.Duration(pl.TargetDuration)*time.Second/2, 250*time.Millisecond)
			}
		}
		if time.Since(lastGrowth) > im.cfg.IdleTimeout {
			im.log.Warn("no new segment within the idle timeout: ending", "rendition", t.name, "idle_timeout", im.cfg.IdleTimeout)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-im.stop:
			return nil
		case <-time.After(max(poll, 250*time.Millisecond)):
		}
	}
}

func (im *importer) mediaPlaylist(ctx context.Context, u *url.URL) (*hls.Media, error) {
	release, err := im.acquire(ctx)
	if err != nil {
		return nil, err
	}
	data, err := im.fetch.fetch(ctx, u, maxPlaylistBytes)
	release()
	if err != nil {
		return nil, err
	}
	pl, err := hls.ParseMedia(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("hlsimport: %s: %w", redact(u), err)
	}
	return pl, nil
}

// archiveSegment fetches and archives one segment. What the source fails to
// deliver becomes a gap; what Swarm fails to store after retries is an error.
func (im *importer) archiveSegment(ctx context.Context, t track, s hls.Segment, inits map[string]string) error {
	// The token is held until the bytes are stored: they are in memory until then.
	release, err := im.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	seg := archive.Segment{Seq: s.Seq, Duration: s.Duration, Discontinuity: s.Discontinuity, Ext: hls.SegmentExt(s.URI)}
	data, err := im.sourceSegment(ctx, t, s, &seg, inits)
	if err != nil {
		var se storeError
		if ctx.Err() != nil || errors.As(err, &se) {
			return err
		}
		im.log.Warn("segment not archived: recorded as a gap", "rendition", t.name, "seq", s.Seq, "error", err)
		return im.arch.AddGap(t.name, seg, err)
	}
	e, err := im.arch.AddSegment(ctx, t.name, seg, data)
	if errors.Is(err, archive.ErrConflict) {
		im.log.Warn("source changed an archived segment; keeping the first version", "rendition", t.name, "seq", s.Seq)
		return nil
	}
	if err != nil {
		return err
	}
	im.log.Debug("archived", "rendition", t.name, "seq", s.Seq, "bytes", e.Bytes, "reference", e.Reference.String())
	select {
	case im.newSegments <- struct{}{}:
	default: // the publisher is behind or absent; it publishes at the end anyway
	}
	return nil
}

// sourceSegment reads a segment (and its fMP4 init section) from the source.
func (im *importer) sourceSegment(ctx context.Context, t track, s hls.Segment, seg *archive.Segment, inits map[string]string) ([]byte, error) {
	if s.Gap {
		return nil, errors.New("the source marked it EXT-X-GAP")
	}
	if s.Map != nil {
		name, err := im.initSection(ctx, t, s.Map.URI, inits)
		if err != nil {
			return nil, fmt.Errorf("init section: %w", err)
		}
		seg.Init = name
	}
	u, err := im.fetch.resolve(t.url, s.URI)
	if err != nil {
		return nil, err
	}
	data, err := im.fetch.fetch(ctx, u, im.cfg.MaxSegmentBytes)
	if err == nil && len(data) == 0 {
		err = fmt.Errorf("hlsimport: %s: %w", redact(u), ErrEmpty)
	}
	return data, err
}

func (im *importer) initSection(ctx context.Context, t track, uri string, inits map[string]string) (string, error) {
	u, err := im.fetch.resolve(t.url, uri)
	if err != nil {
		return "", err
	}
	if name, ok := inits[u.String()]; ok {
		return name, nil
	}
	data, err := im.fetch.fetch(ctx, u, im.cfg.MaxSegmentBytes)
	if err != nil {
		return "", err
	}
	if len(data) == 0 {
		return "", fmt.Errorf("hlsimport: %s: %w", redact(u), ErrEmpty)
	}
	name, err := im.arch.AddInit(ctx, t.name, data)
	if err != nil {
		return "", storeError{err}
	}
	inits[u.String()] = name
	return name, nil
}

// storeError marks a failure to store on Swarm, which ends the import, as
// opposed to a source failure, which leaves a gap.
type storeError struct{ error }

func (e storeError) Unwrap() error { return e.error }
