package worker_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/upload"
	"github.com/lpswarm/archiver/worker"
)

// archiveOrch hands a registering worker one archive job, serves its
// files and collects the report.
type archiveOrch struct {
	archiverpb.UnimplementedArchiverServiceServer
	job     *archiverpb.ArchiveJob
	data    [][]byte
	reports chan *archiverpb.JobResult
}

func (o *archiveOrch) RegisterArchiver(_ *archiverpb.RegisterRequest, s archiverpb.ArchiverService_RegisterArchiverServer) error {
	if err := s.Send(&archiverpb.WorkerNotice{Notice: &archiverpb.WorkerNotice_Job{Job: o.job}}); err != nil {
		return err
	}
	<-s.Context().Done()
	return nil
}

func (o *archiveOrch) FetchJob(_ *archiverpb.FetchJobRequest, s archiverpb.ArchiverService_FetchJobServer) error {
	for i, d := range o.data {
		if err := s.Send(&archiverpb.JobChunk{File: uint32(i), Data: d}); err != nil {
			return err
		}
	}
	return nil
}

func (o *archiveOrch) ReportResult(_ context.Context, r *archiverpb.JobResult) (*archiverpb.ReportAck, error) {
	o.reports <- r
	return &archiverpb.ReportAck{}, nil
}

// knownRecorder is an uploader that records what it is told of each file
// and answers the content's own reference.
type knownRecorder struct {
	mu     sync.Mutex
	known  []upload.Known
	plain  int
	answer func(data []byte) swarm.Address
}

func (r *knownRecorder) Upload(_ context.Context, data []byte) (upload.Receipt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.plain++
	return upload.Receipt{Reference: r.answer(data), Bytes: int64(len(data))}, nil
}

func (r *knownRecorder) UploadKnown(_ context.Context, data []byte, k upload.Known) (upload.Receipt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.known = append(r.known, k)
	return upload.Receipt{Reference: k.Reference, Bytes: int64(len(data)), Chunks: len(k.Chunks)}, nil
}

// TestWorkerUploadsWhatTheOrchestratorComputed: the reference and chunk
// addresses a job carries reach the uploader as they were computed, so the
// worker does not split the file; a job without them (an orchestrator
// that trusts its workers, or an older one) is uploaded plainly.
func TestWorkerUploadsWhatTheOrchestratorComputed(t *testing.T) {
	ctx := context.Background()
	data := [][]byte{bytes.Repeat([]byte("source "), 3000), []byte("a rendition")}
	var roots []swarm.Address
	var chunks [][]swarm.Address
	for _, d := range data {
		root, cs, err := chunker.Addresses(ctx, d, redundancy.NONE)
		require.NoError(t, err)
		roots, chunks = append(roots, root), append(chunks, cs)
	}
	job := func(withRefs bool) *archiverpb.ArchiveJob {
		j := jobOf(data)
		if withRefs {
			for i, f := range j.Files {
				f.Reference = roots[i].Bytes()
				for _, c := range chunks[i] {
					f.ChunkAddresses = append(f.ChunkAddresses, c.Bytes()...)
				}
			}
		}
		return j
	}
	for _, withRefs := range []bool{true, false} {
		orch := &archiveOrch{job: job(withRefs), data: data, reports: make(chan *archiverpb.JobResult, 1)}
		rec := &knownRecorder{answer: func(d []byte) swarm.Address {
			a, err := chunker.Reference(ctx, d, redundancy.NONE)
			require.NoError(t, err)
			return a
		}}
		w, err := worker.New(serveOrch(t, orch), rec, worker.Config{ID: "w", Secret: "s", Capacity: 1})
		require.NoError(t, err)
		wctx, cancel := context.WithCancel(ctx)
		go func() { _ = w.Run(wctx, nil) }()
		var r *archiverpb.JobResult
		select {
		case r = <-orch.reports:
		case <-time.After(10 * time.Second):
			t.Fatal("no report")
		}
		cancel()
		require.Empty(t, r.GetError())
		require.Len(t, r.GetFiles(), 2)
		for i, f := range r.GetFiles() {
			require.Equal(t, roots[i].Bytes(), f.GetReference())
		}
		if withRefs {
			require.Zero(t, rec.plain)
			// A job's files go up at once, in no set order.
			require.ElementsMatch(t, []upload.Known{{Reference: roots[0], Chunks: chunks[0]}, {Reference: roots[1], Chunks: chunks[1]}}, rec.known)
		} else {
			require.Equal(t, 2, rec.plain)
			require.Empty(t, rec.known)
		}
	}
}
