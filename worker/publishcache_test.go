package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/memstore"
	"github.com/lpswarm/archiver/jobspec"
	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/worker"
)

// streamPublish is the publish job of stream "m" with segments [0, n) in
// three renditions.
func streamPublish(t *testing.T, n int, final bool) *archiverpb.PublishJob {
	t.Helper()
	var spec archive.Spec
	for _, r := range []string{"source", "240p", "144p"} {
		rs := archive.RenditionSpec{Name: r, Listing: archive.Listing{Variants: []hls.Variant{{}}}}
		for seq := range n {
			rs.Segments = append(rs.Segments, archive.Record{Segment: archive.Segment{Seq: uint64(seq), Duration: "2.000", Ext: ".ts"},
				Reference: feed.Address(common.Address{byte(len(r))}, feed.Topic{}, uint64(seq)), Bytes: 1000})
		}
		spec.Renditions = append(spec.Renditions, rs)
	}
	job := jobspec.Encode("m", spec, final, redundancy.NONE)
	job.JobId, job.DeadlineUnixMs = fmt.Sprintf("publish-%d-%v", n, final), time.Now().Add(time.Minute).UnixMilli()
	return job
}

// TestRepublishUploadsOnlyWhatChanged: a worker's next publish of a stream
// uploads only the manifest nodes and playlists that changed since its last
// one (each publish used to upload the whole manifest again: some 3.3
// sequential uploads per segment of the stream's history), and every
// publish still reports the manifest the orchestrator expects.
func TestRepublishUploadsOnlyWhatChanged(t *testing.T) {
	jobs := []*archiverpb.PublishJob{streamPublish(t, 60, false), streamPublish(t, 70, false), streamPublish(t, 70, true)}
	uploads := publishAll(t, &seqOrch{jobs: jobs, reports: make(chan *archiverpb.JobResult), next: make(chan struct{})})
	require.Greater(t, uploads[0], 100, "the first publish stores the whole manifest: 3 renditions × 60 segments")
	require.Less(t, uploads[1], uploads[0]/4, "ten more segments change a few nodes and the playlists")
	require.Less(t, uploads[2], uploads[0]/4, "the final publish changes the playlists and their paths")
}

// TestStreamEndedForgetsTheStream: the orchestrator's StreamEnded notice
// (the stream's final publish went to some worker) makes a worker forget
// what it stored for the stream: its memory holds live streams only, and
// a later publish under the same name stores everything again.
func TestStreamEndedForgetsTheStream(t *testing.T) {
	jobs := []*archiverpb.PublishJob{streamPublish(t, 60, false), streamPublish(t, 70, false)}
	uploads := publishAll(t, &seqOrch{jobs: jobs, reports: make(chan *archiverpb.JobResult), next: make(chan struct{}), endedBefore: 1})
	require.Greater(t, uploads[1], 100, "after StreamEnded the worker remembered nothing of the stream")
}

// publishAll runs a worker against orch and returns how many files each
// of orch's publish jobs uploaded, checking every reported manifest.
func publishAll(t *testing.T, orch *seqOrch) []int {
	t.Helper()
	jobs := orch.jobs
	st := memstore.New(redundancy.NONE)
	w, err := worker.New(serveOrch(t, orch), st, worker.Config{ID: "w", Secret: "s", Capacity: 1})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = w.Run(ctx, nil) }()

	var uploads []int
	for i, j := range jobs {
		before := st.Files()
		var r *archiverpb.JobResult
		select {
		case r = <-orch.reports:
		case <-time.After(10 * time.Second):
			t.Fatalf("no report of publish %d", i)
		}
		want, err := grpcsvc.Expected(ctx, j)
		require.NoError(t, err)
		require.Empty(t, r.GetError())
		require.Len(t, r.GetFiles(), 1)
		require.Equal(t, want.Bytes(), r.GetFiles()[0].GetReference(), "publish %d", i)
		uploads = append(uploads, st.Files()-before)
		if i < len(jobs)-1 {
			orch.next <- struct{}{}
		}
	}
	t.Logf("uploads per publish: %v", uploads)
	return uploads
}
