package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/hlsimport"
	"github.com/lpswarm/archiver/internal/cliflags"
	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/upload"
)

// importConfig is the import command's flags.
type importConfig struct {
	beeURL          string
	stamping        stampingConfig
	redundancy      uint
	follow          bool
	poll            time.Duration
	publishEvery    int
	publishInterval time.Duration
	idleTimeout     time.Duration
	maxSegmentBytes int64
	maxReads        int
	sourceStall     time.Duration
	beeStall        time.Duration
	allowOrigins    string
	origins         []string // allowOrigins, parsed
	waitSynced      time.Duration
	feed            bool
	feedName        string
	verbose         bool
	input           string
}

// importFlags binds the import command's flags to c.
func importFlags(c *importConfig, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: archiver-node import [flags] <folder | playlist file | http(s) playlist URL>")
		fmt.Fprintln(stderr, "\n"+cliflags.EnvHelp("postageBatch"))
		fs.PrintDefaults()
	}
	fs.StringVar(&c.beeURL, "bee", "http://127.0.0.1:1633", "Bee API URL")
	fs.StringVar(&c.stamping.batches, "postageBatch", "", "postage batch id, or a comma-separated list used in order (node stamping: immutable batches only)")
	fs.StringVar(&c.stamping.mode, "stamping", "node", "who stamps chunks: node (the Bee node, with its own batch) or client (this process, with -ethKeystorePath)")
	fs.StringVar(&c.stamping.keyFile, "ethKeystorePath", "", "client stamping: go-ethereum keystore file of the batch owner")
	fs.StringVar(&c.stamping.passwordFile, "ethPassword", "", "client stamping: the keystore password, or a file holding it")
	fs.StringVar(&c.stamping.stateDir, "issuerState", defaultStateDir(), "client stamping: durable stamp issuer state; never delete or share it")
	fs.UintVar(&c.redundancy, "redundancy", uint(redundancy.MEDIUM), "Swarm-Redundancy-Level 0-4 (none, medium, strong, insane, paranoid)")
	fs.BoolVar(&c.follow, "follow", false, "follow a live playlist until EXT-X-ENDLIST, a stop signal or -idleTimeout")
	fs.DurationVar(&c.poll, "poll", 0, "live playlist reload interval (default: half the target duration)")
	fs.IntVar(&c.publishEvery, "publishEvery", hlsimport.DefaultPublishEvery, "while following, republish the manifest after this many new segments per rendition")
	fs.DurationVar(&c.publishInterval, "publishInterval", hlsimport.DefaultPublishInterval, "while following, republish at least this often when segments arrived")
	fs.DurationVar(&c.idleTimeout, "idleTimeout", hlsimport.DefaultIdleTimeout, "while following, end when no segment arrived for this long")
	fs.Int64Var(&c.maxSegmentBytes, "maxSegmentBytes", hlsimport.DefaultMaxSegmentBytes, "refuse larger segments (they become gaps)")
	fs.IntVar(&c.maxReads, "maxConcurrentReads", hlsimport.DefaultMaxConcurrentReads,
		"playlists and segments read at once, all renditions together: memory stays within this times -maxSegmentBytes")
	fs.DurationVar(&c.sourceStall, "sourceStallTimeout", hlsimport.DefaultSourceStallTimeout,
		"end a playlist or segment read after this long without a byte from the source (the segment becomes a gap); not a total deadline")
	fs.DurationVar(&c.beeStall, "beeStallTimeout", bee.DefaultStallTimeout,
		"fail with \"Bee is not answering\" after this long without progress on a Bee request; not a total deadline")
	fs.StringVar(&c.allowOrigins, "allowOrigins", "",
		"comma-separated http(s) origins (scheme://host:port) read besides the input URL's own; absolute URIs and redirects to others are refused")
	fs.DurationVar(&c.waitSynced, "waitSynced", 0, "after publishing, wait up to this long until Bee reports every chunk synced to the network (real networks; dev nodes never sync)")
	fs.BoolVar(&c.feed, "feed", true, "with a key (-ethKeystorePath), update the stream's feed after every publish: one stable URL that plays the latest archive")
	fs.StringVar(&c.feedName, "feedName", "", "names the stream's feed (default: the input, absolute for a local path, without query for a URL)")
	fs.BoolVar(&c.verbose, "v", false, "log every archived segment")
	return fs
}

func parseImport(args []string, stderr io.Writer) (importConfig, error) {
	var c importConfig
	fs := importFlags(&c, stderr)
	if err := flagSurface(fs, stderr, "").Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return c, fmt.Errorf("%w: import takes exactly one input", errUsage)
	}
	c.input = fs.Arg(0)
	if err := c.stamping.validate(false); err != nil {
		return c, fmt.Errorf("%w: %w", errUsage, err)
	}
	if !redundancy.Level(c.redundancy).Validate() {
		return c, fmt.Errorf("%w: -redundancy must be 0-4", errUsage)
	}
	if c.maxReads < 1 {
		return c, fmt.Errorf("%w: -maxConcurrentReads must be at least 1", errUsage)
	}
	if c.sourceStall <= 0 || c.beeStall <= 0 {
		return c, fmt.Errorf("%w: -sourceStallTimeout and -beeStallTimeout must be positive", errUsage)
	}
	origins, err := hlsimport.ParseOrigins(c.allowOrigins)
	if err != nil {
		return c, fmt.Errorf("%w: -allowOrigins: %w", errUsage, err)
	}
	c.origins = origins
	return c, nil
}

