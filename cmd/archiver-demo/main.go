// Command archiver-demo runs the whole product on this machine: a Bee dev
// node, the testbed orchestrator (go-livepeer's wire protocol) with the
// archiver, two archiver-node workers, a broadcaster that archives a 60 s
// stream and a stock broadcaster that does not, then prints where to watch
// the archive and what it cost.
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

	"github.com/lpswarm/archiver/integration/testbed"
	"github.com/lpswarm/archiver/internal/beetest"
)

type config struct {
	archiverNode string
	seconds      int
	workers      int
	workDir      string
	keep         bool
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
	fs.StringVar(&c.archiverNode, "archiverNode", "archiver-node", "archiver-node binary for the workers")
	fs.IntVar(&c.seconds, "seconds", 60, "length of the test stream")
	fs.IntVar(&c.workers, "workers", 2, "archiver-node workers")
	fs.StringVar(&c.workDir, "workdir", filepath.Join(os.TempDir(), "archiver-demo"), "scratch directory (wiped)")
	fs.BoolVar(&c.keep, "keep", false, "keep Bee running until Ctrl-C so the URL can be opened")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.RemoveAll(c.workDir); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(os.TempDir(), "archiver-demo-bee.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	dev, err := beetest.StartDev(ctx, logFile)
	if err != nil {
		return err
	}
	defer dev.Close()
	batch, err := dev.BuyBatch(ctx, 24)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bee dev at %s, streaming %d s of video through the testbed orchestrator...\n", dev.URL, c.seconds)
	sum, err := testbed.Run(ctx, testbed.RunConfig{Bee: dev.Client, Batch: batch, ArchiverNode: c.archiverNode,
		Workers: c.workers, Seconds: c.seconds, WorkDir: c.workDir})
	if err != nil {
		return err
	}
	report(out, sum)
	if !c.keep {
		fmt.Fprintln(out, "\nBee dev stops now (its storage is in memory); run with -keep to watch.")
		return nil
	}
	fmt.Fprintln(out, "\nBee keeps running; Ctrl-C to stop.")
	<-ctx.Done()
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil
	}
	return ctx.Err()
}

func report(out io.Writer, s *testbed.Summary) {
	archiveFee := new(big.Rat).Sub(s.Archive.Credit, s.Archive.Mirror.Balance())
	transcodeFee := new(big.Rat).Add(s.Archive.TranscodeFee, s.Stock.TranscodeFee)
	fmt.Fprintf(out, `
Archived to Swarm and checked end to end.
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
