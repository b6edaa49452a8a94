package integration_test

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/rig"
)

// The fault tests' sizes (RELIABILITY.md), each next to its test. Set once
// by flag.Parse, read-only afterwards. The defaults are what CI runs; the
// long runs RELIABILITY.md reports are given with each.
var faultsPace = flag.Duration("reliability.pace", 500*time.Millisecond, "fault tests: one segment per stream every pace")

const (
	faultsStreams = 3
	// faultsUploadDelay is what the gate adds to every upload:
	// a dev Bee stores a small file in milliseconds, and a kill or an
	// orchestrator restart must be able to land while an upload is open.
	faultsUploadDelay = 150 * time.Millisecond
)

// faultsData is one file of one segment: distinct for every (stream, seq,
// file), a few Swarm chunks each, starting with the MPEG-TS sync byte.
func faultsData(stream string, seq int64, file int) []byte {
	h := fnv.New64a()
	h.Write([]byte(stream))
	r := rand.New(rand.NewPCG(h.Sum64(), uint64(seq)<<8|uint64(file)))
	b := make([]byte, []int{12 << 10, 6 << 10, 2 << 10}[file]+r.IntN(4096))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[0] = 0x47
	return b
}

// faultsJob is segment seq of stream i of a test, with the renditions
// requireFinalManifests reads back ("lo", "audio").
func faultsJob(prefix string, i int, seq int64) archiver.Job {
	mid := fmt.Sprintf("%s-%d", prefix, i)
	return archiver.Job{Sender: common.Address{0xfa, byte(i + 1)}, ManifestID: archiver.ManifestID(mid), Seq: seq,
		Duration: 2 * time.Second, Source: faultsData(mid, seq, 0),
		Renditions: []archiver.Rendition{{Name: "lo", Data: faultsData(mid, seq, 1)}, {Name: "audio", Data: faultsData(mid, seq, 2)}}}
}

// faultsFeeder plays faultsStreams live streams into the rig's
// orchestrator: one segment per stream every pace, each waited for until
// the spool accepted it, so streams go on while a fault is injected.
type faultsFeeder struct {
	t      *testing.T
	prefix string
	pace   time.Duration

	mu sync.RWMutex // held for writing while the orchestrator restarts
	r  *rig.Rig

	jobsMu sync.Mutex
	jobs   []archiver.Job // accepted, in order per stream

	maxDepth atomic.Int64 // deepest spool seen by sample
	stop     chan struct{}
	done     chan error
}

func startFaultsFeeder(t *testing.T, r *rig.Rig, prefix string) *faultsFeeder {
	f := &faultsFeeder{t: t, prefix: prefix, pace: *faultsPace, r: r, stop: make(chan struct{}), done: make(chan error, 1)}
	go func() { f.done <- f.run() }()
	t.Cleanup(func() { f.halt() })
	return f
}

func (f *faultsFeeder) run() error {
	tick := time.NewTicker(f.pace)
	defer tick.Stop()
	for seq := int64(0); ; seq++ {
		for i := range faultsStreams {
			j := faultsJob(f.prefix, i, seq)
			f.mu.RLock()
			err := (<-f.r.Host().Archiver().Submit(j)).Err
			f.mu.RUnlock()
			if err == nil {
				f.jobsMu.Lock()
				f.jobs = append(f.jobs, j)
				f.jobsMu.Unlock()
			}
			if err != nil {
				return fmt.Errorf("%s seq %d refused: %w", j.ManifestID, seq, err)
			}
		}
		f.sample()
		select {
		case <-f.stop:
			return nil
		case <-tick.C:
		}
	}
}

// sample notes the spool's depth.
func (f *faultsFeeder) sample() int {
	f.mu.RLock()
	n := f.r.Host().SpoolStats().Jobs
	f.mu.RUnlock()
	for {
		m := f.maxDepth.Load()
		if int64(n) <= m || f.maxDepth.CompareAndSwap(m, int64(n)) {
			return n
		}
	}
}

