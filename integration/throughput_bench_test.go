package integration_test

// Node-side stamping, the archiver against Bee's own
// POST /bytes of the same amount of bytes on the same dev node.
//
//	go test ./integration -run '^$' -bench 'ThroughputVsRawBee' -benchtime 4x -v
//
// Every variant uploads fresh random bytes of the same sizes (a Bee that
// already holds a chunk under the batch skips it, which would favour the
// later variant). The variants run interleaved within one iteration, so
// their ratio shares the machine's noise; the CPU of each process (Bee, the
// worker, the orchestrator side = this test process) is read from
// /proc/<pid>/stat and getrusage around every variant.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/pipeline/builder"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/storage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/internal/spool"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/upload"
)

var (
	tpJobs       = flag.Int("tp.jobs", 16, "throughput benchmarks: jobs (segments) per variant per iteration")
	tpSource     = flag.Int("tp.source", 1<<20, "throughput benchmarks: source bytes per job; each job also has renditions of 1/2 and 1/4 of it")
	tpCapacity   = flag.Int("tp.capacity", 4, "throughput benchmarks: worker -capacity (segments archived at once)")
	tpRedundancy = flag.Int("tp.redundancy", 0, "throughput benchmarks: Swarm-Redundancy-Level of every upload")
	tpBeforeBin  = flag.String("tp.beforebin", "", "throughput benchmarks: an archiver-node binary built before a change; adds pipeline-before/* variants run by it, for a before/after in one run")
	tpCapacity2  = flag.Int("tp.capacity2", 0, "throughput benchmarks: a second worker -capacity; adds pipeline-capN/* variants with it, to compare capacities in one run")
	tpRawConc    = flag.String("tp.rawconc", "4,8,16", "throughput benchmarks: concurrencies of raw POST /bytes, each a variant; the best is the baseline")
	tpWorkerProf = flag.String("tp.workerprofile", "", "throughput benchmarks: write a 15 s CPU profile of the pipeline/noverify worker process, taken from the start of the measured loop, to this file")
	tpOnly       = flag.String("tp.only", "", "throughput benchmarks: run only the variants matching this regexp besides raw (e.g. 'pipeline/noverify' for a -cpuprofile of it)")
	tpCheck      = flag.Bool("tp.check", true, "throughput benchmarks: after each pipeline/verify round, time the orchestrator's offline check alone (off keeps it out of a -cpuprofile)")
)

// tpNewJobs makes n segments of fresh random bytes: a source and two
// renditions each, as files.
func tpNewJobs(rng *rand.ChaCha8, n int, seq *int64) []archiver.Job {
	fill := func(size int) []byte {
		b := make([]byte, size)
		_, _ = rng.Read(b)
		return b
	}
	jobs := make([]archiver.Job, n)
	for i := range jobs {
		*seq++
		jobs[i] = archiver.Job{
			Sender: [20]byte{0xbe}, ManifestID: "throughput", Seq: *seq,
			Source: fill(*tpSource),
			Renditions: []archiver.Rendition{
				{Name: "half", Data: fill(*tpSource / 2)}, {Name: "quarter", Data: fill(*tpSource / 4)},
			},
		}
	}
	return jobs
}

func tpFiles(jobs []archiver.Job) [][]byte {
	var out [][]byte
	for _, j := range jobs {
		out = append(out, j.Source)
		for _, r := range j.Renditions {
			out = append(out, r.Data)
		}
	}
	return out
}

// tpProcCPU is a process's user+system CPU time.
func tpProcCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(tb, err)
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	utime, err := strconv.ParseInt(f[11], 10, 64)
	require.NoError(tb, err)
	stime, err := strconv.ParseInt(f[12], 10, 64)
	require.NoError(tb, err)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

func tpSelfCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func tpLoadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// tpTally sums a variant's rounds: wall time, bytes and CPU per process.
type tpTally struct {
	wall, bee, worker, self time.Duration
	bytes                   int64
}

