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

// position is where a track's reader is in its source. Archived sequence
// numbers are the source's plus offset: after an encoder restart (the media
// sequence going backwards) offset grows so that the new segments are
// archived after the old ones, under names that cannot collide.
type position struct {
	started  bool
	next     uint64              // next source sequence number to read
	first    uint64              // first sequence number of the last playlist read
	offset   uint64              // archived seq = source seq + offset (mod 2^64)
	archNext uint64              // archived seq after the last one archived
	restarts int                 // encoder restarts seen
	listed   map[uint64]*readSeg // source seq → segments read, while listed
}

// readSeg is a segment read while the source still lists it.
type readSeg struct {
	listing  string  // URI and EXTINF
	v        version // the bytes archived; zero for a gap
	rechecks int
}

// listing identifies what a playlist lists under one sequence number.
func listing(s hls.Segment) string { return s.URI + "\n" + s.Duration }

// restarted reports a media sequence that went backwards, which RFC 8216
// §6.2.1 forbids a running encoder: the source restarted.
func (p *position) restarted(pl *hls.Media) bool {
	if !p.started || len(pl.Segments) == 0 {
		return false
	}
	first, last := pl.Segments[0].Seq, pl.Segments[len(pl.Segments)-1].Seq
	return first < p.first || last+1 < p.next
}

