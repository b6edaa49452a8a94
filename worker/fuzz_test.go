package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/memstore"
	"github.com/lpswarm/archiver/jobspec"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// The notices a worker acts on come from the orchestrator (or whoever sits
// in between): a job's file list and the chunks FetchJob streams, and
// publish jobs. These targets call the worker's handlers directly.

// chunkClient serves FetchJob from a fixed list of chunks.
type chunkClient struct {
	archiverpb.ArchiverServiceClient
	chunks []*archiverpb.JobChunk
}

func (c chunkClient) FetchJob(context.Context, *archiverpb.FetchJobRequest, ...grpc.CallOption) (grpc.ServerStreamingClient[archiverpb.JobChunk], error) {
	return &chunkStream{chunks: c.chunks}, nil
}

type chunkStream struct {
	grpc.ClientStream
	chunks []*archiverpb.JobChunk
}

func (s *chunkStream) Recv() (*archiverpb.JobChunk, error) {
	if len(s.chunks) == 0 {
		return nil, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}

// chunkList encodes a chunk stream for the fuzzer: each chunk a length-
// delimited field 1.
func chunkList(tb testing.TB, chunks ...*archiverpb.JobChunk) []byte {
	var out []byte
	for _, c := range chunks {
		b, err := proto.Marshal(c)
		require.NoError(tb, err)
		out = protowire.AppendBytes(protowire.AppendTag(out, 1, protowire.BytesType), b)
	}
	return out
}

func parseChunks(raw []byte) []*archiverpb.JobChunk {
	var out []*archiverpb.JobChunk
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return out
		}
		raw = raw[n:]
		m := protowire.ConsumeFieldValue(num, typ, raw)
		if m < 0 {
			return out
		}
		if b, k := protowire.ConsumeBytes(raw[:m]); typ == protowire.BytesType && k > 0 {
			var c archiverpb.JobChunk
			if proto.Unmarshal(b, &c) == nil {
				out = append(out, &c)
			}
		}
		raw = raw[m:]
	}
	return out
}

func sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// FuzzFetch: a worker accepts a job's data only if every file arrives in
// order, complete, with the size and SHA-256 the job notice gave; it never
// buffers more than a file's declared size.
func FuzzFetch(f *testing.F) {
	src, rend := []byte("source bytes"), []byte("720p")
	job := &archiverpb.ArchiveJob{JobId: "job-1", Token: []byte("t"), Files: []*archiverpb.JobFile{
		{Name: "source", Size: uint64(len(src)), Sha256: sum(src)}, {Name: "720p", Size: uint64(len(rend)), Sha256: sum(rend)},
		{Name: "empty", Size: 0, Sha256: sum(nil)}}}
	jobRaw, err := proto.Marshal(job)
	require.NoError(f, err)
	good := []*archiverpb.JobChunk{{File: 0, Data: src[:6]}, {File: 0, Offset: 6, Data: src[6:]}, {File: 1, Data: rend}, {File: 2}}
	f.Add(jobRaw, chunkList(f, good...))
	f.Add(jobRaw, chunkList(f, good[0], good[2], good[1], good[3]))
	f.Add(jobRaw, chunkList(f, &archiverpb.JobChunk{File: 7, Data: src}))
	f.Add(jobRaw, chunkList(f, &archiverpb.JobChunk{File: 0, Offset: 1 << 40, Data: src}))
	f.Add(jobRaw, []byte{})
	f.Fuzz(func(t *testing.T, jobRaw, chunksRaw []byte) {
		var job archiverpb.ArchiveJob
		if proto.Unmarshal(jobRaw, &job) != nil {
			return
		}
		w := &Worker{rpc: chunkClient{chunks: parseChunks(chunksRaw)}, log: slog.New(slog.DiscardHandler)}
		files, err := w.fetch(context.Background(), &job)
		if err != nil {
			require.ErrorIs(t, err, ErrBadData)
			return
		}
		require.Len(t, files, len(job.GetFiles()))
		for i, jf := range job.GetFiles() {
			require.Equal(t, jf.GetSize(), uint64(len(files[i])))
			require.Equal(t, jf.GetSha256(), sum(files[i]), "file %d", i)
		}
	})
}

