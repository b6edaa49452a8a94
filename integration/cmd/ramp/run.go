package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/beetest"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/internal/spool"
	"github.com/lpswarm/archiver/internal/streams"
)

const secret = "ramp-secret"

// ramp is the ramp's state and what it runs against.
type ramp struct {
	cfg    config
	rig    *rig.Rig // the orchestrator side and the worker processes
	rec    *recorder
	raw    *recorder   // the raw baseline's segments (-raw)
	rawBee *bee.Client // the raw baseline's client
	batch  string
	epoch  int // archiver streams ended for a raw phase: new ids and bytes from here
	beeURL string
	beePID int
	clips  []clip
	run    uint64
	seq    map[string]int64 // next sequence number per manifest id
	live   map[string]catalog.StreamID
	t0     time.Time // the first step's start: segments.csv counts from it
}

// run runs the ramp and returns the per-step results.
func run(ctx context.Context, cfg config, stdout io.Writer) ([]result, error) {
	steps, err := parseSteps(cfg.steps)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return nil, fmt.Errorf("ramp: %w", err)
	}
	r := &ramp{cfg: cfg, rec: newRecorder(), raw: newRecorder(), seq: map[string]int64{}, live: map[string]catalog.StreamID{}}
	var b [8]byte
	_, _ = rand.Read(b[:])
	r.run = binary.BigEndian.Uint64(b[:])

	top := 0
	for _, s := range steps {
		top = max(top, s.Level)
	}
	fmt.Fprintf(stdout, "generating clips up to %s in %s (once; cached)\n", ladder[top].Name, cfg.cache)
	clips, err := generateClips(ctx, cfg.cache, cfg.segment, cfg.clipSeconds, top)
	if err != nil {
		return nil, err
	}
	r.clips = clips

	cleanup, err := r.start(ctx, stdout)
	defer cleanup()
	if err != nil {
		return nil, err
	}

	var results []result
	fmt.Fprintln(stdout, header())
	// With -raw each step runs twice, raw Bee and the archiver, in turn
	// first (raw, archiver; archiver, raw; ...): Bee grows as it stores, and
	// alternating spreads that over both. A mode that failed a step is not
	// run again (unless -keep-going); the ramp ends when both have failed.
	failed := map[string]bool{}
	for i, s := range steps {
		modes := []string{modeArchiver}
		if cfg.raw {
			modes = []string{modeRaw, modeArchiver}
			if i%2 == 1 {
				modes = []string{modeArchiver, modeRaw}
			}
		}
		for _, m := range modes {
			if failed[m] && !cfg.keepGoing {
				continue
			}
			res, err := r.phase(ctx, m, i, s)
			if err != nil {
				return results, err
			}
			results = append(results, res)
			fmt.Fprintln(stdout, res.row())
			if m == modeArchiver {
				fmt.Fprintln(stdout, res.Split)
			}
			failed[m] = failed[m] || !res.OK
		}
		if failed[modeArchiver] && (!cfg.raw || failed[modeRaw]) && !cfg.keepGoing {
			break
		}
	}
	r.endStreams(nil)
	drained := r.waitDrained(ctx, cfg.drain)
	if err := r.rec.writeSegments(filepath.Join(cfg.out, "segments.csv"), r.t0); err != nil {
		return results, err
	}
	if err := writeCSV(filepath.Join(cfg.out, "ramp.csv"), results); err != nil {
		return results, err
	}
	if err := writePNG(filepath.Join(cfg.out, "ramp.png"), results, cfg.segment); err != nil {
		return results, err
	}
	fmt.Fprint(stdout, summary(results, cfg, drained, r.rec, r.raw))
	return results, nil
}

