package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"

	"github.com/lpswarm/archiver/bee"
)

// The raw baseline (-raw): the same step's streams, replayed straight to
// Bee's POST /bytes as the naive client would do it, with no archiver in
// between: every file of a segment posted as the segment arrives (the
// files of one segment at once), node stamping with the same batch at the
// same redundancy level. Its lag, from the segment's arrival to the last of
// its files stored, is what Bee alone gives at that load; the archiver's
// maximum sustainable bitrate is then stated as a ratio to raw Bee's, from
// one run on one Bee.

// rawSalt marks raw segments' bytes apart from every archiver segment
// (whose salt has bit 63 clear), so Bee stores new chunks for both.
const rawSalt = uint64(1) << 63

// rawClient is the naive client: the project's Bee client (its retries
// included) over a pool that keeps connections, so the baseline pays no
// connection setup per file.
func rawClient(url string) (*bee.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	return bee.New(url, bee.WithHTTPClient(&http.Client{Transport: tr, Timeout: 5 * time.Minute}))
}

// rawStep replays step s straight to Bee and measures it as step does the
// archiver.
func (r *ramp) rawStep(ctx context.Context, idx int, s step) (result, error) {
	cfg := r.cfg
	res := result{Mode: modeRaw, Step: idx + 1, Streams: s.Streams, Profile: ladder[s.Level].Name, LoadStart: loadavg()}
	for l := 0; l <= s.Level; l++ {
		res.NominalMbps += float64(s.Streams*ladder[l].Kbps) / 1000
	}
	cpu0 := r.cpu()
	start := time.Now()
	sctx, cancel := context.WithTimeout(ctx, cfg.hold)
	var streams, uploads sync.WaitGroup
	for i := range s.Streams {
		streams.Add(1)
		go func() {
			defer streams.Done()
			r.rawReplay(sctx, ctx, &uploads, idx, i, s, time.Duration(i)*cfg.segment/time.Duration(s.Streams))
		}()
	}
	<-sctx.Done()
	cancel()
	streams.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	end := time.Now()
	cpu1 := r.cpu()
	res.LoadEnd = loadavg()
	res.cpuFigures(cpu0, cpu1, end.Sub(start))
	r.raw.figures(&res, idx, start.Add(cfg.segment), end.Add(-2*cfg.segment), end)
	res.judge(cfg.segment)
	// Uploads still running belong to this step: let them end before the
	// next phase measures, as the archiver's spool is drained.
	done := make(chan struct{})
	go func() { uploads.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(cfg.drain):
	case <-ctx.Done():
	}
	return res, nil
}

// rawReplay sends one segment per segment duration on raw stream i until
// sctx ends; each segment's files are posted at once, on uploads, under
// ctx (an upload started in the step finishes after it).
func (r *ramp) rawReplay(sctx, ctx context.Context, uploads *sync.WaitGroup, stepIdx, i int, s step, offset time.Duration) {
	select {
	case <-time.After(offset):
	case <-sctx.Done():
		return
	}
	id := fmt.Sprintf("raw-%x-%d-%d", r.run&0xffffff, stepIdx+1, i)
	salt := r.run ^ rawSalt ^ uint64(stepIdx)<<40
	tick := time.NewTicker(r.cfg.segment)
	defer tick.Stop()
	for seq := int64(0); ; seq++ {
		var files [][]byte
		var size int64
		for l := s.Level; l >= 0; l-- {
			f := unique(r.clips[l].segments[int(seq)%len(r.clips[l].segments)], salt, i, l, seq)
			files = append(files, f)
			size += int64(len(f))
		}
		key := r.raw.submitted(stepIdx, id, seq, size)
		r.raw.accepted(key, nil) // arrival: nothing stands between it and Bee
		uploads.Add(1)
		go func() {
			defer uploads.Done()
			r.raw.archived(key.id, key.seq, r.postAll(ctx, files) != nil)
		}()
		select {
		case <-tick.C:
		case <-sctx.Done():
			return
		}
	}
}

// postAll posts files to /bytes at once and waits for them all.
func (r *ramp) postAll(ctx context.Context, files [][]byte) error {
	errs := make(chan error, len(files))
	for _, f := range files {
		go func() {
			_, err := r.rawBee.UploadBytes(ctx, f, bee.UploadOptions{BatchID: r.batch, Redundancy: redundancy.Level(r.cfg.redundancy)})
			errs <- err
		}()
	}
	var first error
	for range files {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
