package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/lpswarm/archiver/proto/archiverpb"
)

// The interceptors below time each segment's way through the workers'
// service without touching it: when its job notice goes out to a worker
// (the spool wait and the pick of a worker end), when the worker fetches
// it, and when its report comes in. With the accept and record times this
// splits the archive lag into spool wait, worker time and recording.

// pubRec is one manifest publish sent to a worker.
type pubRec struct {
	manifest string
	final    bool
	sent     time.Time
	reported time.Time // zero until the worker's report arrives
}

func (r *recorder) dispatched(job *archiverpb.ArchiveJob) {
	now := time.Now()
	k := segKey{string(job.GetManifestId()), job.GetSeq()}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs[job.GetJobId()] = k
	if s := r.segs[k]; s != nil {
		s.dispatched = now // the last dispatch, if re-dispatched
	}
}

func (r *recorder) publishSent(job *archiverpb.PublishJob) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pubs[job.GetJobId()] = &pubRec{manifest: string(job.GetManifestId()), final: job.GetFinal(), sent: now}
}

// seg finds the segment of a job id; r.mu must be held.
func (r *recorder) seg(jobID string) *segRec {
	k, ok := r.jobs[jobID]
	if !ok {
		return nil
	}
	return r.segs[k]
}

func (r *recorder) fetch(jobID string, start, end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.seg(jobID); s != nil {
		s.fetchStart, s.fetchEnd = start, end
	}
}

func (r *recorder) reported(jobID string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.pubs[jobID]; p != nil {
		p.reported = at
		return
	}
	if s := r.seg(jobID); s != nil {
		s.reported = at
	}
}

// interceptors returns the server options that feed the recorder.
func (r *recorder) interceptors() []grpc.ServerOption {
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if res, ok := req.(*archiverpb.JobResult); ok {
			r.reported(res.GetJobId(), time.Now())
		}
		return h(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		switch {
		case strings.HasSuffix(info.FullMethod, "/RegisterArchiver"):
			return h(srv, noticeStream{ss, r})
		case strings.HasSuffix(info.FullMethod, "/FetchJob"):
			fs := &fetchStream{ServerStream: ss}
			err := h(srv, fs)
			r.fetch(fs.job, fs.start, time.Now())
			return err
		}
		return h(srv, ss)
	}
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(stream)}
}

type noticeStream struct {
	grpc.ServerStream
	rec *recorder
}

func (n noticeStream) SendMsg(m any) error {
	if wn, ok := m.(*archiverpb.WorkerNotice); ok {
		switch {
		case wn.GetJob() != nil:
			n.rec.dispatched(wn.GetJob())
		case wn.GetPublish() != nil:
			n.rec.publishSent(wn.GetPublish())
		}
	}
	return n.ServerStream.SendMsg(m)
}

type fetchStream struct {
	grpc.ServerStream
	job   string
	start time.Time
}

func (f *fetchStream) RecvMsg(m any) error {
	err := f.ServerStream.RecvMsg(m)
	if req, ok := m.(*archiverpb.FetchJobRequest); ok && err == nil {
		f.job, f.start = req.GetJobId(), time.Now()
	}
	return err
}

// breakdown is the split of a step's archive lag, seconds.
type breakdown struct {
	WaitP50, WaitP95     float64 // accepted → job sent to a worker
	WorkerP50, WorkerP95 float64 // sent → report received (fetch + upload)
	FetchP95             float64 // the worker's fetch of the job's files
	UploadP50, UploadP95 float64 // fetched → report received: the uploads to Bee
	RecordP50, RecordP95 float64 // report received → recorded in the index
	Publishes            int     // publishes sent to workers during the step
	PubP50, PubMax       float64 // a publish's time at its worker
	PubBusy              float64 // mean publishes in flight (worker slots they held)
}

// breakdownFor splits the lag of the step's recorded segments accepted in
// [from, to], and times the publishes sent in it.
func (r *recorder) breakdownFor(step int, from, to time.Time) breakdown {
	r.mu.Lock()
	defer r.mu.Unlock()
	var wait, work, fetch, upload, record, pub []float64
	for _, s := range r.segs {
		if s.step != step || s.submitted.Before(from) || s.submitted.After(to) || s.archived.IsZero() ||
			s.dispatched.IsZero() || s.reported.IsZero() || s.accepted.IsZero() {
			continue
		}
		wait = append(wait, s.dispatched.Sub(s.accepted).Seconds())
		work = append(work, s.reported.Sub(s.dispatched).Seconds())
		if !s.fetchEnd.IsZero() {
			fetch = append(fetch, s.fetchEnd.Sub(s.fetchStart).Seconds())
			upload = append(upload, s.reported.Sub(s.fetchEnd).Seconds())
		}
		record = append(record, s.archived.Sub(s.reported).Seconds())
	}
	var busy float64
	for _, p := range r.pubs {
		if p.sent.Before(from) || p.sent.After(to) || p.reported.IsZero() {
			continue
		}
		d := p.reported.Sub(p.sent).Seconds()
		pub = append(pub, d)
		busy += d
	}
	b := breakdown{
		WaitP50: pct(wait, 0.5), WaitP95: pct(wait, 0.95), WorkerP50: pct(work, 0.5), WorkerP95: pct(work, 0.95),
		FetchP95: pct(fetch, 0.95), UploadP50: pct(upload, 0.5), UploadP95: pct(upload, 0.95),
		RecordP50: pct(record, 0.5), RecordP95: pct(record, 0.95), Publishes: len(pub), PubP50: pct(pub, 0.5), PubMax: pct(pub, 1),
	}
	if w := to.Sub(from).Seconds(); w > 0 {
		b.PubBusy = busy / w
	}
	return b
}

func (b breakdown) String() string {
	return fmt.Sprintf("  lag split: spool wait p50 %.2f p95 %.2f s | worker p50 %.2f p95 %.2f s (fetch p95 %.3f, upload p50 %.2f p95 %.2f) | record p50 %.3f p95 %.3f s | %d publishes, p50 %.2f max %.2f s, %.1f slots busy on average",
		b.WaitP50, b.WaitP95, b.WorkerP50, b.WorkerP95, b.FetchP95, b.UploadP50, b.UploadP95, b.RecordP50, b.RecordP95,
		b.Publishes, b.PubP50, b.PubMax, b.PubBusy)
}

// writeSegments writes every segment's and publish's times, in seconds
// since t0, for a look at the lag over time.
func (r *recorder) writeSegments(path string, t0 time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rel := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return fmt.Sprintf("%.3f", t.Sub(t0).Seconds())
	}
	var lines []string
	for k, s := range r.segs {
		lines = append(lines, fmt.Sprintf("segment,%d,%s,%d,%s,%s,%s,%s,%s,%s,%s", s.step+1, k.id, k.seq,
			rel(s.submitted), rel(s.accepted), rel(s.dispatched), rel(s.fetchStart), rel(s.fetchEnd), rel(s.reported), rel(s.archived)))
	}
	for _, p := range r.pubs {
		lines = append(lines, fmt.Sprintf("publish,,%s,%v,,,%s,,,%s,", p.manifest, p.final, rel(p.sent), rel(p.reported)))
	}
	slices.Sort(lines)
	out := "kind,step,stream,seq,submitted,accepted,dispatched,fetch_start,fetch_end,reported,archived\n" + strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		return fmt.Errorf("ramp: %w", err)
	}
	return nil
}