// halt stops the streams and returns every accepted job.
func (f *faultsFeeder) halt() []archiver.Job {
	select {
	case <-f.stop:
	default:
		close(f.stop)
		require.NoError(f.t, <-f.done)
	}
	return f.accepted()
}

// between runs fn, a restart of the orchestrator, between two segments.
func (f *faultsFeeder) between(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *faultsFeeder) accepted() []archiver.Job {
	f.jobsMu.Lock()
	defer f.jobsMu.Unlock()
	return slices.Clone(f.jobs)
}

func (f *faultsFeeder) submitted() int {
	f.jobsMu.Lock()
	defer f.jobsMu.Unlock()
	return len(f.jobs)
}

// faultsNode starts a real worker process whose log goes to a file, shown
// when the test fails (twenty workers' logs would drown -v).
func faultsNode(t *testing.T, ctx context.Context, r *rig.Rig, beeURL, batch string, capacity int) *rig.Node {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "node.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	n := startNode(t, ctx, r, rig.NodeConfig{Bee: beeURL, Batch: batch, Capacity: capacity, Stderr: logFile})
	t.Cleanup(func() {
		_ = n.Kill()
		_ = n.Wait()
		_ = logFile.Close()
		if t.Failed() {
			faultsTail(t, logPath, 15)
		}
	})
	return n
}

func faultsTail(t *testing.T, path string, n int) {
	fh, err := os.Open(path)
	if err != nil {
		return
	}
	defer fh.Close()
	var lines []string
	for s := bufio.NewScanner(fh); s.Scan(); {
		lines = append(lines, s.Text())
	}
	for _, l := range lines[max(0, len(lines)-n):] {
		t.Log("node: " + l)
	}
}

// kill SIGKILLs a worker process and reaps it.
func faultsKill(t *testing.T, n *rig.Node) {
	t.Helper()
	require.NoError(t, n.Kill())
	err := n.Wait()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "worker exit: %v", err)
	require.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal())
}

// faultsRequireNoGaps: the index holds no gap and the service recorded no
// failure (a gap in the final manifest would also fail
// requireFinalManifests; this names the cause).
func faultsRequireNoGaps(t *testing.T, r *rig.Rig, jobs []archiver.Job) {
	t.Helper()
	require.Zero(t, r.Host().DispatchMetrics().Failed, "a job was recorded as failed")
	seen := map[catalog.StreamID]bool{}
	for _, j := range jobs {
		id := catalog.StreamID{ManifestID: string(j.ManifestID), Sender: j.Sender}
		if seen[id] {
			continue
		}
		seen[id] = true
		recs, err := r.Host().StreamRecords(id)
		require.NoError(t, err)
		for _, r := range recs {
			require.NotEqual(t, catalog.Gap, r.State, "%s %s seq %d is a gap: %s", id, r.Rendition, r.Seq, r.Error)
		}
	}
}

// faultsDrain waits until the spool is empty and returns how long it took.
func faultsDrain(t *testing.T, ctx context.Context, r *rig.Rig, limit time.Duration) time.Duration {
	t.Helper()
	started := time.Now()
	require.NoError(t, r.WaitDrained(ctx, limit), "spool not drained")
	return time.Since(started)
}

// TestWorkerSIGKILLedAtRandomPoints's long run:
//
//	go test ./integration -run 'TestWorkerSIGKILLedAtRandomPoints$' -reliability.kills=40 -v
var (
	faultsKills = flag.Int("reliability.kills", 20, "TestWorkerSIGKILLedAtRandomPoints: worker processes SIGKILLed")
	faultsSeed  = flag.Uint64("reliability.seed", 0, "TestWorkerSIGKILLedAtRandomPoints: RNG seed of the kill delays (0: a new one, logged)")
)

