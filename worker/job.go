package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/upload"
)

// work fetches, uploads and reports one job. Errors are reported to the
// orchestrator, which decides whether to re-dispatch.
func (w *Worker) work(ctx context.Context, job *archiverpb.ArchiveJob) {
	started := time.Now()
	ctx, cancel := context.WithDeadline(ctx, time.UnixMilli(job.GetDeadlineUnixMs()))
	defer cancel()
	log := w.log.With("job", job.GetJobId(), "seq", job.GetSeq())
	if w.exhausted.Load() {
		// Out of postage: left unreported, the job goes back to the
		// spool when this worker leaves, which it is about to.
		return
	}
	up := w.uploader()
	if up == nil {
		w.report(ctx, job, nil, errors.New("no stamp lease yet"), true)
		return
	}
	if redundancy.Level(job.GetRedundancyLevel()) != w.redundancy() {
		w.report(ctx, job, nil, fmt.Errorf("job wants redundancy %d, this worker uploads at %d", job.GetRedundancyLevel(), w.redundancy()), false)
		return
	}
	files, err := w.fetch(ctx, job)
	if err != nil {
		w.cfg.Metrics.failed("fetch")
		log.Warn("fetch failed; the orchestrator will re-dispatch", "error", err)
		return
	}
	// A job's files (the source and each rendition) go up at once: they
	// are independent, and Bee stores more per CPU second with more
	// uploads in flight than one job at a time gives it. One failing does
	// not cancel the others: Bee's clean-up of an aborted upload deletes
	// its chunks even where a later upload of the same file (this job
	// again, on another worker) stored them too (see upload.Uploader).
	results := make([]*archiverpb.FileResult, len(files))
	var g errgroup.Group
	for i, f := range job.GetFiles() {
		g.Go(func() error {
			rec, err := uploadFile(ctx, up, files[i], f)
			if err != nil {
				return err
			}
			w.cfg.Metrics.uploaded(rec.Bytes, rec.Chunks)
			results[i] = &archiverpb.FileResult{Name: f.GetName(), Reference: rec.Reference.Bytes(),
				Bytes: uint64(rec.Bytes), Chunks: uint64(rec.Chunks), Batches: batchIDs(rec.Batches)}
			return nil
		})
	}
	// The first failure decides.
	if err := g.Wait(); err != nil {
		w.cfg.Metrics.failed("upload")
		w.cfg.Metrics.job("failed", started)
		if beeDown(ctx, err) {
			// Not the job's fault: reported, it would count against the
			// job's attempts, and a long enough outage would make it a
			// gap. Unreported, it goes back at its deadline, and a
			// timed-out job is retried without limit, elsewhere if it can.
			log.Warn("upload failed: Bee is unreachable; the job goes back to the orchestrator at its deadline", "error", err)
			return
		}
		if outOfPostage(err) {
			// Not the job's fault either: never a gap. The worker
			// leaves, and the orchestrator re-dispatches the job.
			log.Error("upload failed: out of postage; the job goes back to the orchestrator's spool", "error", err)
			w.noPostage(err)
			return
		}
		log.Warn("upload failed", "error", err)
		w.report(ctx, job, nil, err, true)
		return
	}
	w.cfg.Metrics.postageExhausted(false)
	w.report(ctx, job, results, nil, false)
	w.cfg.Metrics.job("archived", started)
	log.Debug("archived")
}

// uploadFile uploads one fetched file, with what the orchestrator computed
// of it when the uploader can use that: the orchestrator then hashes the
// file once for both sides.
func uploadFile(ctx context.Context, up Uploader, data []byte, f *archiverpb.JobFile) (upload.Receipt, error) {
	ku, ok := up.(KnownUploader)
	if !ok || len(f.GetReference()) != swarm.HashSize || len(f.GetChunkAddresses())%swarm.HashSize != 0 {
		return up.Upload(ctx, data) // an older orchestrator, or one that trusts its workers
	}
	raw := f.GetChunkAddresses()
	known := upload.Known{Reference: swarm.NewAddress(f.GetReference()), Chunks: make([]swarm.Address, 0, len(raw)/swarm.HashSize)}
	for off := 0; off < len(raw); off += swarm.HashSize {
		known.Chunks = append(known.Chunks, swarm.NewAddress(raw[off:off+swarm.HashSize]))
	}
	return ku.UploadKnown(ctx, data, known)
}

// redundancy is the level this worker's uploader uses.
func (w *Worker) redundancy() redundancy.Level {
	if r, ok := w.uploader().(interface{ Redundancy() redundancy.Level }); ok {
		return r.Redundancy()
	}
	return redundancy.NONE
}

func (w *Worker) report(ctx context.Context, job *archiverpb.ArchiveJob, files []*archiverpb.FileResult, failure error, retry bool) {
	res := &archiverpb.JobResult{JobId: job.GetJobId(), Token: job.GetToken(), Files: files}
	if failure != nil {
		res.Error, res.Retryable = failure.Error(), retry
	}
	w.send(ctx, res)
}

// send reports a result, even past the job's deadline: a late report is
// harmless and tells the orchestrator this worker is slow, not dead.
func (w *Worker) send(ctx context.Context, res *archiverpb.JobResult) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := w.rpc.ReportResult(rctx, res); err != nil {
		// NotFound: the job was re-dispatched meanwhile; the successor's
		// report counts and ours is a harmless duplicate.
		w.cfg.Metrics.failed("report")
		w.log.Warn("report not taken", "job", res.GetJobId(), "error", err)
	}
}

// ErrBadData: fetched data does not match the job's description.
var ErrBadData = errors.New("job data does not match its description")

// fetch downloads a job's files and checks their sizes and hashes.
func (w *Worker) fetch(ctx context.Context, job *archiverpb.ArchiveJob) ([][]byte, error) {
	stream, err := w.rpc.FetchJob(ctx, &archiverpb.FetchJobRequest{JobId: job.GetJobId(), Token: job.GetToken()})
	if err != nil {
		return nil, err
	}
	bufs := make([]bytes.Buffer, len(job.GetFiles()))
	for {
		c, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		i := int(c.GetFile())
		if i >= len(bufs) || c.GetOffset() != uint64(bufs[i].Len()) || uint64(bufs[i].Len()+len(c.GetData())) > job.GetFiles()[i].GetSize() {
			return nil, fmt.Errorf("worker: %w: chunk of file %d at %d", ErrBadData, i, c.GetOffset())
		}
		bufs[i].Write(c.GetData())
	}
	out := make([][]byte, len(bufs))
	for i, f := range job.GetFiles() {
		sum := sha256.Sum256(bufs[i].Bytes())
		if uint64(bufs[i].Len()) != f.GetSize() || !bytes.Equal(sum[:], f.GetSha256()) {
			return nil, fmt.Errorf("worker: %w: file %q", ErrBadData, f.GetName())
		}
		out[i] = bufs[i].Bytes()
	}
	return out, nil
}

// batchIDs decodes the receipt's hex batch ids for the report.
func batchIDs(hexIDs []string) [][]byte {
	var out [][]byte
	for _, h := range hexIDs {
		if b, err := hex.DecodeString(h); err == nil {
			out = append(out, b)
		}
	}
	return out
}
