// Command archiver-demo runs the whole product on this machine, twice:
//
//   - on real go-livepeer: ffmpeg pushes RTMP into a livepeer-archiver
//     broadcaster, a livepeer-archiver orchestrator+transcoder hands every
//     segment to two archiver-node workers, which store it on a Bee dev node.
//     Offchain go-livepeer has no tickets, so this run is free.
//   - paid, on the testbed (go-livepeer's wire protocol, imitated): the same
//     workers and Bee, a broadcaster paying with real PM tickets, and a
//     stock broadcaster beside it, until the on-chain run replaces it.
//
// It checks both end to end and prints where to watch the archives. In a
// terminal Bee keeps serving them until Ctrl-C; otherwise it exits, non-zero
// on any failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lpswarm/archiver/internal/beetest"
	"github.com/lpswarm/archiver/internal/testbed"
)

type config struct {
	livepeer     string
	archiverNode string
	seconds      int
	paidSeconds  int
	workers      int
	workDir      string
	keep         bool
	chain        bool
}

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "archiver-demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var c config
	fs := flag.NewFlagSet("archiver-demo", flag.ContinueOnError)
	fs.StringVar(&c.livepeer, "livepeer", "livepeer-archiver", "livepeer-archiver binary (scripts/build-livepeer.sh)")
	fs.StringVar(&c.archiverNode, "archiverNode", "archiver-node", "archiver-node binary for the workers")
	fs.IntVar(&c.seconds, "seconds", 30, "length of the real-time RTMP stream")
	fs.IntVar(&c.paidSeconds, "paidSeconds", 60, "length of the paid testbed stream")
	fs.IntVar(&c.workers, "workers", 2, "archiver-node workers")
	fs.StringVar(&c.workDir, "workdir", filepath.Join(os.TempDir(), "archiver-demo"), "scratch directory (wiped)")
	fs.BoolVar(&c.chain, "chain", false, "run the paid loop on one local chain instead: the Livepeer protocol and Swarm on a geth dev chain, real tickets, the orchestrator's one key (about 2 minutes)")
	fs.BoolVar(&c.keep, "keep", isTerminal(os.Stdout), "keep Bee serving the archives until Ctrl-C (default: when stdout is a terminal)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.RemoveAll(c.workDir); err != nil {
		return err
	}
	if c.chain {
		loop, err := runChain(ctx, c, out)
		if err != nil {
			return fmt.Errorf("one-chain run: %w", err)
		}
		defer loop.Close()
		return keep(ctx, c, out, loop.Gateway)
	}
	sum, cluster, err := runReal(ctx, c, out)
	if err != nil {
		return fmt.Errorf("real go-livepeer run: %w", err)
	}
	defer cluster.Close()
	reportReal(out, sum)
	stopPaid, err := runPaid(ctx, c, out)
	if err != nil {
		return fmt.Errorf("paid testbed run: %w", err)
	}
	defer stopPaid()
	return keep(ctx, c, out, sum.URL)
}

// keep keeps Bee serving until Ctrl-C, when asked to.
func keep(ctx context.Context, c config, out io.Writer, url string) error {
	if !c.keep {
		fmt.Fprintln(out, "\nThe Bee nodes stop now; run in a terminal, or with -keep, to watch.")
		return nil
	}
	fmt.Fprintf(out, "\nBee keeps serving the archives; Ctrl-C to stop.\n  %s\n", url)
	<-ctx.Done()
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil
	}
	return ctx.Err()
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// runPaid is the paid run on the testbed, with a Bee dev node of its own,
// returned running so that its archive stays watchable.
func runPaid(ctx context.Context, c config, out io.Writer) (stop func(), err error) {
	logFile, err := os.Create(filepath.Join(c.workDir, "paid-bee.log"))
	if err != nil {
		return nil, err
	}
	dev, err := beetest.StartDev(ctx, logFile)
	if err != nil {
		logFile.Close()
		return nil, err
	}
	stop = func() { _ = dev.Close(); _ = logFile.Close() }
	defer func() {
		if err != nil {
			stop()
		}
	}()
	batch, err := dev.BuyBatch(ctx, 24)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\npaid run: streaming %d s of video through the testbed orchestrator (go-livepeer's wire protocol, imitated; real PM tickets), Bee %s...\n", c.paidSeconds, dev.URL)
	sum, err := testbed.Run(ctx, testbed.RunConfig{Bee: dev.Client, Batch: batch, ArchiverNode: c.archiverNode,
		Workers: c.workers, Seconds: c.paidSeconds, WorkDir: filepath.Join(c.workDir, "paid")})
	if err != nil {
		return nil, err
	}
	report(out, sum)
	return stop, nil
}

func report(out io.Writer, s *testbed.Summary) {
	archiveFee := new(big.Rat).Sub(s.Archive.Credit, s.Archive.Mirror.Balance())
	transcodeFee := new(big.Rat).Add(s.Archive.TranscodeFee, s.Stock.TranscodeFee)
	fmt.Fprintf(out, `
Paid testbed run: archived to Swarm and checked end to end.
  watch:     ffplay '%s'
             (or any HLS player: Safari, an hls.js page)
  renditions %s
  streams    2 (one archived, one from a stock broadcaster: transcoded, not archived)
  segments   %d per stream, %d files archived, %d bytes
  played     %.1f s back from Bee
  fees       archive %s wei, transcode %s wei; broadcaster and orchestrator balances agree to the wei
  wall time  %s (after one-time builds)
`, s.URL, s.URL[:len(s.URL)-len("index.m3u8")]+"{source,P360p30fps16x9,P240p30fps16x9}/index.m3u8",
		s.Archive.Segments, len(s.Archive.Files), s.ArchivedBytes, s.PlayedSeconds,
		archiveFee.FloatString(0), transcodeFee.FloatString(0), s.Elapsed.Round(100*time.Millisecond))
}
