package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// segKey names a segment.
type segKey struct {
	id  string
	seq int64
}

// segRec is one segment's times.
type segRec struct {
	step      int
	bytes     int64
	submitted time.Time
	accepted  time.Time // zero until the spool's outcome
	refused   bool      // the outcome was an error: never accepted
	archived  time.Time // zero until the index records the report
	failed    bool      // recorded as a gap
	// Seen at the workers' service (trace.go): the job notice sent to a
	// worker, its fetch, its report received.
	dispatched, fetchStart, fetchEnd, reported time.Time
}

// recorder keeps every segment's times; it also guards the ramp's per
// stream maps (one lock, rarely contended: a few hundred events a second).
type recorder struct {
	mu   sync.Mutex
	segs map[segKey]*segRec
	// early holds archive times reported before the accept outcome was
	// read (the outcome's reader can be scheduled late).
	early map[segKey]time.Time
	jobs  map[string]segKey  // spool job id → segment
	pubs  map[string]*pubRec // publish job id → publish
}

func newRecorder() *recorder {
	return &recorder{segs: map[segKey]*segRec{}, early: map[segKey]time.Time{}, jobs: map[string]segKey{}, pubs: map[string]*pubRec{}}
}

func (r *recorder) submitted(step int, id string, seq, bytes int64) segKey {
	k := segKey{id, seq}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.segs[k] = &segRec{step: step, bytes: bytes, submitted: time.Now()}
	return k
}

func (r *recorder) accepted(k segKey, err error) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.segs[k]
	if err != nil {
		s.refused = true
		return
	}
	s.accepted = now
	if t, ok := r.early[k]; ok && t.Before(now) {
		s.accepted = t // archived before we saw the outcome: lag ~0
	}
}

func (r *recorder) archived(id string, seq int64, failed bool) {
	now := time.Now()
	k := segKey{id, seq}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.segs[k]
	if s == nil || !s.archived.IsZero() {
		return // not ours, or a late duplicate report
	}
	s.archived, s.failed = now, failed
	if s.accepted.IsZero() {
		r.early[k] = now
	}
}

// settled: every segment submitted was refused, or accepted and recorded.
func (r *recorder) settled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.segs {
		if !s.refused && (s.accepted.IsZero() || s.archived.IsZero()) {
			return false
		}
	}
	return true
}

// totals counts accepted segments and those recorded, over the whole run.
func (r *recorder) totals() (accepted, archived, failed, refused int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.segs {
		switch {
		case s.refused:
			refused++
		case !s.accepted.IsZero():
			accepted++
			if !s.archived.IsZero() {
				archived++
				if s.failed {
					failed++
				}
			}
		}
	}
	return
}

// figures fills res from the step's segments accepted in [from, to]; one
// not yet recorded at now counts with the lag it has so far.
func (r *recorder) figures(res *result, step int, from, to, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var lags, accepts []float64
	var bytes int64
	for _, s := range r.segs {
		if s.step != step || s.submitted.Before(from) || s.submitted.After(to) {
			continue
		}
		res.Segments++
		bytes += s.bytes
		if s.refused {
			res.Refused++
			continue
		}
		if s.accepted.IsZero() {
			// Not even accepted yet: its archive lag will exceed what it
			// has waited so far.
			accepts = append(accepts, now.Sub(s.submitted).Seconds())
			lags = append(lags, now.Sub(s.submitted).Seconds())
			res.Unrecorded++
			continue
		}
		accepts = append(accepts, s.accepted.Sub(s.submitted).Seconds())
		switch {
		case s.archived.IsZero():
			lags = append(lags, now.Sub(s.accepted).Seconds())
			res.Unrecorded++
		default:
			lags = append(lags, max(0, s.archived.Sub(s.accepted).Seconds()))
			if s.failed {
				res.Failed++
			}
		}
	}
	window := to.Sub(from).Seconds()
	res.MeasuredMbps = float64(bytes) * 8 / window / 1e6
	res.JobsPerSec = float64(res.Segments) / window
	res.LagP50, res.LagP95, res.LagMax = pct(lags, 0.50), pct(lags, 0.95), pct(lags, 1)
	res.AcceptP95 = pct(accepts, 0.95)
}

// pct is the nearest-rank percentile of xs (sorts xs).
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	i := int(p*float64(len(xs))+0.999999) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