// start brings up Bee (unless given), the orchestrator side and the
// workers. The returned cleanup stops them all.
func (r *ramp) start(ctx context.Context, stdout io.Writer) (func(), error) {
	var stops []func()
	cleanup := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	cfg := r.cfg
	r.beeURL = cfg.beeURL
	if r.beeURL == "" {
		logf, err := os.Create(filepath.Join(cfg.out, "bee.log"))
		if err != nil {
			return cleanup, fmt.Errorf("ramp: %w", err)
		}
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		dev, err := beetest.StartDev(sctx, logf)
		cancel()
		if err != nil {
			logf.Close()
			return cleanup, fmt.Errorf("ramp: %w", err)
		}
		stops = append(stops, func() { dev.Close(); logf.Close() })
		r.beeURL = dev.URL
	}
	if u, err := url.Parse(r.beeURL); err == nil {
		r.beePID = findPID("--api-addr", u.Host)
		if r.beePID == 0 {
			r.beePID = findPID("bee", u.Port()) // a Bee given by URL: best effort
		}
	}
	fmt.Fprintf(stdout, "bee %s (pid %d)\n", r.beeURL, r.beePID)
	batch := cfg.batch
	if batch == "" {
		c, err := bee.New(r.beeURL)
		if err != nil {
			return cleanup, fmt.Errorf("ramp: %w", err)
		}
		bctx, cancel := context.WithTimeout(ctx, time.Minute)
		// Dev nodes take any amount; a real one would charge it.
		batch, err = c.BuyBatch(bctx, big.NewInt(1_000_000_000), uint8(cfg.depth), "ramp", true)
		cancel()
		if err != nil {
			return cleanup, fmt.Errorf("ramp: buy batch: %w", err)
		}
	}

	dir, err := os.MkdirTemp("", "ramp-orch-")
	if err != nil {
		return cleanup, fmt.Errorf("ramp: %w", err)
	}
	stops = append(stops, func() { _ = os.RemoveAll(dir) })
	logf, err := os.Create(filepath.Join(cfg.out, "orchestrator.log"))
	if err != nil {
		return cleanup, fmt.Errorf("ramp: %w", err)
	}
	stops = append(stops, func() { logf.Close() })
	bin := cfg.node
	if bin == "" {
		bin = filepath.Join(dir, "archiver-node")
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/lpswarm/archiver/cmd/archiver-node").CombinedOutput()
		if err != nil {
			return cleanup, fmt.Errorf("ramp: go build archiver-node: %w: %s", err, out)
		}
	}
	if r.rig, err = rig.Start(ctx, rig.Config{
		Dir: dir,
		Host: host.Config{
			Spool:   spool.Config{MaxBytes: cfg.spoolBytes},
			Service: grpcsvc.Config{Secret: secret, Redundancy: redundancy.Level(cfg.redundancy)},
			Streams: streams.Config{PublishEvery: cfg.pubEvery, PublishInterval: cfg.pubInterval},
			// Lag ends where the catalog records the worker's report: wrap
			// the results keeper the service reports to.
			Results: func(next grpcsvc.Results) grpcsvc.Results { return lagResults{next: next, rec: r.rec} },
			Logger:  slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelWarn})),
		},
		TLS:           true,
		ServerOptions: r.rec.interceptors(),
		Bee:           rig.Bee{URL: r.beeURL, Batch: batch},
		NodeBin:       bin,
	}); err != nil {
		return cleanup, fmt.Errorf("ramp: %w", err)
	}
	var wlogs []*os.File
	stops = append(stops, func() {
		_ = r.rig.Close()
		for _, f := range wlogs {
			f.Close()
		}
	})
	for i := range cfg.workers {
		wlog, err := os.Create(filepath.Join(cfg.out, fmt.Sprintf("worker-%d.log", i)))
		if err != nil {
			return cleanup, fmt.Errorf("ramp: %w", err)
		}
		wlogs = append(wlogs, wlog)
		if _, err := r.rig.StartNode(ctx, rig.NodeConfig{Capacity: cfg.capacity, Redundancy: int(cfg.redundancy),
			Stdout: wlog, Stderr: wlog}); err != nil {
			return cleanup, fmt.Errorf("ramp: %w", err)
		}
	}
	if err := r.rig.WaitWorkers(ctx, cfg.workers, 30*time.Second); err != nil {
		return cleanup, fmt.Errorf("ramp: %w (see %s/worker-*.log)", err, cfg.out)
	}
	r.batch = batch
	if r.rawBee, err = rawClient(r.beeURL); err != nil {
		return cleanup, fmt.Errorf("ramp: %w", err)
	}
	fmt.Fprintf(stdout, "orchestrator pid %d, %d workers × capacity %d, batch %s, redundancy %d\n",
		os.Getpid(), cfg.workers, cfg.capacity, batch, cfg.redundancy)
	return cleanup, nil
}

