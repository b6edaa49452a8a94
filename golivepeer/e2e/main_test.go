// Package e2e drives real processes end to end: ffmpeg pushes RTMP into a
// livepeer-archiver broadcaster, a livepeer-archiver orchestrator+transcoder
// transcodes and hands every segment to archiver-node workers, which store
// it on a Bee dev node. Nothing here is imitated: the binaries are the ones
// an operator runs, built from this checkout by TestMain.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lpswarm/archiver/internal/realnode"
)

// bins are the binaries under test.
var bins struct {
	archiver, stock, worker string
	video                   string // 30 s of test video with audio
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "lpswarm-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if err := setup(dir); err != nil {
			fmt.Fprintln(os.Stderr, "e2e setup:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// setup builds the binaries (go-livepeer's need the FFmpeg that
// scripts/build-livepeer.sh builds: run the tests through scripts/test.sh
// or with its livepeer_env) and makes the test video.
func setup(dir string) error {
	bins.archiver = filepath.Join(dir, "livepeer-archiver")
	bins.stock = filepath.Join(dir, "livepeer")
	bins.worker = filepath.Join(dir, "archiver-node")
	bins.video = filepath.Join(dir, "video.mp4")
	for _, b := range []struct{ out, pkg, dir string }{
		{bins.archiver, "github.com/lpswarm/archiver/golivepeer/cmd/livepeer-archiver", "."},
		{bins.stock, "github.com/livepeer/go-livepeer/cmd/livepeer", "."},
		{bins.worker, "github.com/lpswarm/archiver/cmd/archiver-node", "../.."}, // the main module's
	} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return realnode.MakeVideo(ctx, bins.video, 30)
}

// dumpOnFailure logs the end of each node's log when the test fails.
func dumpOnFailure(t testing.TB, nodes ...*realnode.Node) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, n := range nodes {
			log := n.Log()
			if len(log) > 6000 {
				log = "…" + log[len(log)-6000:]
			}
			t.Logf("%s log:\n%s", n.Name, log)
		}
	})
}