type spoolSample struct {
	at    time.Duration
	jobs  int
	bytes int64
}

type cpuSample struct {
	at                 time.Time
	orch, workers, bee int64
	machine            machine
}

// Modes of a step (-raw runs both).
const (
	modeArchiver = "archiver" // through the orchestrator side and the workers
	modeRaw      = "raw"      // straight to Bee's POST /bytes
)

// result is one step's figures, in one mode.
type result struct {
	Mode                   string
	Step                   int
	Streams                int
	Profile                string
	NominalMbps            float64
	MeasuredMbps           float64 // bytes accepted in the window, as sent (source + renditions)
	JobsPerSec             float64
	Segments               int
	Refused, Failed        int
	Unrecorded             int // accepted in the window, not recorded at the step's end
	LagP50, LagP95, LagMax float64
	AcceptP95              float64
	SpoolEnd, SpoolMax     int
	SpoolSlope             float64 // jobs per second, least squares over the step
	CPUOrch, CPUWorkers    float64 // % of one core
	CPUBee, CPUOthers      float64
	Busy, IOWait           float64 // % of the machine (all cores)
	LoadStart, LoadEnd     string
	OK                     bool
	Why                    string
	Cores                  int
	Split                  breakdown
}

func (res *result) cpuFigures(a, b cpuSample, wall time.Duration) {
	sec := wall.Seconds()
	pc := func(d int64) float64 { return float64(d) / clkTck / sec * 100 }
	res.CPUOrch, res.CPUWorkers, res.CPUBee = pc(b.orch-a.orch), pc(b.workers-a.workers), pc(b.bee-a.bee)
	total := float64(b.machine.total - a.machine.total)
	if total > 0 {
		idle := float64(b.machine.idle - a.machine.idle)
		iow := float64(b.machine.iowait - a.machine.iowait)
		res.Busy = (total - idle - iow) / total * 100
		res.IOWait = iow / total * 100
		res.Cores = int(total/clkTck/sec + 0.5)
		all := (total - idle - iow) / clkTck / sec * 100 // % of one core, every process
		res.CPUOthers = max(0, all-res.CPUOrch-res.CPUWorkers-res.CPUBee)
	}
}

