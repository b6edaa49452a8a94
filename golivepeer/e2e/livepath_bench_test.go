package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/golivepeer/hooks"
	"github.com/lpswarm/archiver/internal/realnode"
)

// The real-node benchmark's flags.
var (
	lpSteps = flag.String("lp.streams", "1,2,4,6,8", "concurrent streams per step, rising")
	lpHold  = flag.Duration("lp.hold", 20*time.Second, "how long each stream of a step pushes")
	lpReal  = flag.Float64("lp.realtime", 0.95, "share of segments transcoded at least at real time for a step to hold")
	lpNice  = flag.Int("lp.nice", 0, "run Bee and the workers at this niceness (as an operator's nice -n or systemd Nice=), below the transcoding node's")
	lpPprof = flag.String("lp.pprof", "", "save an execution trace and a CPU profile of the orchestrator, 10 s from the middle of each archiving step, to files named by this prefix")
)

// BenchmarkRealNodeLivePath measures what archiving costs go-livepeer's
// live path on the real nodes: a livepeer-archiver orchestrator+transcoder
// with -archiver, two archiver-node workers and a Bee dev node on the same
// machine, and two broadcasters of the same binary, one streaming with
// -archive and one without. At each step both stream the same number of
// concurrent live streams, one after the other (alternating which goes
// first), and the orchestrator's own histograms give, per segment:
//   - the time its reply spends in archiver code (archiver_live_path_seconds
//     Reply: TranscodeSeg around go-livepeer's transcode plus SegmentReply);
//   - the whole TranscodeSeg with archiving on and off
//     (archiver_transcode_seconds), p25/p50/p75/p99;
//
// and the broadcasters' own latency histogram how many segments were
// transcoded in real time: all renditions in the playlist within one
// segment duration (2 s) of the source segment (go-livepeer's
// livepeer_transcode_overall_latency_seconds).
// The most concurrent real-time streams is the last step at which at least
// -lp.realtime of the segments were; the ratio on/off is reported. Run it
// alone, through livepeer_env:
//
//	go test ./e2e -run '^$' -bench RealNodeLivePath -benchtime 1x -v
func BenchmarkRealNodeLivePath(b *testing.B) {
	var steps []int
	for _, s := range strings.Split(*lpSteps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		require.NoError(b, err, "-lp.streams")
		steps = append(steps, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(len(steps))*(2*(*lpHold)+time.Minute)+5*time.Minute)
	defer cancel()
	c, err := realnode.StartCluster(ctx, realnode.ClusterConfig{Dir: b.TempDir(), Livepeer: bins.archiver,
		Worker: bins.worker, Archiver: true, Workers: 2})
	require.NoError(b, err)
	defer c.Close()
	if *lpNice != 0 {
		pids := []int{c.Bee.Pid()}
		for _, w := range c.Workers {
			pids = append(pids, w.Pid())
		}
		for _, pid := range pids {
			require.NoError(b, realnode.Renice(pid, *lpNice))
		}
		b.Logf("Bee and the workers run at niceness %d", *lpNice)
	}
	nodes := map[bool]*realnode.Node{}
	for _, archiving := range []bool{true, false} {
		args := []string{"-monitor"}
		if archiving {
			args = append(args, "-archive")
		}
		nodes[archiving], err = c.Broadcaster(ctx, fmt.Sprintf("broadcaster-archive-%t", archiving), bins.archiver, args...)
		require.NoError(b, err)
	}
	dumpOnFailure(b, c.Orch)
	// A fresh node's first streams are slow (the first step's first variant
	// fell below real time at a load later steps held): one stream through
	// each path, drained like a step, before measuring.
	for _, archiving := range []bool{false, true} {
		livePathStep(ctx, b, c, nodes[archiving], "warmup", 1, archiving)
	}

	for range b.N { // one run: the steps are the measurement
		limit := map[bool]int{}
		holding := map[bool]bool{true: true, false: true}
		for i, k := range steps {
			if !holding[true] && !holding[false] {
				break
			}
			order := []bool{false, true}
			if i%2 == 1 {
				order = []bool{true, false}
			}
			for _, archiving := range order {
				r := livePathStep(ctx, b, c, nodes[archiving], fmt.Sprintf("s%d", i), k, archiving)
				b.Logf("%d streams, archiving %-5t: %d segments, %.0f%% at real time or better; TranscodeSeg p25/p50/p75/p99 %s; "+
					"in archiver code per segment's reply: p50 %s p99 %s, %.2f%% ≤ 1 ms (TranscodeSeg p99 %s, SegmentReply p99 %s; before them ProcessPayment p99 %s); "+
					"the decorator's decision, after the reply: p50 %s p99 %s",
					k, archiving, r.segments, 100*r.realtime, r.transcode, ms(r.whole.Quantile(0.5)), ms(r.whole.Quantile(0.99)),
					100*r.whole.AtMost(1e-3), ms(r.hook.Quantile(0.99)), ms(r.reply.Quantile(0.99)), ms(r.paid.Quantile(0.99)),
					ms(r.hold.Quantile(0.5)), ms(r.hold.Quantile(0.99)))
				if holding[archiving] && r.realtime >= *lpReal {
					limit[archiving] = k
				} else {
					holding[archiving] = false
				}
			}
		}
		b.Logf("most concurrent real-time streams: archiving %d, not archiving %d", limit[true], limit[false])
		if limit[false] > 0 {
			b.ReportMetric(float64(limit[true])/float64(limit[false]), "streams-on/off")
		}
	}
}

// stepResult is what one variant of one step measured.
type stepResult struct {
	segments    int
	realtime    float64            // share of segments at real time or better
	transcode   string             // p25/p50/p75/p99 of the whole TranscodeSeg
	hook, reply realnode.Histogram // TranscodeSeg's and SegmentReply's shares
	paid        realnode.Histogram // ProcessPayment's share
	whole       realnode.Histogram // both, per segment
	hold        realnode.Histogram // the decorator's decision
}

// livePathStep pushes k concurrent streams to b for -lp.hold and returns
// what the orchestrator and the broadcaster measured meanwhile.
func livePathStep(ctx context.Context, tb testing.TB, c *realnode.Cluster, b *realnode.Node, prefix string, k int, archiving bool) stepResult {
	tb.Helper()
	metrics := "http://" + c.Orch.CLI + hooks.MetricsPath
	scrape := func() (map[string]realnode.Histogram, map[string]realnode.Histogram, realnode.Histogram) {
		live, err := realnode.Histograms(ctx, metrics, "archiver_live_path_seconds")
		require.NoError(tb, err)
		hold, err := realnode.Histograms(ctx, metrics, "archiver_orchestrator_reply_hold_seconds")
		require.NoError(tb, err)
		live["hold"] = hold[""]
		whole, err := realnode.Histograms(ctx, metrics, "archiver_transcode_seconds")
		require.NoError(tb, err)
		latency, err := realnode.Histograms(ctx, "http://"+b.CLI+"/metrics", "livepeer_transcode_overall_latency_seconds")
		require.NoError(tb, err)
		return live, whole, realnode.Merge(latency)
	}
	live0, whole0, latency0 := scrape()
	var wg sync.WaitGroup
	if archiving && *lpPprof != "" {
		for _, kind := range []string{"trace", "profile"} {
			wg.Go(func() { savePprof(ctx, tb, c.Orch.CLI, kind, fmt.Sprintf("%s-%d.%s", *lpPprof, k, kind)) })
		}
	}
	errs := make([]error, k)
	for i := range k {
		wg.Go(func() {
			id := fmt.Sprintf("%s-%t-%d", prefix, archiving, i)
			errs[i] = realnode.PushFor(ctx, bins.video, "rtmp://"+b.RTMP+"/stream/"+id, *lpHold)
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(tb, err)
	}
	// The last segments come back seconds after the pushes end: wait until
	// the orchestrator has transcoded nothing new for two seconds.
	label := "archiving=" + strconv.FormatBool(archiving)
	last := uint64(math.MaxUint64)
	for {
		_, whole, _ := scrape()
		n := whole[label].Count
		if n == last {
			break
		}
		last = n
		select {
		case <-ctx.Done():
			tb.Fatal(ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
	live1, whole1, latency1 := scrape()
	d := whole1[label].Sub(whole0[label])
	r := stepResult{segments: int(d.Count), hook: live1["hook=TranscodeSeg"].Sub(live0["hook=TranscodeSeg"]),
		reply:     live1["hook=SegmentReply"].Sub(live0["hook=SegmentReply"]),
		transcode: fmt.Sprintf("%s/%s/%s/%s", ms(d.Quantile(0.25)), ms(d.Quantile(0.5)), ms(d.Quantile(0.75)), ms(d.Quantile(0.99)))}
	r.hold = live1["hold"].Sub(live0["hold"])
	r.whole = live1["hook=Reply"].Sub(live0["hook=Reply"])
	r.paid = live1["hook=ProcessPayment"].Sub(live0["hook=ProcessPayment"])
	r.realtime = latency1.Sub(latency0).AtMost(2) // 2 s: the test video's segments
	return r
}

func ms(seconds float64) string { return fmt.Sprintf("%.2f ms", seconds*1e3) }

// savePprof saves 10 s of the node's pprof kind ("trace", "profile") from
// the middle of a step (go-livepeer serves pprof on its CLI port) to path.
func savePprof(ctx context.Context, tb testing.TB, cli, kind, path string) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(max(*lpHold/2-5*time.Second, 0)):
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+cli+"/debug/pprof/"+kind+"?seconds=10", nil)
	require.NoError(tb, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	require.Equal(tb, http.StatusOK, resp.StatusCode)
	f, err := os.Create(path)
	require.NoError(tb, err)
	_, err = io.Copy(f, resp.Body)
	require.NoError(tb, errors.Join(err, f.Close()))
	tb.Logf("orchestrator %s: %s", kind, path)
}
