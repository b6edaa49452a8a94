package worker_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/memstore"
	"github.com/lpswarm/archiver/jobspec"
	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/worker"
)

// seqOrch hands a registering worker its publish jobs one at a time, each
// after the test says next, and collects the reports: an orchestrator (or
// a man in the middle) sending whatever it likes.
type seqOrch struct {
	archiverpb.UnimplementedArchiverServiceServer
	jobs    []*archiverpb.PublishJob
	reports chan *archiverpb.JobResult
	next    chan struct{}
	// endedBefore sends a StreamEnded notice for the stream before the
	// job of this index (0: never).
	endedBefore int
}

func (o *seqOrch) RegisterArchiver(_ *archiverpb.RegisterRequest, s archiverpb.ArchiverService_RegisterArchiverServer) error {
	for i, j := range o.jobs {
		if i > 0 && i == o.endedBefore {
			ended := &archiverpb.StreamEnded{ManifestId: j.GetManifestId()}
			if err := s.Send(&archiverpb.WorkerNotice{Notice: &archiverpb.WorkerNotice_Ended{Ended: ended}}); err != nil {
				return err
			}
		}
		if err := s.Send(&archiverpb.WorkerNotice{Notice: &archiverpb.WorkerNotice_Publish{Publish: j}}); err != nil {
			return err
		}
		select {
		case <-o.next:
		case <-s.Context().Done():
			return nil
		}
	}
	<-s.Context().Done()
	return nil
}

func (o *seqOrch) ReportResult(_ context.Context, r *archiverpb.JobResult) (*archiverpb.ReportAck, error) {
	o.reports <- r
	return &archiverpb.ReportAck{}, nil
}

// serveOrch serves orch in memory and returns a connection to it.
func serveOrch(t *testing.T, orch archiverpb.ArchiverServiceServer) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	archiverpb.RegisterArchiverServiceServer(g, orch)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// runJob has a worker uploading to st take job and returns its report.
func runJob(t *testing.T, job *archiverpb.PublishJob, st worker.Uploader) *archiverpb.JobResult {
	t.Helper()
	orch := &seqOrch{jobs: []*archiverpb.PublishJob{job}, reports: make(chan *archiverpb.JobResult, 1), next: make(chan struct{})}
	w, err := worker.New(serveOrch(t, orch), st, worker.Config{ID: "w", Secret: "s", Capacity: 1})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = w.Run(ctx, nil) }()
	select {
	case r := <-orch.reports:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no report")
		return nil
	}
}

func publishJob(t *testing.T) (*archiverpb.PublishJob, feed.Signer) {
	t.Helper()
	spec := archive.Spec{Renditions: []archive.RenditionSpec{{Name: "source", Listing: archive.Listing{Variants: []hls.Variant{{}}},
		Segments: []archive.Record{{Segment: archive.Segment{Seq: 0, Duration: "2.000", Ext: ".ts"},
			Reference: feed.Address(common.Address{1}, feed.Topic{}, 0), Bytes: 10}}}}}
	job := jobspec.Encode("m", spec, false, redundancy.NONE)
	job.JobId, job.DeadlineUnixMs = "publish-1", time.Now().Add(time.Minute).UnixMilli()
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	return job, feed.KeySigner(key)
}

// TestWorkerRefusesForgedFeedUpdates: a publish job whose feed update is
// not signed by the feed's owner, or points at another manifest, is
// refused with a clear error before anything is stored; a good one is
// stored and reported as manifest, feed manifest and update.
func TestWorkerRefusesForgedFeedUpdates(t *testing.T) {
	ctx := context.Background()
	job, owner := publishJob(t)
	ref, err := grpcsvc.Expected(ctx, job)
	require.NoError(t, err)
	topic := feed.StreamTopic(common.Address{2}, "m")
	good, err := feed.NewUpdate(owner, topic, 0, ref, time.Now())
	require.NoError(t, err)
	stranger, err := crypto.GenerateKey()
	require.NoError(t, err)
	byStranger, err := feed.NewUpdate(feed.KeySigner(stranger), topic, 0, ref, time.Now())
	require.NoError(t, err)
	forged := byStranger
	forged.Owner = owner.Address() // claims the owner's feed
	otherManifest, err := feed.NewUpdate(owner, topic, 0, feed.Address(common.Address{9}, topic, 0), time.Now())
	require.NoError(t, err)

	tests := []struct {
		name    string
		update  feed.Update
		wantErr string
	}{
		{"signed by another key", forged, "not signed by the feed's owner: signed by " + crypto.PubkeyToAddress(stranger.PublicKey).Hex()},
		{"pointing at another manifest", otherManifest, "points at another manifest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := memstore.New(redundancy.NONE)
			j := proto.CloneOf(job)
			j.Feed = jobspec.EncodeFeed(tc.update)
			r := runJob(t, j, st)
			require.Contains(t, r.GetError(), tc.wantErr)
			require.Empty(t, r.GetFiles())
			require.Zero(t, st.SOCs(), "no update stored")
		})
	}

	t.Run("signed by the owner", func(t *testing.T) {
		st := memstore.New(redundancy.NONE)
		j := proto.CloneOf(job)
		j.Feed = jobspec.EncodeFeed(good)
		r := runJob(t, j, st)
		require.Empty(t, r.GetError())
		fm, err := feed.ManifestReference(ctx, owner.Address(), topic, redundancy.NONE)
		require.NoError(t, err)
		names := map[string][]byte{}
		for _, f := range r.GetFiles() {
			names[f.GetName()] = f.GetReference()
		}
		require.Equal(t, map[string][]byte{jobspec.FileManifest: ref.Bytes(), jobspec.FileFeedManifest: fm.Bytes(),
			jobspec.FileFeedUpdate: good.Address().Bytes()}, names)
		require.Equal(t, 1, st.SOCs())
	})
}