func (res *result) spoolFigures(ss []spoolSample) {
	if len(ss) == 0 {
		return
	}
	res.SpoolEnd = ss[len(ss)-1].jobs
	var sx, sy, sxx, sxy float64
	for _, s := range ss {
		res.SpoolMax = max(res.SpoolMax, s.jobs)
		x, y := s.at.Seconds(), float64(s.jobs)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	n := float64(len(ss))
	if d := n*sxx - sx*sx; d > 0 {
		res.SpoolSlope = (n*sxy - sx*sy) / d
	}
}

// judge decides whether the step is sustainable: p95 lag within one
// segment, no segment lost or refused, and a spool that does not keep
// growing (by more than one segment per stream over the step).
func (res *result) judge(seg time.Duration) {
	var why []string
	if res.LagP95 > seg.Seconds() {
		why = append(why, fmt.Sprintf("p95 lag %.2fs > %s", res.LagP95, seg))
	}
	if res.Refused > 0 || res.Failed > 0 {
		why = append(why, fmt.Sprintf("%d refused, %d failed", res.Refused, res.Failed))
	}
	if grow := res.SpoolSlope * stepSeconds(res); grow > float64(max(res.Streams, 4)) && res.SpoolEnd > 2*res.Streams {
		why = append(why, fmt.Sprintf("spool grows %.1f jobs/s", res.SpoolSlope))
	}
	res.OK = len(why) == 0
	res.Why = strings.Join(why, "; ")
	if res.OK {
		res.Why = "ok"
	}
}

// stepSeconds is the measured window of a step, from its jobs.
func stepSeconds(res *result) float64 {
	if res.JobsPerSec == 0 {
		return 0
	}
	return float64(res.Segments) / res.JobsPerSec
}

func header() string {
	return fmt.Sprintf("%4s %-8s %7s %6s %8s %8s %6s %5s %6s %6s %6s %7s %9s %7s %6s %6s %6s %6s %5s %5s %-15s %-15s %s",
		"step", "mode", "streams", "prof", "nom Mb/s", "agg Mb/s", "jobs/s", "segs", "p50 s", "p95 s", "max s", "acc95 s",
		"spool e/m", "slope/s", "orch%", "work%", "bee%", "other%", "busy%", "iow%", "load start", "load end", "verdict")
}

func (res result) row() string {
	return fmt.Sprintf("%4d %-8s %7d %6s %8.2f %8.2f %6.1f %5d %6.2f %6.2f %6.2f %7.3f %4d/%-4d %7.2f %6.0f %6.0f %6.0f %6.0f %5.0f %5.0f %-15s %-15s %s",
		res.Step, res.Mode, res.Streams, res.Profile, res.NominalMbps, res.MeasuredMbps, res.JobsPerSec, res.Segments,
		res.LagP50, res.LagP95, res.LagMax, res.AcceptP95, res.SpoolEnd, res.SpoolMax, res.SpoolSlope,
		res.CPUOrch, res.CPUWorkers, res.CPUBee, res.CPUOthers, res.Busy, res.IOWait, res.LoadStart, res.LoadEnd, res.Why)
}

func writeCSV(path string, results []result) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("ramp: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"step", "streams", "profile", "nominal_mbps", "aggregate_mbps", "jobs_per_s", "segments",
		"lag_p50_s", "lag_p95_s", "lag_max_s", "accept_p95_s", "refused", "failed", "unrecorded", "spool_end", "spool_max",
		"spool_slope_jobs_per_s", "cpu_orchestrator_pct", "cpu_workers_pct", "cpu_bee_pct", "cpu_others_pct",
		"machine_busy_pct", "machine_iowait_pct", "loadavg_start", "loadavg_end", "sustainable", "why", "mode",
		"wait_p95_s", "worker_p95_s", "upload_p95_s", "record_p95_s", "publishes", "publish_max_s"})
	f2 := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	for _, r := range results {
		_ = w.Write([]string{strconv.Itoa(r.Step), strconv.Itoa(r.Streams), r.Profile, f2(r.NominalMbps), f2(r.MeasuredMbps),
			f2(r.JobsPerSec), strconv.Itoa(r.Segments), f2(r.LagP50), f2(r.LagP95), f2(r.LagMax), f2(r.AcceptP95),
			strconv.Itoa(r.Refused), strconv.Itoa(r.Failed), strconv.Itoa(r.Unrecorded), strconv.Itoa(r.SpoolEnd),
			strconv.Itoa(r.SpoolMax), f2(r.SpoolSlope), f2(r.CPUOrch), f2(r.CPUWorkers), f2(r.CPUBee), f2(r.CPUOthers),
			f2(r.Busy), f2(r.IOWait), r.LoadStart, r.LoadEnd, strconv.FormatBool(r.OK), r.Why, r.Mode,
			f2(r.Split.WaitP95), f2(r.Split.WorkerP95), f2(r.Split.UploadP95), f2(r.Split.RecordP95), strconv.Itoa(r.Split.Publishes), f2(r.Split.PubMax)})
	}
	w.Flush()
	return errorsJoin(w.Error(), f.Close())
}

func errorsJoin(a, b error) error {
	if a != nil {
		return fmt.Errorf("ramp: %w", a)
	}
	if b != nil {
		return fmt.Errorf("ramp: %w", b)
	}
	return nil
}

// maxSustainable is mode's last sustainable step before its first that is
// not (or its last step, when all were).
func maxSustainable(results []result, mode string) (best *result, limit *result) {
	for i := range results {
		if results[i].Mode != mode {
			continue
		}
		if !results[i].OK {
			return best, &results[i]
		}
		if best == nil || results[i].MeasuredMbps > best.MeasuredMbps {
			best = &results[i]
		}
	}
	return best, nil
}