// follow archives one track: every segment its playlist lists, and while
// following, every segment it lists later, in sequence order. ctx ends on
// the stop signal too (cause ErrStopped): reads in flight are cut then.
func (im *importer) follow(ctx context.Context, t track) error {
	p := position{listed: make(map[uint64]*readSeg)}
	inits := make(map[string]string) // init section URL → archived name
	lastGrowth := time.Now()
	for {
		if stopped(ctx) {
			return nil
		}
		pl, err := im.mediaPlaylist(ctx, t.url)
		if stopped(ctx) {
			return nil
		}
		if err != nil && (!im.cfg.Follow || !errors.Is(err, ErrFetch)) {
			return err
		}
		poll := im.cfg.Poll
		if err != nil {
			im.log.Warn("playlist reload failed; retrying", "rendition", t.name, "error", err)
		} else {
			grew, err := im.readPlaylist(ctx, t, pl, &p, inits)
			if err != nil {
				return err
			}
			if grew {
				lastGrowth = time.Now()
			}
			if pl.EndList || !im.cfg.Follow || stopped(ctx) {
				return nil
			}
			if poll <= 0 {
				poll = max(time.Duration(pl.TargetDuration)*time.Second/2, 250*time.Millisecond)
			}
		}
		idle := time.Since(lastGrowth)
		if idle > im.cfg.IdleTimeout {
			im.log.Warn("no new segment within the idle timeout: ending", "rendition", t.name, "idle_timeout", im.cfg.IdleTimeout)
			return nil
		}
		// The idle timeout holds whatever TARGETDURATION says: never wait past it.
		wait := min(max(poll, 250*time.Millisecond), im.cfg.IdleTimeout-idle+time.Millisecond)
		select {
		case <-ctx.Done():
			if stopped(ctx) {
				return nil
			}
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// readPlaylist archives what pl lists that p has not read yet and reports
// whether anything new was listed.
func (im *importer) readPlaylist(ctx context.Context, t track, pl *hls.Media, p *position, inits map[string]string) (bool, error) {
	restart := p.restarted(pl)
	if restart {
		p.restarts++
		first := pl.Segments[0].Seq
		im.log.Warn("media sequence went backwards (encoder restart): archiving the new segments after the old ones, as a discontinuity",
			"rendition", t.name, "last_seq", p.next-1, "new_seq", first, "archived_as", p.archNext, "restarts", p.restarts)
		p.offset, p.next = p.archNext-first, first
		clear(p.listed)
	}
	if len(pl.Segments) > 0 {
		p.first = pl.Segments[0].Seq
	}
	grew := false
	for _, s := range pl.Segments {
		if stopped(ctx) {
			return grew, nil
		}
		if p.started && s.Seq < p.next {
			// Read already; the archive is append-only, so a segment the
			// source relists differently is kept as first read, but said.
			if old, ok := p.listed[s.Seq]; ok {
				im.relisted(ctx, t, s, p.offset, old)
			}
			continue
		}
		if p.started && s.Seq > p.next {
			im.log.Warn("segments left the live window before they were read",
				"rendition", t.name, "from", p.next+p.offset, "to", s.Seq-1+p.offset)
		}
		as := s
		as.Seq = s.Seq + p.offset
		as.Discontinuity = s.Discontinuity || restart
		restart = false
		v, err := im.archiveSegment(ctx, t, as, inits)
		if err != nil {
			return grew, err
		}
		p.listed[s.Seq] = &readSeg{listing: listing(s), v: v}
		p.next, p.archNext, p.started, grew = s.Seq+1, as.Seq+1, true, true
	}
	for seq := range p.listed {
		if seq < p.first {
			delete(p.listed, seq) // left the window: bounded memory
		}
	}
	return grew, nil
}

// relisted warns when a segment read already is listed again with another
// URI or EXTINF, or with other bytes under the same URI. Bytes are compared
// by re-reading: a local file only when its size or modification time
// moved, an http(s) file with If-None-Match when it had a strong ETag (on
// every relisting, as a 304 costs nothing) and otherwise once, on its first
// relisting, so that source traffic at most doubles.
func (im *importer) relisted(ctx context.Context, t track, s hls.Segment, offset uint64, old *readSeg) {
	reason := ""
	if old.listing != listing(s) {
		reason, old.listing = "listed with another URI or duration", listing(s) // warn once per change
	} else if old.v != (version{}) && (old.v.etag != "" || old.v.local() || old.rechecks == 0) {
		old.rechecks++
		changed, v, err := im.recheck(ctx, t, s, old.v)
		if err != nil {
			im.log.Debug("could not re-read an archived segment to compare it", "rendition", t.name, "source_seq", s.Seq, "error", err)
			return
		}
		if changed {
			reason = "its bytes changed under the same URI"
		}
		old.v = v
	}
	if reason != "" {
		im.log.Warn("source changed an archived segment; keeping the first version", "rendition", t.name,
			"seq", s.Seq+offset, "source_seq", s.Seq, "uri", s.URI, "extinf", s.Duration, "change", reason)
	}
}

func (im *importer) recheck(ctx context.Context, t track, s hls.Segment, old version) (bool, version, error) {
	u, err := im.fetch.resolve(t.url, s.URI)
	if err != nil {
		return false, old, err
	}
	release, err := im.acquire(ctx)
	if err != nil {
		return false, old, err
	}
	defer release()
	return im.fetch.changed(ctx, u, old, im.cfg.MaxSegmentBytes)
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
func (im *importer) archiveSegment(ctx context.Context, t track, s hls.Segment, inits map[string]string) (version, error) {
	// The token is held until the bytes are stored: they are in memory until then.
	release, err := im.acquire(ctx)
	if err != nil {
		if stopped(ctx) {
			return version{}, nil // not begun: the archive ends before it
		}
		return version{}, err
	}
	defer release()
	seg := archive.Segment{Seq: s.Seq, Duration: s.Duration, Discontinuity: s.Discontinuity, Ext: hls.SegmentExt(s.URI)}
	r, err := im.sourceSegment(ctx, t, s, &seg, inits)
	if err != nil {
		var se storeError
		if stopped(ctx) {
			return version{}, im.stoppedGap(t, seg)
		}
		if ctx.Err() != nil || errors.As(err, &se) {
			return version{}, err
		}
		im.log.Warn("segment not archived: recorded as a gap", "rendition", t.name, "seq", s.Seq, "error", err)
		return version{}, im.arch.AddGap(t.name, seg, err)
	}
	e, err := im.arch.AddSegment(ctx, t.name, seg, r.data)
	if errors.Is(err, archive.ErrConflict) {
		im.log.Warn("source changed an archived segment; keeping the first version", "rendition", t.name, "seq", s.Seq)
		return version{}, nil
	}
	if err != nil {
		if stopped(ctx) {
			return version{}, im.stoppedGap(t, seg)
		}
		return version{}, err
	}
	im.log.Debug("archived", "rendition", t.name, "seq", s.Seq, "bytes", e.Bytes, "reference", e.Reference.String())
	select {
	case im.newSegments <- struct{}{}:
	default: // the publisher is behind or absent; it publishes at the end anyway
	}
	return r.v, nil
}

// stoppedGap records the segment the stop signal cut while it was read or
// stored: it stays listed, as a gap, rather than vanish silently.
func (im *importer) stoppedGap(t track, seg archive.Segment) error {
	im.log.Warn("stop requested while the segment was read or stored: recorded as a gap", "rendition", t.name, "seq", seg.Seq)
	return im.arch.AddGap(t.name, seg, fmt.Errorf("hlsimport: %w before it was archived", ErrStopped))
}

// stopped reports whether ctx ended because a graceful stop was requested.
func stopped(ctx context.Context) bool { return errors.Is(context.Cause(ctx), ErrStopped) }

// sourceSegment reads a segment (and its fMP4 init section) from the source.
func (im *importer) sourceSegment(ctx context.Context, t track, s hls.Segment, seg *archive.Segment, inits map[string]string) (readResult, error) {
	if s.Gap {
		return readResult{}, errors.New("the source marked it EXT-X-GAP")
	}
	if s.Map != nil {
		name, err := im.initSection(ctx, t, s.Map.URI, inits)
		if err != nil {
			return readResult{}, fmt.Errorf("init section: %w", err)
		}
		seg.Init = name
	}
	u, err := im.fetch.resolve(t.url, s.URI)
	if err != nil {
		return readResult{}, err
	}
	r, err := im.fetch.read(ctx, u, im.cfg.MaxSegmentBytes, "")
	if err == nil && len(r.data) == 0 {
		err = fmt.Errorf("hlsimport: %s: %w", redact(u), ErrEmpty)
	}
	return r, err
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