// phase runs step s in one mode. A raw phase starts with the archiver
// idle: its streams ended (an idle stream would be ended by the stream
// keeper mid-phase anyway), their final publishes done, its spool empty.
func (r *ramp) phase(ctx context.Context, mode string, idx int, s step) (result, error) {
	if mode == modeArchiver {
		return r.step(ctx, idx, s)
	}
	r.rec.mu.Lock()
	live := len(r.live)
	r.rec.mu.Unlock()
	if live > 0 {
		r.endStreams(nil)
		r.epoch++
	}
	r.settle(ctx, time.Minute)
	r.waitDrained(ctx, r.cfg.drain)
	return r.rawStep(ctx, idx, s)
}

// streamID names stream i of a profile; streams restarted after a raw
// phase get new names.
func (r *ramp) streamID(level, i int) string {
	id := fmt.Sprintf("ramp-%x-%s-%d", r.run&0xffffff, ladder[level].Name, i)
	if r.epoch > 0 {
		id += fmt.Sprintf("-e%d", r.epoch)
	}
	return id
}

// salt marks the bytes of the current epoch's segments: a restarted
// stream counts its sequence numbers from 0 again.
func (r *ramp) salt() uint64 {
	return (r.run ^ uint64(r.epoch)<<40) &^ rawSalt
}

// step runs one step: its streams replay segments in real time for the
// hold, while the spool and the processes' CPU are sampled.
func (r *ramp) step(ctx context.Context, idx int, s step) (result, error) {
	cfg := r.cfg
	ids := make([]string, s.Streams)
	keep := map[string]bool{}
	for i := range ids {
		// Streams of the same profile carry on from step to step, as live
		// streams would; the others end (their final publish is load too).
		ids[i] = r.streamID(s.Level, i)
		keep[ids[i]] = true
	}
	r.endStreams(keep)
	// Let the ended streams' final publishes finish before measuring: a
	// burst of them would count against the next step, which is not the
	// steady load it measures.
	r.settle(ctx, time.Minute)

	if r.t0.IsZero() {
		r.t0 = time.Now()
	}
	res := result{Mode: modeArchiver, Step: idx + 1, Streams: s.Streams, Profile: ladder[s.Level].Name, LoadStart: loadavg()}
	for l := 0; l <= s.Level; l++ {
		res.NominalMbps += float64(s.Streams*ladder[l].Kbps) / 1000
	}
	cpu0 := r.cpu()
	start := time.Now()
	var prof func()
	if idx+1 == cfg.profileStep {
		prof = r.profile(ctx, cfg.hold)
	}

	sctx, cancel := context.WithTimeout(ctx, cfg.hold)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.replay(sctx, idx, i, id, s, time.Duration(i)*cfg.segment/time.Duration(s.Streams))
		}()
	}
	var samples []spoolSample
	tick := time.NewTicker(500 * time.Millisecond)
	for sctx.Err() == nil {
		select {
		case <-tick.C:
			st := r.rig.Host().SpoolStats()
			samples = append(samples, spoolSample{time.Since(start), st.Jobs, st.Bytes})
		case <-sctx.Done():
		}
	}
	tick.Stop()
	cancel()
	wg.Wait()
	if prof != nil {
		prof()
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	end := time.Now()
	cpu1 := r.cpu()
	res.LoadEnd = loadavg()
	res.cpuFigures(cpu0, cpu1, end.Sub(start))
	res.spoolFigures(samples)
	// Measure segments accepted after the streams ramped in (one segment)
	// and at least two segments before the end: a segment still waiting
	// then has waited more than the threshold, and counts as such.
	r.rec.figures(&res, idx, start.Add(cfg.segment), end.Add(-2*cfg.segment), end)
	res.Split = r.rec.breakdownFor(idx, start.Add(cfg.segment), end.Add(-2*cfg.segment))
	res.judge(cfg.segment)
	return res, nil
}