// TestWorkerSIGKILLedAtRandomPoints: while three streams go on, real
// worker processes are SIGKILLed one after another at random delays after
// their start (seeded; -reliability.seed replays a run), covering
// registration, fetch, upload to Bee and report; a gate in front of Bee,
// which slows and counts uploads, tells how many kills landed mid-upload, and at least a quarter
// must. A healthy worker then drains the spool. Every accepted segment of
// every stream is in its final manifest exactly once, in order, without a
// gap, byte-identical in Bee, and each job was recorded exactly once.
func TestWorkerSIGKILLedAtRandomPoints(t *testing.T) {
	kills := *faultsKills
	require.Positive(t, kills)
	seed := *faultsSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -reliability.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	ctx := testContext(t, 3*time.Minute+time.Duration(kills)*3*time.Second)
	o := startOrch(t, ctx)
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	feed := startFaultsFeeder(t, o, "kill")

	// A node registers within some 20 ms of its start on this machine and
	// fetches and uploads a few ms later; each file's upload then takes
	// faultsUploadDelay, and every publish uploads a manifest's nodes. A
	// quarter of the delays fall within the first 30 ms (start-up,
	// registration, the first fetch), the rest up to 1.5 s (fetches,
	// uploads of several jobs and publishes, reports). Each node has its
	// own gate, so a dead node's uploads are not counted as the next one's.
	var early, registered, midUpload, uploads int
	started := time.Now()
	for k := range kills {
		slow := gate(t, o, rig.Fault{Delay: faultsUploadDelay})
		node := faultsNode(t, ctx, o, slow.URL(), batch, 4)
		delay := time.Duration(rng.Int64N(int64(30 * time.Millisecond)))
		if rng.IntN(4) != 0 {
			delay = 30*time.Millisecond + time.Duration(rng.Int64N(int64(1470*time.Millisecond)))
		}
		time.Sleep(delay)
		uploading := slow.Holding()
		workers := o.Host().DispatchHeld().Workers
		faultsKill(t, node)
		uploads += slow.Uploads()
		switch {
		case uploading > 0:
			midUpload++
		case workers > 0:
			registered++
		default:
			early++
		}
		t.Logf("kill %d after %v: registered %v, uploads in flight %d, spool %d", k+1, delay.Round(time.Millisecond),
			workers > 0, uploading, feed.sample())
	}
	killing := time.Since(started)
	jobs := feed.halt()
	before := o.Host().DispatchMetrics()

	faultsNode(t, ctx, o, dev.URL, batch, 4)
	drain := faultsDrain(t, ctx, o, 2*time.Minute)
	requireFinalManifests(t, ctx, jobs, finish(t, ctx, o, jobs))
	faultsRequireNoGaps(t, o, jobs)
	m := o.Host().DispatchMetrics()
	t.Logf("%d kills in %v: %d before registration, %d registered with no upload open, %d mid-upload (%d uploads through the gates); before the healthy worker: %+v",
		kills, killing.Round(time.Millisecond), early, registered, midUpload, uploads, before)
	t.Logf("%d segments (%d per stream); healthy worker drained %d jobs in %v; max spool depth %d; metrics %+v",
		len(jobs), len(jobs)/faultsStreams, len(jobs)-int(before.Archived), drain.Round(time.Millisecond), feed.maxDepth.Load(), m)
	require.Equal(t, int64(len(jobs)), m.Archived, "each job recorded once")
	require.GreaterOrEqual(t, midUpload, kills/4, "too few kills landed mid-upload: the delays do not test what they should")
	require.Positive(t, m.Redispatched)
}

// TestAllWorkersGone's long run:
//
//	go test ./integration -run 'TestAllWorkersGone$' -reliability.workers-gone=60s -v
var faultsWorkersGone = flag.Duration("reliability.workers-gone", 5*time.Second, "TestAllWorkersGone: how long no worker is connected")