// publishJob is a publish job as the orchestrator sends it, optionally
// with a signed feed update pointing at its manifest.
func publishJob(tb testing.TB, final bool, withFeed bool) *archiverpb.PublishJob {
	rec := func(seq uint64, b byte) archive.Record {
		return archive.Record{Segment: archive.Segment{Seq: seq, Duration: "2.000", Ext: ".ts"},
			Reference: swarm.NewAddress(bytes.Repeat([]byte{b}, swarm.HashSize)), Bytes: 1000}
	}
	spec := archive.Spec{Renditions: []archive.RenditionSpec{{Name: "source", Segments: []archive.Record{rec(0, 1), rec(1, 2)}},
		{Name: "P360p30fps16x9", Segments: []archive.Record{rec(0, 3), {Segment: archive.Segment{Seq: 1, Duration: "2", Ext: ".ts"}, Gap: "lost"}}}}}
	job := jobspec.Encode("stream", spec, final, redundancy.NONE)
	if withFeed {
		key, err := crypto.HexToECDSA("8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63")
		require.NoError(tb, err)
		ref, err := grpcsvc.Expected(context.Background(), job)
		require.NoError(tb, err)
		u, err := feed.NewUpdate(feed.KeySigner(key), feed.StreamTopic(crypto.PubkeyToAddress(key.PublicKey), "stream"), 2, ref, time.Unix(1_700_000_000, 0))
		require.NoError(tb, err)
		job.Feed = jobspec.EncodeFeed(u)
	}
	return job
}

// FuzzPublishNotice: a publish job either stores a manifest whose reference
// the orchestrator computed offline (and, with a feed update, the update
// pointing at it), or fails; a job refused for its own content (bad
// records, an update its owner did not sign) stores nothing.
func FuzzPublishNotice(f *testing.F) {
	for _, job := range []*archiverpb.PublishJob{publishJob(f, false, false), publishJob(f, true, true)} {
		raw, err := proto.Marshal(job)
		require.NoError(f, err)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var job archiverpb.PublishJob
		if proto.Unmarshal(raw, &job) != nil {
			return
		}
		st := memstore.New(redundancy.NONE)
		w := &Worker{up: st, log: slog.New(slog.DiscardHandler)}
		files, err := w.buildAndStore(context.Background(), &job)
		stored := 0
		require.NoError(t, st.Chunks.Iterate(context.Background(), func(swarm.Chunk) (bool, error) { stored++; return false, nil }))
		if err != nil {
			_, specErr := jobspec.Decode(&job)
			u, feedErr := jobspec.DecodeFeed(&job)
			refused := specErr != nil || feedErr != nil || (u != nil && u.Verify() != nil) ||
				redundancy.Level(job.GetRedundancyLevel()) != redundancy.NONE
			if refused {
				require.Zero(t, stored, "a refused job stored %d chunks: %v", stored, err)
			}
			return
		}
		want, err := grpcsvc.Expected(context.Background(), &job)
		require.NoError(t, err, "the worker published what the orchestrator cannot build")
		require.Equal(t, jobspec.FileManifest, files[0].GetName())
		require.Equal(t, want.Bytes(), files[0].GetReference(), "the orchestrator would refuse this report")
		if job.GetFeed() == nil {
			require.Len(t, files, 1)
			return
		}
		require.Len(t, files, 3)
		u, err := jobspec.DecodeFeed(&job)
		require.NoError(t, err)
		target, err := u.Reference()
		require.NoError(t, err)
		require.True(t, target.Equal(want), "a feed update for another manifest was stored")
		has, err := st.Chunks.Has(context.Background(), u.Address())
		require.NoError(t, err)
		require.True(t, has)
	})
}