func (t *tpTally) mbps() float64 { return float64(t.bytes) / 1e6 / t.wall.Seconds() }
func (t *tpTally) perMB(d time.Duration) float64 {
	return d.Seconds() / (float64(t.bytes) / 1e6)
}

// tpMeasure runs one round and adds its wall time and CPU to t; workerPid
// is 0 when the worker runs in this process.
func tpMeasure(tb testing.TB, t *tpTally, bytes int64, workerPid int, round func()) {
	bee0, self0 := tpProcCPU(tb, dev.Pid()), tpSelfCPU(tb)
	var w0 time.Duration
	if workerPid != 0 {
		w0 = tpProcCPU(tb, workerPid)
	}
	start := time.Now()
	round()
	t.wall += time.Since(start)
	t.bee += tpProcCPU(tb, dev.Pid()) - bee0
	t.self += tpSelfCPU(tb) - self0
	if workerPid != 0 {
		t.worker += tpProcCPU(tb, workerPid) - w0
	}
	t.bytes += bytes
}

// tpRaw posts files to /bytes with conc requests at a time: the plainest
// client Bee has, no offline split, no retries.
type tpRaw struct {
	hc    *http.Client
	batch string
	level redundancy.Level
}

func newTPRaw(batch string, level redundancy.Level) *tpRaw {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &tpRaw{hc: &http.Client{Transport: tr}, batch: batch, level: level}
}

func (r *tpRaw) post(ctx context.Context, data []byte) (swarm.Address, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dev.URL+"/bytes", bytes.NewReader(data))
	if err != nil {
		return swarm.ZeroAddress, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(bee.HeaderBatchID, r.batch)
	req.Header.Set(bee.HeaderDeferred, "true")
	req.Header.Set(bee.HeaderRedundancy, strconv.Itoa(int(r.level)))
	resp, err := r.hc.Do(req)
	if err != nil {
		return swarm.ZeroAddress, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return swarm.ZeroAddress, fmt.Errorf("POST /bytes: %s: %s", resp.Status, body)
	}
	var ans struct{ Reference string }
	if err := json.Unmarshal(body, &ans); err != nil {
		return swarm.ZeroAddress, err
	}
	return swarm.ParseHexAddress(ans.Reference)
}