// TestAllWorkersGone: a worker archives three live streams; it is
// SIGKILLed, and for the outage no worker is connected while the streams
// go on. The spool holds the waiting jobs (its depth grows with every
// segment, nothing is recorded as a gap or failure); a new worker drains
// it; nothing is lost or recorded twice.
func TestAllWorkersGone(t *testing.T) {
	outage := *faultsWorkersGone
	ctx := testContext(t, 3*time.Minute+2*outage)
	o := startOrch(t, ctx)
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	first := faultsNode(t, ctx, o, dev.URL, batch, 2)
	feed := startFaultsFeeder(t, o, "gone")
	require.Eventually(t, func() bool { return o.Host().DispatchMetrics().Archived >= 2*faultsStreams }, time.Minute, 20*time.Millisecond)

	faultsKill(t, first)
	require.Eventually(t, func() bool { return o.Host().DispatchHeld().Workers == 0 }, 5*time.Second, 10*time.Millisecond)
	gone := time.Now()
	atStart, depthAtStart := feed.submitted(), o.Host().SpoolStats().Jobs
	archived := o.Host().DispatchMetrics().Archived
	for time.Since(gone) < outage {
		time.Sleep(100 * time.Millisecond)
		require.Equal(t, archived, o.Host().DispatchMetrics().Archived, "archived with no worker")
		require.Zero(t, o.Host().DispatchMetrics().Failed)
	}
	during := feed.submitted() - atStart
	depth := o.Host().SpoolStats().Jobs
	t.Logf("%v without a worker: %d segments arrived, spool depth %d → %d", outage, during, depthAtStart, depth)
	require.Positive(t, during, "the streams did not go on")
	require.Equal(t, depthAtStart+during, depth, "the spool holds every segment that arrived")
	faultsRequireNoGaps(t, o, feed.accepted())

	back := time.Now()
	faultsNode(t, ctx, o, dev.URL, batch, 2)
	// Caught up: every segment that waited is archived while the streams
	// go on.
	waiting := archived + int64(depth)
	require.Eventually(t, func() bool { return o.Host().DispatchMetrics().Archived >= waiting }, 2*time.Minute, 20*time.Millisecond)
	catchUp := time.Since(back)
	jobs := feed.halt()
	drain := faultsDrain(t, ctx, o, time.Minute)
	requireFinalManifests(t, ctx, jobs, finish(t, ctx, o, jobs))
	faultsRequireNoGaps(t, o, jobs)
	m := o.Host().DispatchMetrics()
	t.Logf("%d segments; max spool depth %d; the new worker caught up with the %d waiting jobs in %v (then drained in %v); metrics %+v",
		len(jobs), feed.maxDepth.Load(), depth, catchUp.Round(time.Millisecond), drain.Round(time.Millisecond), m)
	require.Equal(t, int64(len(jobs)), m.Archived, "each job recorded once")
}

// faultsProxy is a loopback TCP proxy in front of the dev Bee (which keeps
// everything in memory and cannot be restarted) that makes Bee
// unreachable on demand, in one of three ways.
type faultsProxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	mode  string // "" (up), "refuse", "blackhole" or "reset"
	lis   net.Listener
	conns map[net.Conn]bool
	up    chan struct{} // closed when the outage ends
}

func newFaultsProxy(t *testing.T) (*faultsProxy, string) {
	t.Helper()
	target, err := url.Parse(dev.URL)
	require.NoError(t, err)
	p := &faultsProxy{t: t, target: target.Host, conns: map[net.Conn]bool{}, up: make(chan struct{})}
	close(p.up)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.addr = lis.Addr().String()
	p.serve(lis)
	t.Cleanup(func() { p.set(""); p.closeAll() })
	return p, "http://" + p.addr
}

func (p *faultsProxy) serve(lis net.Listener) {
	p.lis = lis
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
}

func (p *faultsProxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
}

func (p *faultsProxy) handle(c net.Conn) {
	p.track(c, true)
	defer p.track(c, false)
	defer c.Close()
	p.mu.Lock()
	mode, up := p.mode, p.up
	p.mu.Unlock()
	switch mode {
	case "blackhole": // accepted, never answered
		go func() { _, _ = io.Copy(io.Discard, c) }()
		<-up
		return
	case "reset": // reset mid-request
		buf := make([]byte, 512)
		_, _ = c.Read(buf)
		faultsReset(c)
		return
	}
	b, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	p.track(b, true)
	defer p.track(b, false)
	defer b.Close()
	done := make(chan struct{}, 2)
	go func() { p.pipe(b, c); done <- struct{}{} }()
	go func() { p.pipe(c, b); done <- struct{}{} }()
	<-done
}

