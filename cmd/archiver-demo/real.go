package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lpswarm/archiver/internal/realnode"
)

// realSummary is what the real-node run shows.
type realSummary struct {
	URL, Reference string
	Renditions     map[string]int
	Files          int
	Bytes          uint64
	Played         time.Duration
	Elapsed        time.Duration
}

// runReal streams video with ffmpeg over RTMP into a real livepeer-archiver
// broadcaster, through a real livepeer-archiver orchestrator+transcoder,
// into archiver-node workers and a Bee dev node, and checks the archive end
// to end. The cluster is returned running, for the caller to close.
func runReal(ctx context.Context, c config, out io.Writer) (*realSummary, *realnode.Cluster, error) {
	start := time.Now()
	if err := isLivepeer(ctx, c.livepeer); err != nil {
		return nil, nil, err
	}
	dir := filepath.Join(c.workDir, "real")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	video := filepath.Join(dir, "video.mp4")
	if err := realnode.MakeVideo(ctx, video, c.seconds); err != nil {
		return nil, nil, err
	}
	cl, err := realnode.StartCluster(ctx, realnode.ClusterConfig{Dir: dir, Livepeer: c.livepeer, Worker: c.archiverNode,
		Archiver: true, Workers: c.workers})
	if err != nil {
		return nil, nil, err
	}
	sum, err := func() (*realSummary, error) {
		b, err := cl.Broadcaster(ctx, "broadcaster", c.livepeer, "-archive")
		if err != nil {
			return nil, err
		}
		for _, n := range []*realnode.Node{cl.Orch, b} {
			if err := runs(n, c.livepeer); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(out, "real go-livepeer: streaming %d s of video: ffmpeg -> RTMP -> livepeer-archiver broadcaster (%s) -> livepeer-archiver orchestrator+transcoder (%s) -> %d archiver-node workers -> Bee %s\n",
			c.seconds, b.RTMP, cl.Orch.Service, len(cl.Workers), cl.Bee.URL)
		const id = "demo"
		rec, stop := realnode.Record(ctx, b.HTTP, id, 500*time.Millisecond)
		err = realnode.Push(ctx, video, "rtmp://"+b.RTMP+"/stream/"+id)
		if err != nil {
			stop()
			return nil, err
		}
		wait, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		bst, err := realnode.WaitFinal(wait, b.CLI, id)
		stop()
		if err != nil {
			return nil, fmt.Errorf("%w; broadcaster log: %s; orchestrator log: %s", err, b.LogPath, cl.Orch.LogPath)
		}
		ost, _, err := realnode.Status(ctx, cl.Orch.CLI, id)
		if err != nil {
			return nil, err
		}
		if ost.Reference != bst.Reference {
			return nil, fmt.Errorf("broadcaster reports manifest %s, orchestrator %s", bst.Reference, ost.Reference)
		}
		listed := rec.Segments()
		if len(listed) == 0 {
			return nil, fmt.Errorf("the broadcaster listed no segment; its log: %s", b.LogPath)
		}
		if _, err := realnode.CheckArchive(ctx, cl.Bee.URL, bst.Reference, listed); err != nil {
			return nil, err
		}
		if len(bst.Gaps) > 0 {
			return nil, fmt.Errorf("%d gaps in the archive: %+v", len(bst.Gaps), bst.Gaps)
		}
		played, err := realnode.Duration(ctx, bst.URL)
		if err != nil {
			return nil, err
		}
		sum := &realSummary{URL: bst.URL, Reference: bst.Reference, Renditions: map[string]int{},
			Files: len(bst.Segments), Bytes: bst.ArchivedBytes, Played: played, Elapsed: time.Since(start)}
		for _, s := range listed {
			sum.Renditions[s.Rendition]++
		}
		return sum, nil
	}()
	if err != nil {
		cl.Close()
		return nil, nil, err
	}
	return sum, cl, nil
}

// isLivepeer checks that bin is a go-livepeer build.
func isLivepeer(ctx context.Context, bin string) error {
	out, err := exec.CommandContext(ctx, bin, "-version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Livepeer Node Version") {
		return fmt.Errorf("%s is not a go-livepeer build (-version: %v: %.200s)", bin, err, out)
	}
	return nil
}

// runs checks that node's process runs bin, so that nothing in the path is
// an imitation.
func runs(n *realnode.Node, bin string) error {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", n.Pid()))
	if err != nil {
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	want, err := filepath.EvalSymlinks(bin)
	if err != nil {
		return err
	}
	if want, err = filepath.Abs(want); err != nil {
		return err
	}
	if exe != want {
		return fmt.Errorf("%s runs %s, not the livepeer-archiver %s", n.Name, exe, want)
	}
	return nil
}

func reportReal(out io.Writer, s *realSummary) {
	var rs []string
	for _, r := range slices.Sorted(maps.Keys(s.Renditions)) {
		rs = append(rs, fmt.Sprintf("%s %d", r, s.Renditions[r]))
	}
	fmt.Fprintf(out, `
Real go-livepeer run: archived to Swarm and checked end to end.
  watch:     ffplay '%s'
             (or any HLS player: Safari, an hls.js page)
  segments   %s (every segment the broadcaster listed, byte for byte)
  archive    %d files, %d bytes, final manifest %s
  played     %.1f s back from Bee
  fees       none: offchain go-livepeer has no tickets (the paid run below uses real PM tickets)
  wall time  %s
`, s.URL, strings.Join(rs, ", "), s.Files, s.Bytes, s.Reference, s.Played.Seconds(), s.Elapsed.Round(100*time.Millisecond))
}
