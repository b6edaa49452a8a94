package hlsimport

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/hls"
)

// Defaults of Config, stated in the README.
const (
	DefaultMaxSegmentBytes = 64 << 20
	DefaultPublishEvery    = 10
	DefaultPublishInterval = 30 * time.Second
	DefaultIdleTimeout     = 60 * time.Second
	// DefaultSourceStallTimeout: a source that sends nothing for this long
	// in the middle of a file is taken as gone for that file.
	DefaultSourceStallTimeout = 30 * time.Second
	// DefaultMaxConcurrentReads covers a usual ladder (audio and four or
	// five video renditions) while keeping at most 4 × 64 MiB of segments
	// in memory at the default segment limit.
	DefaultMaxConcurrentReads = 4
	maxPlaylistBytes          = 8 << 20
)

// Config tunes an import.
type Config struct {
	// Follow keeps reading live playlists until every rendition has
	// EXT-X-ENDLIST, Stop is closed or IdleTimeout passes without change.
	Follow bool
	// Stop ends following gracefully: the archive is published as a VOD of
	// what was archived so far. Cancelling the context instead aborts.
	Stop <-chan struct{}
	// Poll is the live playlist reload interval; 0 means half the target
	// duration (RFC 8216 §6.3.4), at least 250 ms.
	Poll time.Duration
	// PublishEvery and PublishInterval set the republishing cadence while
	// following: after that many new segments per rendition or that much
	// time, whichever comes first, and always at the end.
	PublishEvery    int
	PublishInterval time.Duration
	// IdleTimeout ends following when no playlist grew for this long.
	IdleTimeout time.Duration
	// SourceStallTimeout ends a read from the source that made no progress
	// (no byte, headers included) for this long, with ErrSourceStalled; it
	// is no total deadline: a large segment may take as long as it keeps
	// coming. 0 means DefaultSourceStallTimeout.
	SourceStallTimeout time.Duration
	// MaxSegmentBytes refuses larger segments (they become gaps).
	MaxSegmentBytes int64
	// MaxConcurrentReads bounds the playlists and segments read (and held
	// until archived) at once, all renditions together, so memory stays
	// within MaxConcurrentReads × MaxSegmentBytes however many renditions a
	// master lists. 0 means DefaultMaxConcurrentReads.
	MaxConcurrentReads int
	// AllowOrigins lists http(s) origins ("https://cdn.example:443") that
	// may be read besides the input URL's own origin (before redirects).
	// Absolute URIs and redirects to any other origin are refused: a segment
	// becomes a gap, a media playlist an error. A local import reads no
	// origin but these.
	AllowOrigins []string
	// HTTPClient fetches remote playlists and segments. Run uses a copy
	// whose redirect policy also refuses origins not allowed.
	HTTPClient *http.Client
	// OnPublish is called after every publish with the manifest reference
	// (e.g. to update the stream's feed); an error ends the import as a
	// failed publish would.
	OnPublish func(ctx context.Context, ref swarm.Address, final bool) error
	Logger    *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxSegmentBytes <= 0 {
		c.MaxSegmentBytes = DefaultMaxSegmentBytes
	}
	if c.PublishEvery <= 0 {
		c.PublishEvery = DefaultPublishEvery
	}
	if c.PublishInterval <= 0 {
		c.PublishInterval = DefaultPublishInterval
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.SourceStallTimeout <= 0 {
		c.SourceStallTimeout = DefaultSourceStallTimeout
	}
	if c.MaxConcurrentReads <= 0 {
		c.MaxConcurrentReads = DefaultMaxConcurrentReads
	}
	if c.HTTPClient == nil {
		// Keep-alive connections for every concurrent read, not net/http's 2.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = c.MaxConcurrentReads
		c.HTTPClient = &http.Client{Timeout: 2 * time.Minute, Transport: tr}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.OnPublish == nil {
		c.OnPublish = func(context.Context, swarm.Address, bool) error { return nil }
	}
	return c
}

// Result is the outcome of an import.
type Result struct {
	Reference swarm.Address // final manifest
	Stats     archive.Stats
}

// importer is one run of Run.
type importer struct {
	cfg   Config
	arch  *archive.Archive
	fetch *fetcher
	log   *slog.Logger

	newSegments chan struct{} // one token per archived segment, for the publisher
	reads       chan struct{} // one token per read in flight: Config.MaxConcurrentReads
}

// Run archives the HLS stream at input (a folder, a playlist file or an
// http(s) playlist URL) into arch and publishes it as a VOD.
func Run(ctx context.Context, arch *archive.Archive, input string, cfg Config) (Result, error) {
	cfg = cfg.withDefaults()
	src, err := locate(input)
	if err != nil {
		return Result{}, err
	}
	var typed *url.URL // the origin the operator typed; none for a local import
	if src.dir != nil {
		defer src.dir.Close()
	} else {
		typed = src.top
	}
	allowed, err := newOrigins(typed, cfg.AllowOrigins)
	if err != nil {
		return Result{}, err
	}
	im := &importer{
		cfg: cfg, arch: arch, log: cfg.Logger,
		fetch: &fetcher{http: allowed.confine(cfg.HTTPClient), root: src.root, dir: src.dir, origins: allowed,
			attempts: 4, backoff: 250 * time.Millisecond, stall: cfg.SourceStallTimeout},
		newSegments: make(chan struct{}, 1024),
		reads:       make(chan struct{}, cfg.MaxConcurrentReads),
	}
	tracks, err := im.tracks(ctx, src.top, src.named)
	if err != nil {
		return Result{}, err
	}
	for _, t := range tracks {
		if err := arch.AddRendition(t.name, t.listing); err != nil {
			return Result{}, err
		}
	}
	if err := im.archiveAll(ctx, tracks); err != nil {
		return Result{}, err
	}
	ref, err := arch.Publish(ctx, true)
	if err != nil {
		return Result{}, err
	}
	if err := cfg.OnPublish(ctx, ref, true); err != nil {
		return Result{}, err
	}
	return Result{Reference: ref, Stats: arch.Stats()}, nil
}

// tracks reads the top playlist and lists the renditions to archive; a lone
// media playlist's is named after named, the path the operator gave.
func (im *importer) tracks(ctx context.Context, top *url.URL, named string) ([]track, error) {
	data, err := im.fetch.fetch(ctx, top, maxPlaylistBytes)
	if err != nil {
		return nil, err
	}
	pl, err := hls.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("hlsimport: %s: %w", redact(top), err)
	}
	var n namer
	master, ok := pl.(*hls.Master)
	if !ok {
		return []track{{name: n.name(named, "stream"), url: top, listing: archive.Listing{Variants: []hls.Variant{{}}}}}, nil
	}
	// A media playlist listed several times (ffmpeg lists an audio track as
	// EXT-X-MEDIA and as a variant) is archived once.
	var out []*track
	byURL := make(map[string]*track)
	add := func(uri, fallback string) (*track, error) {
		u, err := im.fetch.resolve(top, uri)
		if err != nil {
			return nil, err
		}
		// Refused here, before anything is archived or published: a whole
		// rendition missing is no gap a player would show.
		if u.Scheme != "file" {
			if err := im.fetch.origins.check(u); err != nil {
				return nil, fmt.Errorf("hlsimport: media playlist %s: %w", redact(u), err)
			}
		}
		if t, ok := byURL[u.String()]; ok {
			return t, nil
		}
		t := &track{name: n.name(uri, fallback), url: u}
		byURL[u.String()] = t
		out = append(out, t)
		return t, nil
	}
	for i, v := range master.Variants {
		t, err := add(v.URI, fmt.Sprintf("v%d", i))
		if err != nil {
			return nil, err
		}
		t.listing.Variants = append(t.listing.Variants, v)
	}
	for i, r := range master.Renditions {
		if r.URI == "" {
			continue // carried inside the variant streams
		}
		t, err := add(r.URI, fmt.Sprintf("%s%d", lowerType(r.Type), i))
		if err != nil {
			return nil, err
		}
		t.listing.Media = append(t.listing.Media, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("hlsimport: %s: %w: master playlist lists no stream", redact(top), ErrNoPlaylist)
	}
	tracks := make([]track, len(out))
	for i, t := range out {
		tracks[i] = *t
	}
	return tracks, nil
}

func lowerType(t string) string {
	switch t {
	case "AUDIO":
		return "audio"
	case "SUBTITLES":
		return "subtitles"
	}
	return "media"
}

// acquire takes one of the MaxConcurrentReads read tokens; release it with
// the returned func once what was read is archived.
func (im *importer) acquire(ctx context.Context) (release func(), err error) {
	select {
	case im.reads <- struct{}{}:
		return func() { <-im.reads }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// archiveAll runs one reader per track and, while following, the publisher.
// Readers are cheap goroutines; what they read at once is bounded by
// acquire, so that following live renditions all keep their place however
// many there are.
func (im *importer) archiveAll(ctx context.Context, tracks []track) error {
	g, gctx := errgroup.WithContext(ctx)
	// Readers work under readCtx, which the stop signal ends (cause
	// ErrStopped): a segment trickling in or an upload Bee does not answer
	// must not hold up publishing what was archived.
	readCtx, cancelReads := context.WithCancelCause(gctx)
	defer cancelReads(nil)
	var readers sync.WaitGroup
	for _, t := range tracks {
		readers.Add(1)
		g.Go(func() error {
			defer readers.Done()
			return im.follow(readCtx, t)
		})
	}
	done := make(chan struct{})
	go func() { readers.Wait(); close(done) }()
	if im.cfg.Follow {
		g.Go(func() error { return im.publishLoop(gctx, done, im.cfg.PublishEvery*len(tracks)) })
		go im.watchStop(done, cancelReads)
	}
	return g.Wait()
}

// watchStop turns Config.Stop into the importer's stop signal.
func (im *importer) watchStop(done <-chan struct{}, cancelReads context.CancelCauseFunc) {
	select {
	case <-im.cfg.Stop:
		im.log.Info("stop requested: finishing the archive with what was archived so far")
		cancelReads(ErrStopped)
	case <-done:
	}
}

// publishLoop republishes the live archive at the configured cadence:
// every segments new segments (all renditions together) or PublishInterval.
func (im *importer) publishLoop(ctx context.Context, done <-chan struct{}, every int) error {
	tick := time.NewTicker(im.cfg.PublishInterval)
	defer tick.Stop()
	pending := 0
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return nil
		case <-im.newSegments:
			if pending++; pending < every {
				continue
			}
		case <-tick.C:
			if pending == 0 {
				continue
			}
		}
		ref, err := im.arch.Publish(ctx, false)
		if err != nil {
			return err
		}
		pending = 0
		im.log.Info("published live archive", "reference", ref.String())
		if err := im.cfg.OnPublish(ctx, ref, false); err != nil {
			return err
		}
	}
}
