// Command ramp is the archiver's load ramp: how much content
// can be pumped into a Swarm endpoint? It replays pre-transcoded segments
// (ffmpeg runs once, before the ramp, and the clips are cached) as live
// streams into the real orchestrator side (package host: spool with fsync,
// index, gRPC dispatch) served to real `archiver-node node` worker
// processes, which archive into a dev Bee started by internal/beetest (or
// the Bee at -bee). It starts with 144p 10 fps streams, raises stream
// count and bitrate step by step, and stops at the first step whose p95
// archive lag exceeds one segment duration or whose spool keeps growing.
//
// Archive lag runs from the orchestrator accepting a
// segment (the spool's Submit outcome nil) to the orchestrator recording it
// archived (the index record after the worker's checked report).
//
//	go run ./integration/cmd/ramp -hold 60s -out ramp-out
//
// It prints a table, writes ramp.csv and ramp.png (lag against aggregate
// bitrate) into -out, and names the maximum sustainable aggregate bitrate
// and what bounded it, from the CPU each process used. Under each step it
// splits the lag into spool wait (accepted → job sent to a worker), worker
// time (fetch, uploads) and recording, and times the manifest publishes
// sent to workers (trace.go); segments.csv has every segment's and
// publish's times for a look at the lag over time.
//
// With -raw every step also replays the same streams straight to Bee's
// POST /bytes (raw.go), alternating which of the two runs first, so the
// archiver's maximum is stated as a ratio to raw Bee's from one run:
//
//	go run ./integration/cmd/ramp -raw -hold 60s -out ramp-out
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// config is the command line.
type config struct {
	beeURL      string
	batch       string
	depth       int
	node        string
	workers     int
	capacity    int
	redundancy  uint
	segment     time.Duration
	clipSeconds int
	cache       string
	steps       string
	hold        time.Duration
	drain       time.Duration
	spoolBytes  int64
	out         string
	keepGoing   bool
	profileStep int
	raw         bool
	pubEvery    int
	pubInterval time.Duration
}

// defaultSteps roughly doubles the aggregate bitrate per step at first
// (144p streams only, from one 144p 10 fps stream), then climbs by about 1.4× with
// 720p sources carrying their 360p, 240p and 144p renditions.
const defaultSteps = "1@144p,4@144p,16@144p,64@144p,16@360p,32@360p,12@720p,16@720p,24@720p,32@720p,48@720p,64@720p,96@720p"

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("ramp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.beeURL, "bee", "", "Bee API URL; empty starts a dev Bee (internal/beetest)")
	fs.StringVar(&c.batch, "batch", "", "postage batch on -bee; empty buys one of -depth")
	fs.IntVar(&c.depth, "depth", 24, "depth of the batch bought when -batch is empty")
	fs.StringVar(&c.node, "node", "", "archiver-node binary; empty builds ./cmd/archiver-node")
	fs.IntVar(&c.workers, "workers", 2, "archiver-node worker processes")
	fs.IntVar(&c.capacity, "capacity", 4, "segments each worker archives at once (its -capacity)")
	fs.UintVar(&c.redundancy, "redundancy", 1, "Swarm-Redundancy-Level of orchestrator and workers (1 = medium, the worker's default)")
	fs.DurationVar(&c.segment, "segment", 2*time.Second, "segment duration: each stream sends one segment per segment duration")
	fs.IntVar(&c.clipSeconds, "clip", 20, "length of the pre-transcoded clips replayed in a loop, seconds")
	fs.StringVar(&c.cache, "cache", "", "where the clips are kept (default: the user cache directory's lpswarm-archiver/ramp)")
	fs.StringVar(&c.steps, "steps", defaultSteps, "comma-separated steps, each streams@profile; a stream carries its profile as source and every lower profile as renditions")
	fs.DurationVar(&c.hold, "hold", 30*time.Second, "how long each step runs")
	fs.DurationVar(&c.drain, "drain", time.Minute, "after the last step, wait this long for the spool to empty")
	fs.Int64Var(&c.spoolBytes, "spool-bytes", 4<<30, "the orchestrator's spool bound (MaxBytes)")
	fs.StringVar(&c.out, "out", "ramp-out", "directory for ramp.csv, ramp.png, logs and profiles")
	fs.BoolVar(&c.keepGoing, "keep-going", false, "run every step, even past the first unsustainable one")
	fs.IntVar(&c.profileStep, "profile-step", 0, "1-based step during which to take CPU profiles of this process (the orchestrator) and of Bee (/debug/pprof) into -out; 0: none")
	fs.IntVar(&c.pubEvery, "publish-every", 0, "publish a stream's manifest every this many archived segments (streams.Config.PublishEvery); 0: the default")
	fs.DurationVar(&c.pubInterval, "publish-interval", 0, "and at this interval when anything changed (streams.Config.PublishInterval); 0: the default")
	fs.BoolVar(&c.raw, "raw", false, "at every step, also replay the same streams straight to Bee's POST /bytes (node stamping, same batch and redundancy, each segment's files posted as it arrives) and report raw Bee's lag beside the archiver's; the two alternate which runs first")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case c.workers < 1 || c.capacity < 1:
		return c, errors.New("ramp: -workers and -capacity must be at least 1")
	case c.segment < time.Second || c.segment%time.Second != 0:
		return c, errors.New("ramp: -segment must be whole seconds, at least 1s")
	case c.hold < 4*c.segment:
		return c, fmt.Errorf("ramp: -hold must be at least 4 segments (%s): the first and the last two are not measured", 4*c.segment)
	case c.clipSeconds < int(c.segment.Seconds()):
		return c, errors.New("ramp: -clip must hold at least one segment")
	}
	if c.cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return c, fmt.Errorf("ramp: -cache: %w", err)
		}
		c.cache = filepath.Join(d, "lpswarm-archiver", "ramp")
	}
	return c, nil
}

// step is one rung of the ramp.
type step struct {
	Streams int
	Level   int // index into ladder
}

func parseSteps(s string) ([]step, error) {
	var out []step
	for _, f := range strings.Split(s, ",") {
		n, name, ok := strings.Cut(strings.TrimSpace(f), "@")
		if !ok {
			return nil, fmt.Errorf("ramp: step %q: want streams@profile", f)
		}
		streams, err := strconv.Atoi(n)
		if err != nil || streams < 1 {
			return nil, fmt.Errorf("ramp: step %q: bad stream count", f)
		}
		level, err := profileByName(name)
		if err != nil {
			return nil, fmt.Errorf("ramp: step %q: %w", f, err)
		}
		out = append(out, step{Streams: streams, Level: level})
	}
	if len(out) == 0 {
		return nil, errors.New("ramp: no steps")
	}
	return out, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