// pipe copies until either side closes; during a black-hole outage it
// holds what it read, as a network that drops every packet would.
func (p *faultsProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			mode, up := p.mode, p.up
			p.mu.Unlock()
			if mode == "blackhole" {
				<-up
				return // the client gave up long ago
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func faultsReset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST instead of FIN
	}
	_ = c.Close()
}

// closeAll resets every open connection.
func (p *faultsProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		faultsReset(c)
	}
}

// set starts an outage of the given mode, or ends it ("").
func (p *faultsProxy) set(mode string) {
	p.mu.Lock()
	old := p.mode
	p.mode = mode
	if old == "" && mode != "" {
		p.up = make(chan struct{})
	}
	if old != "" && mode == "" {
		close(p.up)
	}
	lis := p.lis
	p.mu.Unlock()
	switch {
	case mode == "refuse":
		_ = lis.Close() // the port is closed: connections are refused
		p.closeAll()
	case mode == "reset":
		p.closeAll()
	case old == "refuse" && mode == "":
		var err error
		for range 50 { // the port was ours a moment ago
			if lis, err = net.Listen("tcp", p.addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		require.NoError(p.t, err)
		p.mu.Lock()
		p.serve(lis)
		p.mu.Unlock()
	}
}

// TestBeeUnreachable's long run:
//
//	go test ./integration -run 'TestBeeUnreachable$' -reliability.bee-outage=60s -v -timeout 30m
var faultsBeeOutage = flag.Duration("reliability.bee-outage", 5*time.Second, "TestBeeUnreachable: how long Bee is unreachable, per mode")

// TestBeeUnreachable: a worker archives three live streams through a TCP
// fault proxy in front of Bee; for the outage Bee is unreachable, with
// connections refused, black-holed (accepted, never answered) or reset
// mid-request. The streams go on; the worker's uploads fail as "Bee down",
// which is not the job's fault: each job goes back at its deadline and is
// redispatched without limit, so a long outage makes no gap. After the
// outage the uploads complete; nothing is lost or recorded twice.
func TestBeeUnreachable(t *testing.T) {
	outage := *faultsBeeOutage
	for _, mode := range []string{"refuse", "blackhole", "reset"} {
		t.Run(mode, func(t *testing.T) {
			ctx := testContext(t, 3*time.Minute+2*outage)
			o := startOrch(t, ctx)
			batch, err := dev.BuyBatch(ctx, 22)
			require.NoError(t, err)
			proxy, proxyURL := newFaultsProxy(t)
			// Room for the three streams' publishes, which retry through the
			// outage, and for segments.
			faultsNode(t, ctx, o, proxyURL, batch, 8)
			feed := startFaultsFeeder(t, o, "bee-"+mode)
			require.Eventually(t, func() bool { return o.Host().DispatchMetrics().Archived >= 2*faultsStreams }, time.Minute, 20*time.Millisecond)

			before := o.Host().DispatchMetrics()
			atStart := feed.submitted()
			proxy.set(mode)
			started := time.Now()
			for time.Since(started) < outage {
				time.Sleep(100 * time.Millisecond)
				feed.sample()
				require.Zero(t, o.Host().DispatchMetrics().Failed, "a job failed while Bee was down")
			}
			during := o.Host().DispatchMetrics()
			arrived := feed.submitted() - atStart
			proxy.set("")
			back := time.Now()
			// Caught up: everything accepted by the end of the outage is
			// archived, while the streams go on.
			waiting := int64(feed.submitted())
			require.Eventually(t, func() bool { return o.Host().DispatchMetrics().Archived >= waiting }, 2*time.Minute+outage, 20*time.Millisecond)
			catchUp := time.Since(back)
			jobs := feed.halt()
			faultsDrain(t, ctx, o, time.Minute)
			requireFinalManifests(t, ctx, jobs, finish(t, ctx, o, jobs))
			faultsRequireNoGaps(t, o, jobs)
			m := o.Host().DispatchMetrics()
			t.Logf("%s for %v: %d segments arrived, %d jobs archived meanwhile, %d redispatched during the outage (%d in all); caught up with %d jobs in %v after Bee came back",
				mode, outage, arrived, during.Archived-before.Archived, during.Redispatched-before.Redispatched, m.Redispatched,
				waiting-during.Archived, catchUp.Round(time.Millisecond))
			t.Logf("%d segments; max spool depth %d; metrics %+v", len(jobs), feed.maxDepth.Load(), m)
			require.Equal(t, int64(len(jobs)), m.Archived, "each job recorded once")
			require.Positive(t, arrived, "the streams did not go on")
			require.Greater(t, during.Redispatched, before.Redispatched, "no job went back at its deadline during the outage")
		})
	}
}

// TestOrchestratorRestartWithWorkersConnected's long run:
//
//	go test ./integration -run 'TestOrchestratorRestartWithWorkersConnected$' -reliability.orch-restarts=10 -v
var faultsOrchRestart = flag.Int("reliability.orch-restarts", 2, "TestOrchestratorRestartWithWorkersConnected: orchestrator restarts")

// TestOrchestratorRestartWithWorkersConnected: two workers archive three
// live streams while the orchestrator (host and gRPC server) is stopped
// and started again on the same data directory and address, with jobs in
// flight (uploads go through a gate that keeps them open for a while).
// The workers reconnect on their own; their reports for the old process's
// assignments are refused as late. Every accepted segment is in its final
// manifest exactly once; summed over the processes, each job was recorded
// exactly once.
func TestOrchestratorRestartWithWorkersConnected(t *testing.T) {
	restarts := *faultsOrchRestart
	ctx := testContext(t, 3*time.Minute+time.Duration(restarts)*10*time.Second)
	o := startOrch(t, ctx)
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	slow := gate(t, o, rig.Fault{Delay: faultsUploadDelay})
	for range 2 {
		faultsNode(t, ctx, o, slow.URL(), batch, 2)
	}
	feed := startFaultsFeeder(t, o, "restart")
	var archived, late, redispatched int64
	for r := range restarts {
		target := o.Host().DispatchMetrics().Archived + 2*faultsStreams
		require.Eventually(t, func() bool { return o.Host().DispatchMetrics().Archived >= target }, time.Minute, 20*time.Millisecond)
		require.Eventually(t, func() bool { return slow.Holding() > 0 }, 10*time.Second, time.Millisecond, "no upload in flight")
		var inFlight int
		var down time.Duration
		feed.between(func() {
			inFlight = o.Host().DispatchHeld().Assigned
			stopped := time.Now()
			_ = o.Stop()
			m := o.Host().DispatchMetrics()
			archived, late, redispatched = archived+m.Archived, late+m.LateReports, redispatched+m.Redispatched
			require.NoError(t, o.Restart(ctx))
			down = time.Since(stopped)
		})
		start := time.Now()
		// A worker rejoins with its minimum backoff (500 ms), however many
		// restarts it has seen.
		require.Eventually(t, func() bool { return o.Host().DispatchHeld().Workers == 2 }, 5*time.Second, 10*time.Millisecond,
			"restart %d: the workers did not come back", r+1)
		t.Logf("restart %d with %d jobs assigned: down %v, both workers back %v later; spool %d", r+1, inFlight,
			down.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), o.Host().SpoolStats().Jobs)
	}
	jobs := feed.halt()
	drain := faultsDrain(t, ctx, o, time.Minute)
	requireFinalManifests(t, ctx, jobs, finish(t, ctx, o, jobs))
	faultsRequireNoGaps(t, o, jobs)
	m := o.Host().DispatchMetrics()
	archived, late, redispatched = archived+m.Archived, late+m.LateReports, redispatched+m.Redispatched
	t.Logf("%d segments, %d restarts; drained in %v after the streams stopped; over all processes: archived %d, late reports %d, redispatched %d",
		len(jobs), restarts, drain.Round(time.Millisecond), archived, late, redispatched)
	require.Equal(t, int64(len(jobs)), archived, "each job recorded once, over all processes")
}
