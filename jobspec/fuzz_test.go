package jobspec_test

import (
	"bytes"
	"context"
	"path"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/jobspec"
	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/upload"
)

// recorder computes references offline and keeps what was uploaded.
type recorder struct {
	mu    sync.Mutex
	files [][]byte
}

func (r *recorder) Upload(ctx context.Context, data []byte) (upload.Receipt, error) {
	r.mu.Lock()
	r.files = append(r.files, bytes.Clone(data))
	r.mu.Unlock()
	return upload.Offline{Level: redundancy.NONE}.Upload(ctx, data)
}

func ref(b byte) swarm.Address { return swarm.NewAddress(bytes.Repeat([]byte{b}, swarm.HashSize)) }

// publishSeeds are publish jobs as the orchestrator builds them.
func publishSeeds() []*archiverpb.PublishJob {
	seg := func(seq uint64, d, ext string, r swarm.Address, n int64, gap string) archive.Record {
		return archive.Record{Segment: archive.Segment{Seq: seq, Duration: d, Ext: ext}, Reference: r, Bytes: n, Gap: gap}
	}
	spec := archive.Spec{Renditions: []archive.RenditionSpec{
		{Name: "source", Segments: []archive.Record{seg(0, "2.000", ".ts", ref(1), 1000, ""), seg(1, "2.002", ".ts", ref(2), 1200, ""),
			seg(5, "1.5", ".ts", swarm.ZeroAddress, 0, "not spooled")}},
		{Name: "P720p30fps16x9", Segments: []archive.Record{seg(0, "2", ".ts", ref(3), 900, "")}},
	}}
	withFeed := jobspec.Encode("stream", spec, true, redundancy.MEDIUM)
	withFeed.Feed = jobspec.EncodeFeed(feed.Update{Owner: common.Address{1}, Topic: feed.Topic{2}, Index: 3,
		Signature: bytes.Repeat([]byte{4}, 65), Payload: bytes.Repeat([]byte{5}, 40)})
	return []*archiverpb.PublishJob{jobspec.Encode("stream", spec, false, redundancy.NONE), withFeed,
		jobspec.Encode("", archive.Spec{}, false, redundancy.NONE)}
}

// FuzzDecodePublishJob: a worker reads a publish job from the orchestrator
// and builds the stream's manifest from it. A job is either refused
// before anything is stored, or it round-trips through Encode and yields
// a manifest whose paths stay inside safe rendition folders and whose
// playlists parse.
func FuzzDecodePublishJob(f *testing.F) {
	for _, job := range publishSeeds() {
		raw, err := proto.Marshal(job)
		require.NoError(f, err)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var job archiverpb.PublishJob
		if proto.Unmarshal(raw, &job) != nil {
			return
		}
		if u, err := jobspec.DecodeFeed(&job); err != nil {
			require.ErrorIs(t, err, feed.ErrMalformed)
		} else if u != nil {
			want := proto.Clone(job.GetFeed())
			want.ProtoReflect().SetUnknown(nil) // fields of a newer orchestrator
			require.True(t, proto.Equal(want, jobspec.EncodeFeed(*u)), "feed update changed in a round trip")
		}
		spec, err := jobspec.Decode(&job)
		if err != nil {
			return
		}
		level := redundancy.Level(job.GetRedundancyLevel())
		again := jobspec.Encode(string(job.GetManifestId()), spec, job.GetFinal(), level)
		require.Len(t, again.Renditions, len(job.GetRenditions()))
		for i, r := range job.GetRenditions() {
			require.Equal(t, r.GetName(), again.Renditions[i].GetName())
			require.Len(t, again.Renditions[i].Segments, len(r.GetSegments()))
			for j, s := range r.GetSegments() {
				want := proto.Clone(s).(*archiverpb.PublishSegment)
				want.ProtoReflect().SetUnknown(nil) // fields of a newer orchestrator
				if want.Gap != "" {
					want.Reference = nil // a gap has no reference
				}
				require.True(t, proto.Equal(want, again.Renditions[i].Segments[j]), "segment %d/%d changed", i, j)
			}
		}

		rec := &recorder{}
		a, err := archive.Rebuild(rec, spec)
		if err != nil {
			require.Empty(t, rec.files, "a refused job stores nothing")
			return
		}
		if _, err = a.Publish(context.Background(), job.GetFinal()); err != nil {
			// Only a playlist Encode refuses (no rendition at all, say);
			// the orchestrator computes the same offline and never sends
			// such a job.
			require.ErrorIs(t, err, hls.ErrInvalid)
			return
		}
		for _, data := range rec.files {
			if !bytes.HasPrefix(data, []byte("#EXTM3U")) {
				continue // a manifest node
			}
			p, err := hls.Parse(bytes.NewReader(data))
			require.NoError(t, err, "published playlist does not parse:\n%s", data)
			if m, ok := p.(*hls.Master); ok {
				for _, v := range m.Variants {
					dir, file := path.Split(v.URI)
					require.Equal(t, archive.IndexName, file)
					require.NoError(t, hls.ValidName(path.Clean(dir)), "variant %q", v.URI)
				}
			}
		}
	})
}