// replay sends one segment per segment duration on stream id until ctx
// ends, after an offset that spreads the streams over a segment.
func (r *ramp) replay(ctx context.Context, stepIdx, streamIdx int, id string, s step, offset time.Duration) {
	select {
	case <-time.After(offset):
	case <-ctx.Done():
		return
	}
	var sender [20]byte
	copy(sender[:], "ramp")
	binary.BigEndian.PutUint32(sender[16:], uint32(streamIdx))
	in := r.rig.Host().Archiver()
	salt := r.salt()
	tick := time.NewTicker(r.cfg.segment)
	defer tick.Stop()
	for {
		// One goroutine per stream, steps in turn: r.seq is not shared.
		seq := r.nextSeq(id)
		src := r.clips[s.Level].segments[int(seq)%len(r.clips[s.Level].segments)]
		job := archiver.Job{
			Sender: sender, ManifestID: archiver.ManifestID(id), Seq: seq, Duration: r.cfg.segment,
			Source: unique(src, salt, streamIdx, s.Level, seq),
		}
		for l := s.Level - 1; l >= 0; l-- {
			seg := r.clips[l].segments[int(seq)%len(r.clips[l].segments)]
			job.Renditions = append(job.Renditions, archiver.Rendition{Name: ladder[l].Name, Data: unique(seg, salt, streamIdx, l, seq)})
		}
		r.remember(id, sender)
		key := r.rec.submitted(stepIdx, id, seq, job.Bytes())
		out := in.Submit(job)
		go func() { r.rec.accepted(key, (<-out).Err) }()
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

func (r *ramp) nextSeq(id string) int64 {
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	n := r.seq[id]
	r.seq[id] = n + 1
	return n
}

func (r *ramp) remember(id string, sender [20]byte) {
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	r.live[id] = catalog.StreamID{ManifestID: id, Sender: sender}
}

// endStreams ends every live stream not in keep (nil: all of them).
func (r *ramp) endStreams(keep map[string]bool) {
	r.rec.mu.Lock()
	var end []catalog.StreamID
	for id, sid := range r.live {
		if !keep[id] {
			end = append(end, sid)
			delete(r.live, id)
		}
	}
	r.rec.mu.Unlock()
	h := r.rig.Host()
	for _, sid := range end {
		h.EndStream(sid)
	}
}

// settle waits until only the live streams are left in the stream keeper:
// every ended one has had its final publish.
func (r *ramp) settle(ctx context.Context, limit time.Duration) {
	r.rec.mu.Lock()
	live := len(r.live)
	r.rec.mu.Unlock()
	deadline := time.Now().Add(limit)
	for r.rig.Host().OpenStreams() > live && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
}

// waitDrained waits until every segment submitted is accepted or refused,
// every accepted one is recorded, and the spool holds no job; it says
// whether that happened in time. (The spool alone can look empty while a
// job is still being recorded in the index on its way in.)
func (r *ramp) waitDrained(ctx context.Context, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if r.rec.settled() {
			if st := r.rig.Host().SpoolStats(); st.Jobs == 0 && st.Pending == 0 {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// cpu reads the CPU time of every process and of the machine.
func (r *ramp) cpu() cpuSample {
	s := cpuSample{at: time.Now()}
	s.orch, _ = procTicks(os.Getpid())
	for _, w := range r.rig.Nodes() {
		t, _ := procTicks(w.Pid())
		s.workers += t
	}
	if r.beePID != 0 {
		s.bee, _ = procTicks(r.beePID)
	}
	s.machine, _ = machineTicks()
	return s
}

// profile starts a CPU profile of this process and fetches one of Bee
// over the step; the returned func waits for both.
func (r *ramp) profile(ctx context.Context, d time.Duration) func() {
	f, err := os.Create(filepath.Join(r.cfg.out, "orchestrator.pprof"))
	if err == nil {
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			f = nil
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		secs := int(d.Seconds()) - 1
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", r.beeURL, secs), nil)
		if err != nil {
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slog.Warn("bee profile", "error", err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			slog.Warn("bee profile", "status", resp.Status)
			return
		}
		bf, err := os.Create(filepath.Join(r.cfg.out, "bee.pprof"))
		if err != nil {
			return
		}
		defer bf.Close()
		_, _ = io.Copy(bf, resp.Body)
	}()
	return func() {
		if f != nil {
			pprof.StopCPUProfile()
			f.Close()
		}
		<-done
	}
}

// lagResults stamps the moment the index records a job archived.
type lagResults struct {
	next grpcsvc.Results
	rec  *recorder
}

func (l lagResults) Archived(ctx context.Context, j archiver.Job, files []grpcsvc.FileResult) error {
	err := l.next.Archived(ctx, j, files)
	if err == nil {
		l.rec.archived(string(j.ManifestID), j.Seq, false)
	}
	return err
}

func (l lagResults) Failed(ctx context.Context, j archiver.Job, reason string) error {
	err := l.next.Failed(ctx, j, reason)
	if err == nil {
		l.rec.archived(string(j.ManifestID), j.Seq, true)
	}
	return err
}

var _ grpcsvc.Results = lagResults{}