// boundBy names what bounded a step from its CPU figures: the machine's
// cores nearly all busy makes it CPU, named after the biggest consumer;
// much I/O wait makes it the disk; otherwise it is latency, not capacity.
func boundBy(r result) string {
	type share struct {
		name string
		pct  float64
	}
	shares := []share{{"Bee (chunking, BMT, stamp signatures, its store)", r.CPUBee}, {"workers (offline reference check, upload)", r.CPUWorkers},
		{"orchestrator (spool fsync, index, gRPC; replay included)", r.CPUOrch}, {"other processes on the machine", r.CPUOthers}}
	slices.SortFunc(shares, func(a, b share) int { return int(b.pct*100 - a.pct*100) })
	cpu := fmt.Sprintf("Bee %.0f%%, workers %.0f%%, orchestrator %.0f%%, others %.0f%% of one core; machine %.0f%% busy, %.0f%% iowait",
		r.CPUBee, r.CPUWorkers, r.CPUOrch, r.CPUOthers, r.Busy, r.IOWait)
	switch {
	case r.Busy >= 85:
		return fmt.Sprintf("CPU: %d cores %.0f%% busy, most of it %s (%s)", r.Cores, r.Busy, shares[0].name, cpu)
	case r.IOWait >= 20:
		return fmt.Sprintf("disk: %.0f%% iowait (%s)", r.IOWait, cpu)
	default:
		return fmt.Sprintf("not CPU nor disk (%s): latency of the uploads against worker capacity", cpu)
	}
}

func summary(results []result, cfg config, drained bool, rec, raw *recorder) string {
	var b strings.Builder
	best, limit := maxSustainable(results, modeArchiver)
	switch {
	case limit == nil && best == nil:
		fmt.Fprintf(&b, "no archiver step ran\n")
	case best == nil:
		fmt.Fprintf(&b, "no step was sustainable: even %s with %d streams (%.2f Mbit/s)\n", limit.Profile, limit.Streams, limit.MeasuredMbps)
	default:
		fmt.Fprintf(&b, "max sustainable aggregate bitrate: %.2f Mbit/s (%.2f MB/s; %d × %s, %.1f jobs/s, p95 lag %.2fs, load %s → %s)\n",
			best.MeasuredMbps, best.MeasuredMbps/8, best.Streams, best.Profile, best.JobsPerSec, best.LagP95, best.LoadStart, best.LoadEnd)
	}
	if limit != nil {
		fmt.Fprintf(&b, "first unsustainable step: %d × %s at %.2f Mbit/s: %s\n", limit.Streams, limit.Profile, limit.MeasuredMbps, limit.Why)
		fmt.Fprintf(&b, "bound by: %s\n", boundBy(*limit))
	} else {
		fmt.Fprintf(&b, "the limit was not reached: add steps (-steps)\n")
	}
	if cfg.raw {
		rbest, rlimit := maxSustainable(results, modeRaw)
		switch {
		case rbest == nil && rlimit == nil:
		case rbest == nil:
			fmt.Fprintf(&b, "raw Bee: no step was sustainable: even %d × %s (%.2f Mbit/s): %s\n", rlimit.Streams, rlimit.Profile, rlimit.MeasuredMbps, rlimit.Why)
		default:
			fmt.Fprintf(&b, "raw Bee max sustainable aggregate bitrate: %.2f Mbit/s (%d × %s, p95 lag %.2fs, load %s → %s)",
				rbest.MeasuredMbps, rbest.Streams, rbest.Profile, rbest.LagP95, rbest.LoadStart, rbest.LoadEnd)
			if rlimit != nil {
				fmt.Fprintf(&b, "; first unsustainable: %d × %s at %.2f Mbit/s: %s", rlimit.Streams, rlimit.Profile, rlimit.MeasuredMbps, rlimit.Why)
			} else {
				fmt.Fprintf(&b, "; its limit was not reached")
			}
			fmt.Fprintln(&b)
			if best != nil {
				fmt.Fprintf(&b, "archiver / raw Bee, max sustainable: %.2f", best.MeasuredMbps/rbest.MeasuredMbps)
				if rlimit == nil {
					fmt.Fprintf(&b, " (at most: raw Bee's limit was not reached, so its maximum is higher)")
				}
				fmt.Fprintln(&b)
			}
		}
		racc, rdone, rfailed, _ := raw.totals()
		fmt.Fprintf(&b, "raw Bee segments: %d posted, %d stored (%d failed)\n", racc, rdone-rfailed, rfailed)
	}
	acc, arch, failed, refused := rec.totals()
	fmt.Fprintf(&b, "segments: %d accepted, %d recorded (%d as gaps), %d refused; spool drained within %s: %v\n",
		acc, arch, failed, refused, cfg.drain, drained)
	fmt.Fprintf(&b, "wrote %s/ramp.csv and %s/ramp.png\n", cfg.out, cfg.out)
	return b.String()
}