func runImport(ctx context.Context, stop <-chan struct{}, args []string, stdout, stderr io.Writer) error {
	c, err := parseImport(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	client, err := bee.New(c.beeURL, bee.WithStallTimeout(c.beeStall))
	if err != nil {
		return err
	}
	rLevel := redundancy.Level(c.redundancy)
	up, key, closeUp, err := importUploader(ctx, client, c.stamping, c.feed, upload.Config{Redundancy: rLevel, TrackTags: true})
	if err != nil {
		return err
	}
	defer func() {
		if err := closeUp(); err != nil {
			log.Error("closing the stamp issuer", "error", err)
		}
	}()
	var fu *feed.Updater
	if key != nil {
		signer := feed.KeySigner(key)
		if fu, err = feed.Resume(ctx, client, up, signer, feed.StreamTopic(signer.Address(), feedName(c)), rLevel); err != nil {
			return unreachable(err)
		}
		log.Info("stream feed", "owner", signer.Address().Hex(), "next_index", fu.Next(),
			"url", client.URL("/bzz/"+fu.Manifest().String()+"/"+archive.IndexName))
	}
	arch := archive.New(up)
	start := time.Now()
	res, err := hlsimport.Run(ctx, arch, c.input, hlsimport.Config{
		Follow: c.follow, Stop: stop, Poll: c.poll,
		PublishEvery: c.publishEvery, PublishInterval: c.publishInterval, IdleTimeout: c.idleTimeout,
		MaxSegmentBytes: c.maxSegmentBytes, MaxConcurrentReads: c.maxReads, AllowOrigins: c.origins, Logger: log,
		SourceStallTimeout: c.sourceStall,
		OnPublish:          onPublish(client, fu, log),
	})
	if err != nil {
		return err
	}
	s := res.Stats
	log.Info("archived", "renditions", s.Renditions, "segments", s.Segments, "gaps", s.Gaps,
		"bytes", s.Bytes, "overhead_bytes", s.Overhead, "elapsed", time.Since(start).Round(time.Millisecond))
	if s.Gaps > 0 {
		log.Warn("some segments could not be read from the source; they are marked EXT-X-GAP", "gaps", s.Gaps)
	}
	fmt.Fprintf(stdout, "reference: %s\nurl: %s\n", res.Reference, client.URL("/bzz/"+res.Reference.String()+"/"+archive.IndexName))
	if fu != nil {
		fmt.Fprintf(stdout, "feed: %s\nfeed-url: %s\n", fu.Manifest(), client.URL("/bzz/"+fu.Manifest().String()+"/"+archive.IndexName))
	}
	if c.waitSynced > 0 {
		return waitSynced(ctx, up, c.waitSynced, log)
	}
	return nil
}

// onPublish logs each live publish and points the stream's feed (if any)
// at every manifest published.
func onPublish(client *bee.Client, fu *feed.Updater, log *slog.Logger) func(context.Context, swarm.Address, bool) error {
	return func(ctx context.Context, ref swarm.Address, final bool) error {
		if !final {
			log.Info("live archive", "url", client.URL("/bzz/"+ref.String()+"/"+archive.IndexName))
		}
		if fu == nil {
			return nil
		}
		st, err := fu.Update(ctx, ref)
		if err != nil {
			return fmt.Errorf("manifest %s published, but its feed update failed: %w", ref, err)
		}
		log.Info("feed updated", "index", st.Index, "manifest", ref.String())
		return nil
	}
}

// importUploader builds the import's uploader and returns the operator's
// key when there is one (client stamping, or -ethKeystorePath given with
// node stamping) and the feed is wanted; the key is decrypted once for
// both.
func importUploader(ctx context.Context, client *bee.Client, s stampingConfig, wantFeed bool, cfg upload.Config) (
	*upload.Uploader, *ecdsa.PrivateKey, func() error, error) {
	var key *ecdsa.PrivateKey
	if s.keyFile != "" && (wantFeed || s.mode == "client") {
		var err error
		if key, err = loadKey(s.keyFile, s.passwordFile); err != nil {
			return nil, nil, nil, err
		}
	}
	var (
		up      *upload.Uploader
		closeUp func() error
		err     error
	)
	if s.mode == "client" {
		up, closeUp, err = clientUploader(ctx, client, key, strings.Split(s.batches, ","), postage.Lease{}, s.stateDir, cfg)
	} else {
		up, closeUp, err = newUploader(ctx, client, s, cfg)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if !wantFeed {
		key = nil
	}
	return up, key, closeUp, nil
}

// feedName names an import's stream for its feed topic: -feedName, or the
// input, so that importing the same folder or URL again continues the
// same feed.
func feedName(c importConfig) string {
	if c.feedName != "" {
		return c.feedName
	}
	if u, err := url.Parse(c.input); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		u.RawQuery, u.Fragment = "", "" // signed URLs change their query
		return u.String()
	}
	if abs, err := filepath.Abs(c.input); err == nil {
		return abs
	}
	return c.input
}

// waitSynced polls the upload tag until Bee has pushed every chunk to the
// network: the moment an archive on a real network counts as archived.
func waitSynced(ctx context.Context, up *upload.Uploader, limit time.Duration, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		tag, err := up.Tag(ctx)
		if err == nil && tag.Done() {
			log.Info("synced to the network", "chunks", tag.Split)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not synced after %s (tag %d: %d of %d chunks): %w", limit, tag.UID, tag.Synced+tag.Seen, tag.Split, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}