// tpParallel runs fn over items with conc goroutines and returns the
// first error.
func tpParallel[T any](conc int, items []T, fn func(T) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan T)
	)
	for range conc {
		wg.Go(func() {
			for it := range next {
				if err := fn(it); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, it := range items {
		next <- it
	}
	close(next)
	wg.Wait()
	return first
}

// tpPipeline is one orchestrator (package host, as go-livepeer hosts it)
// with one real `archiver-node node` worker process.
type tpPipeline struct {
	r       *rig.Rig
	worker  *rig.Node
	metrics string // the worker's -metricsAddr (with -pprof), when profiled
}

// tpStartPipeline starts the orchestrator side and one worker process;
// verify turns the offline reference checks on or off on both sides (the
// worker's -verify, the orchestrator's TrustReferences).
func tpStartPipeline(tb testing.TB, ctx context.Context, bin, batch string, level redundancy.Level, verify bool, capacity int) *tpPipeline {
	tb.Helper()
	args := []string{"-verify=" + strconv.FormatBool(verify)}
	var metrics string
	if !verify && *tpWorkerProf != "" {
		metrics = freeAddr(tb)
		args = append(args, "-metricsAddr", metrics, "-pprof")
	}
	r := startRig(tb, ctx, rig.Config{
		TLS: true,
		Host: host.Config{
			Spool: spool.Config{MaxBytes: 1 << 30},
			Service: grpcsvc.Config{BaseTimeout: time.Minute, MinThroughput: 1 << 20, Redundancy: level,
				TrustReferences: !verify},
			// Publishing manifests is not what is measured: only at the end.
			Streams: streams.Config{PublishEvery: 1 << 30, PublishInterval: time.Hour, IdleTimeout: time.Hour},
		},
		Bee:     rig.Bee{Batch: batch},
		NodeBin: bin,
		Nodes:   1,
		Node:    rig.NodeConfig{Capacity: capacity, Redundancy: int(level), Args: args},
	})
	p := &tpPipeline{r: r, worker: r.Nodes()[0], metrics: metrics}
	var seq int64 = 1 << 40 // warm-up: the worker archives one job
	var seed [32]byte
	if verify {
		seed[0] = 1
	}
	p.run(tb, tpNewJobs(rand.NewChaCha8(seed), 1, &seq))
	return p
}

// run spools jobs as the decorator does and returns once the orchestrator
// has recorded every one archived (the worker's checked report).
func (p *tpPipeline) run(tb testing.TB, jobs []archiver.Job) {
	tb.Helper()
	h := p.r.Host()
	want := h.DispatchMetrics().Archived + int64(len(jobs))
	in := h.Archiver()
	outcomes := make([]<-chan archiver.Outcome, len(jobs))
	for i, j := range jobs {
		outcomes[i] = in.Submit(j)
	}
	for _, o := range outcomes {
		require.NoError(tb, (<-o).Err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for h.DispatchMetrics().Archived < want {
		m := h.DispatchMetrics()
		require.Zero(tb, m.Failed, "jobs failed")
		require.True(tb, time.Now().Before(deadline), "not archived in time: %+v", m)
		time.Sleep(2 * time.Millisecond)
	}
}

// tpReadBack checks that Bee serves data at ref: an upload counted by a
// benchmark must have stored its bytes.
func tpReadBack(tb testing.TB, ctx context.Context, ref swarm.Address, data []byte) {
	tb.Helper()
	got, err := dev.Client.DownloadBytes(ctx, ref, int64(len(data))+1)
	require.NoError(tb, err)
	require.True(tb, bytes.Equal(got, data), "bytes read back from %s differ", ref)
}

func tpConcs(tb testing.TB) []int {
	var out []int
	for _, s := range strings.Split(*tpRawConc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		require.NoError(tb, err, "-tp.rawconc")
		out = append(out, n)
	}
	return out
}

// BenchmarkThroughputVsRawBee/Interleaved runs, in every iteration, one
// round of each variant on fresh bytes of the same sizes, in alternating
// order:
//
//   - raw/conc=N: POST /bytes, N at a time (-tp.rawconc); the best is the
//     baseline;
//   - upload/verify, upload/noverify: the worker's upload path alone
//     (upload.NodeStamped, the worker's -capacity jobs at once, each job's
//     files at once as the worker does), in this process;
//   - pipeline/verify, pipeline/noverify: end to end, spool → gRPC → a real
//     archiver-node worker process (-verify=true/false) → Bee → report
//     recorded by the orchestrator, which checks every reference offline
//     with verify and trusts it without (grpcsvc TrustReferences);
//   - pipeline-before/*, pipeline-capN/*: the same with -tp.beforebin's
//     worker, or with a worker of -tp.capacity2.
//
// Metrics per variant: MB/s, ratio to raw (x), and CPU seconds per MB of
// Bee, the worker process and this process (the orchestrator side for the
// pipeline; the uploader itself for upload/*). orchcheck-cpu-s/MB is the
// orchestrator's offline check of reported references alone.
func BenchmarkThroughputVsRawBee(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	level := redundancy.Level(*tpRedundancy)
	batch, err := dev.BuyBatch(ctx, 24)
	require.NoError(b, err)
	raw := newTPRaw(batch, level)
	rng := rand.NewChaCha8([32]byte{8})
	var seq int64
	b.Run("Interleaved", func(b *testing.B) {
		b.Logf("loadavg before %s", tpLoadavg())
		bin := archiverNode(b)
		// The pipelines by variant prefix ("pipeline", and the optional
		// comparisons), each with verification on and off.
		pipelines := map[string]map[bool]*tpPipeline{}
		startPipes := func(prefix, bin string, capacity int) {
			pipelines[prefix] = map[bool]*tpPipeline{
				true:  tpStartPipeline(b, ctx, bin, batch, level, true, capacity),
				false: tpStartPipeline(b, ctx, bin, batch, level, false, capacity),
			}
		}
		startPipes("pipeline", bin, *tpCapacity)
		if *tpBeforeBin != "" {
			startPipes("pipeline-before", *tpBeforeBin, *tpCapacity)
		}
		if *tpCapacity2 > 0 {
			startPipes(fmt.Sprintf("pipeline-cap%d", *tpCapacity2), bin, *tpCapacity2)
		}
		pipes := pipelines["pipeline"]
		ups := map[bool]*upload.Uploader{
			true:  upload.NodeStamped(dev.Client, batch, upload.Config{Redundancy: level}),
			false: upload.NodeStamped(dev.Client, batch, upload.Config{Redundancy: level, SkipVerify: true}),
		}
		var names []string
		rawConc := map[string]int{}
		for _, c := range tpConcs(b) {
			n := fmt.Sprintf("raw/conc=%d", c)
			names = append(names, n)
			rawConc[n] = c
		}
		names = append(names, "upload/verify", "upload/noverify", "pipeline/verify", "pipeline/noverify")
		for _, prefix := range slices.Sorted(maps.Keys(pipelines)) {
			if prefix != "pipeline" {
				names = append(names, prefix+"/verify", prefix+"/noverify")
			}
		}
		if *tpOnly != "" {
			only := regexp.MustCompile(*tpOnly)
			names = slices.DeleteFunc(names, func(n string) bool { return rawConc[n] == 0 && !only.MatchString(n) })
		}
		tallies := map[string]*tpTally{}
		for _, n := range names {
			tallies[n] = &tpTally{}
		}
		var check, checkBee tpTally
		if *tpWorkerProf != "" {
			profiled := make(chan struct{})
			defer func() { <-profiled }()
			go func() {
				defer close(profiled)
				if err := tpFetchProfile(ctx, "http://"+pipes[false].metrics+"/debug/pprof/profile?seconds=15", *tpWorkerProf); err != nil {
					b.Errorf("worker profile: %v", err)
				}
			}()
		}
		iter := 0
		for b.Loop() {
			// Alternate the order every iteration (A,B,… then …,B,A) so no
			// variant always runs right after the same one.
			order := make([]string, len(names))
			for i, n := range names {
				if iter%2 == 1 {
					i = len(names) - 1 - i
				}
				order[i] = n
			}
			iter++
			for _, n := range order {
				b.StopTimer()
				jobs := tpNewJobs(rng, *tpJobs, &seq)
				files := tpFiles(jobs)
				size := tpSum(files)
				var last swarm.Address
				b.StartTimer()
				kind := "pipeline"
				if rawConc[n] > 0 {
					kind = "raw"
				} else if strings.HasPrefix(n, "upload/") {
					kind = "upload"
				}
				switch kind {
				case "raw":
					conc := rawConc[n]
					tpMeasure(b, tallies[n], size, 0, func() {
						var mu sync.Mutex
						require.NoError(b, tpParallel(conc, files, func(f []byte) error {
							ref, err := raw.post(ctx, f)
							if &f[0] == &files[len(files)-1][0] {
								mu.Lock()
								last = ref
								mu.Unlock()
							}
							return err
						}))
					})
				case "upload":
					up := ups[n == "upload/verify"]
					tpMeasure(b, tallies[n], size, 0, func() {
						var mu sync.Mutex
						require.NoError(b, tpParallel(*tpCapacity, jobs, func(j archiver.Job) error {
							// A job's files at once, as the worker uploads them.
							var g errgroup.Group
							for _, f := range tpFiles([]archiver.Job{j}) {
								g.Go(func() error {
									rec, err := up.Upload(ctx, f)
									if err == nil && &f[0] == &files[len(files)-1][0] {
										mu.Lock()
										last = rec.Reference
										mu.Unlock()
									}
									return err
								})
							}
							return g.Wait()
						}))
					})
				default:
					prefix, _, _ := strings.Cut(n, "/")
					p := pipelines[prefix][strings.HasSuffix(n, "/verify")]
					tpMeasure(b, tallies[n], size, p.worker.Pid(), func() { p.run(b, jobs) })
					last, err = chunker.Reference(ctx, files[len(files)-1], level)
					require.NoError(b, err)
				}
				b.StopTimer()
				tpReadBack(b, ctx, last, files[len(files)-1])
				if n == "pipeline/verify" && *tpCheck {
					// The orchestrator's offline check of the reported
					// references, alone (grpcsvc checkResults does this).
					c0, t0 := tpSelfCPU(b), time.Now()
					for _, f := range files {
						_, err := chunker.Reference(ctx, f, level)
						require.NoError(b, err)
					}
					check.wall += time.Since(t0)
					check.self += tpSelfCPU(b) - c0
					check.bytes += size
					// The same through Bee's own pipeline: the check
					// before chunker hashed level NONE itself.
					c0, t0 = tpSelfCPU(b), time.Now()
					for _, f := range files {
						_, err := tpBeeReference(ctx, f, level)
						require.NoError(b, err)
					}
					checkBee.wall += time.Since(t0)
					checkBee.self += tpSelfCPU(b) - c0
					checkBee.bytes += size
				}
				b.StartTimer()
			}
		}
		// The baseline is raw Bee at its best concurrency in this run.
		base, baseName := 0.0, ""
		for n := range rawConc {
			if m := tallies[n].mbps(); m > base {
				base, baseName = m, n
			}
		}
		b.Logf("baseline: %s", baseName)
		for _, n := range names {
			t := tallies[n]
			b.ReportMetric(t.mbps(), n+"-MB/s")
			if rawConc[n] == 0 {
				b.ReportMetric(t.mbps()/base, n+"-x")
			}
			b.Logf("%-18s %6.2f MB/s  %.3fx raw  CPU s/MB: bee %.4f  worker %.4f  this process %.4f",
				n, t.mbps(), t.mbps()/base, t.perMB(t.bee), t.perMB(t.worker), t.perMB(t.self))
		}
		if check.bytes > 0 {
			b.ReportMetric(check.perMB(check.self), "orchcheck-cpu-s/MB")
			b.ReportMetric(checkBee.perMB(checkBee.self), "orchcheck-beepipeline-cpu-s/MB")
			b.Logf("orchestrator offline check alone: %.4f CPU s/MB, %.1f MB/s (through Bee's pipeline: %.4f CPU s/MB, %.1f MB/s)",
				check.perMB(check.self), check.mbps(), checkBee.perMB(checkBee.self), checkBee.mbps())
		}
		b.Logf("loadavg after %s", tpLoadavg())
	})
}

// tpFetchProfile saves a pprof profile served at url to path.
func tpFetchProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func tpSum(files [][]byte) int64 {
	var n int64
	for _, f := range files {
		n += int64(len(f))
	}
	return n
}

// tpBeeReference is a file's reference through Bee's own file pipeline.
func tpBeeReference(ctx context.Context, data []byte, level redundancy.Level) (swarm.Address, error) {
	pipe := builder.NewPipelineBuilder(ctx, storage.PutterFunc(func(context.Context, swarm.Chunk) error { return nil }), false, level)
	return builder.FeedPipeline(ctx, pipe, bytes.NewReader(data))
}

// tpBeeSplit is a file's distinct chunks through Bee's own file pipeline.
func tpBeeSplit(ctx context.Context, data []byte, level redundancy.Level) (swarm.Address, []swarm.Chunk, error) {
	var (
		mu     sync.Mutex
		seen   = map[string]bool{}
		chunks []swarm.Chunk
	)
	pipe := builder.NewPipelineBuilder(ctx, storage.PutterFunc(func(_ context.Context, ch swarm.Chunk) error {
		mu.Lock()
		defer mu.Unlock()
		if !seen[ch.Address().ByteString()] {
			seen[ch.Address().ByteString()] = true
			chunks = append(chunks, swarm.NewChunk(ch.Address(), bytes.Clone(ch.Data())))
		}
		return nil
	}), false, level)
	root, err := builder.FeedPipeline(ctx, pipe, bytes.NewReader(data))
	return root, chunks, err
}
