package archive_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/manifest"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/memstore"
)

var renditions = []string{"audio", "hi", "lo"}

func newArchive(t *testing.T, st *memstore.Store) *archive.Archive {
	t.Helper()
	a := archive.New(st)
	for _, r := range renditions {
		require.NoError(t, a.AddRendition(r, archive.Listing{Variants: []hls.Variant{{Bandwidth: 100_000, Resolution: "320x180"}}}))
	}
	return a
}

func seg(seq uint64) archive.Segment {
	return archive.Segment{Seq: seq, Duration: "2.000000", Ext: ".ts"}
}

func payload(r string, seq uint64) []byte { return []byte(fmt.Sprintf("%s segment %d", r, seq)) }

// addRange archives segments [from, to) of every rendition, publishing
// every `every` segments when every > 0.
func addRange(t *testing.T, a *archive.Archive, from, to uint64, every uint64) {
	t.Helper()
	ctx := context.Background()
	for seq := from; seq < to; seq++ {
		for _, r := range renditions {
			_, err := a.AddSegment(ctx, r, seg(seq), payload(r, seq))
			require.NoError(t, err)
		}
		if every > 0 && (seq+1)%every == 0 {
			_, err := a.Publish(ctx, false)
			require.NoError(t, err, "publish after seq %d", seq)
		}
	}
}

func readManifest(t *testing.T, st *memstore.Store, ref swarm.Address) manifest.Interface {
	t.Helper()
	m, err := manifest.NewDefaultManifestReference(ref, loader{st})
	require.NoError(t, err)
	return m
}

type loader struct{ st *memstore.Store }

func (l loader) Load(ctx context.Context, ref []byte) ([]byte, error) {
	return l.st.DownloadBytes(ctx, swarm.NewAddress(ref), 1<<20)
}
func (loader) Save(context.Context, []byte) ([]byte, error) { return nil, errors.New("read only") }

func file(t *testing.T, st *memstore.Store, m manifest.Interface, path string) ([]byte, map[string]string) {
	t.Helper()
	e, err := m.Lookup(context.Background(), path)
	require.NoError(t, err, path)
	data, err := st.DownloadBytes(context.Background(), e.Reference(), 1<<20)
	require.NoError(t, err)
	return data, e.Metadata()
}

// TestRepublishedManifestMatchesOneBuiltAtOnce: publishing every few
// segments ends in exactly the manifest one publish of the same records
// builds (same root reference), with every entry, reference and metadata.
func TestRepublishedManifestMatchesOneBuiltAtOnce(t *testing.T) {
	ctx := context.Background()
	liveStore := memstore.New(redundancy.NONE)
	live := newArchive(t, liveStore)
	addRange(t, live, 0, 40, 3)
	got, err := live.Publish(ctx, true)
	require.NoError(t, err)

	st := memstore.New(redundancy.NONE)
	once := newArchive(t, st)
	addRange(t, once, 0, 40, 0)
	want, err := once.Publish(ctx, true)
	require.NoError(t, err)

	require.Equal(t, want, got, "the root must not depend on the publish history")
	gotM, wantM := readManifest(t, liveStore, got), readManifest(t, st, want)
	paths := []string{archive.IndexName}
	for _, r := range renditions {
		paths = append(paths, r+"/index.m3u8")
		for seq := uint64(0); seq < 40; seq++ {
			paths = append(paths, fmt.Sprintf("%s/%d.ts", r, seq))
		}
	}
	for _, p := range paths {
		gotData, gotMeta := file(t, liveStore, gotM, p)
		wantData, wantMeta := file(t, st, wantM, p)
		require.Equal(t, wantData, gotData, p)
		require.Equal(t, wantMeta, gotMeta, p)
	}
	data, meta := file(t, st, wantM, "hi/39.ts")
	require.Equal(t, payload("hi", 39), data)
	require.Equal(t, "video/mp2t", meta[manifest.EntryMetadataContentTypeKey])
	for _, m := range []manifest.Interface{gotM, wantM} {
		root, err := m.Lookup(ctx, manifest.RootPath)
		require.NoError(t, err)
		require.Equal(t, archive.IndexName, root.Metadata()[manifest.WebsiteIndexDocumentSuffixKey])
	}
}

// TestRepublishCostIsIncremental: a republish after a few new segments
// stores the changed manifest nodes and playlists, not the whole tree.
func TestRepublishCostIsIncremental(t *testing.T) {
	ctx := context.Background()
	st := memstore.New(redundancy.NONE)
	a := newArchive(t, st)
	addRange(t, a, 0, 300, 0)
	_, err := a.Publish(ctx, false)
	require.NoError(t, err)
	fullCost := st.Bytes() - segmentBytes(0, 300)

	before := st.Bytes()
	addRange(t, a, 300, 303, 0)
	_, err = a.Publish(ctx, false)
	require.NoError(t, err)
	incremental := st.Bytes() - before - segmentBytes(300, 303)

	// Playlists are rewritten in full (they grow with the stream); the
	// manifest is not. The whole first publish is the upper bound.
	playlists := int64(0)
	m := readManifest(t, st, mustPublish(t, a))
	for _, r := range renditions {
		data, _ := file(t, st, m, r+"/index.m3u8")
		playlists += int64(len(data))
	}
	require.Less(t, incremental-playlists, (fullCost-playlists)/4,
		"republish stored %d manifest bytes, a full build %d", incremental-playlists, fullCost-playlists)
}

func mustPublish(t *testing.T, a *archive.Archive) swarm.Address {
	t.Helper()
	ref, err := a.Publish(context.Background(), false)
	require.NoError(t, err)
	return ref
}

func segmentBytes(from, to uint64) int64 {
	var n int64
	for seq := from; seq < to; seq++ {
		for _, r := range renditions {
			n += int64(len(payload(r, seq)))
		}
	}
	return n
}

// TestPlaylistsMarkGapsAndDiscontinuities: a missing listed segment stays
// as EXT-X-GAP, a jump in sequence numbers becomes a discontinuity, a live
// archive is an EVENT playlist and a finished one a VOD with ENDLIST.
func TestPlaylistsMarkGapsAndDiscontinuities(t *testing.T) {
	ctx := context.Background()
	st := memstore.New(redundancy.NONE)
	a := newArchive(t, st)
	for _, seq := range []uint64{5, 6, 9} {
		_, err := a.AddSegment(ctx, "hi", seg(seq), payload("hi", seq))
		require.NoError(t, err)
	}
	require.NoError(t, a.AddGap("hi", seg(7), errors.New("source answered 404")))
	s8 := seg(8)
	s8.Duration = "1.5"
	_, err := a.AddSegment(ctx, "hi", s8, payload("hi", 8))
	require.NoError(t, err)
	// a late gap report must not hide an archived segment
	require.NoError(t, a.AddGap("hi", seg(6), errors.New("late")))

	for _, final := range []bool{false, true} {
		ref, err := a.Publish(ctx, final)
		require.NoError(t, err)
		data, meta := file(t, st, readManifest(t, st, ref), "hi/index.m3u8")
		require.Equal(t, archive.PlaylistContentType, meta[manifest.EntryMetadataContentTypeKey])
		pl, err := hls.ParseMedia(bytes.NewReader(data))
		require.NoError(t, err)
		require.Equal(t, uint64(5), pl.MediaSequence)
		require.Equal(t, final, pl.EndList)
		require.Equal(t, map[bool]string{false: "EVENT", true: "VOD"}[final], pl.PlaylistType)
		var uris, durs []string
		var gaps, discs []bool
		for _, s := range pl.Segments {
			uris, durs = append(uris, s.URI), append(durs, s.Duration)
			gaps, discs = append(gaps, s.Gap), append(discs, s.Discontinuity)
		}
		require.Equal(t, []string{"5.ts", "6.ts", "7.ts", "8.ts", "9.ts"}, uris)
		require.Equal(t, []string{"2.000000", "2.000000", "2.000000", "1.5", "2.000000"}, durs)
		require.Equal(t, []bool{false, false, true, false, false}, gaps)
		require.Equal(t, []bool{false, false, false, false, false}, discs)
	}
	stats := a.Stats()
	require.Equal(t, 4, stats.Segments)
	require.Equal(t, 1, stats.Gaps)

	_, err = a.AddSegment(ctx, "lo", seg(1), payload("lo", 1))
	require.NoError(t, err)
	_, err = a.AddSegment(ctx, "lo", seg(4), payload("lo", 4))
	require.NoError(t, err)
	ref, err := a.Publish(ctx, true)
	require.NoError(t, err)
	data, _ := file(t, st, readManifest(t, st, ref), "lo/index.m3u8")
	pl, err := hls.ParseMedia(bytes.NewReader(data))
	require.NoError(t, err)
	require.True(t, pl.Segments[1].Discontinuity, "unseen segments 2-3 must show as a discontinuity")
	require.Contains(t, string(data), "missing media sequence 2-3")
}

// TestRepeatedSequence: the same bytes again are a no-op; other bytes for
// an archived sequence number are refused and the first version stays.
func TestRepeatedSequence(t *testing.T) {
	ctx := context.Background()
	a := newArchive(t, memstore.New(redundancy.NONE))
	first, err := a.AddSegment(ctx, "hi", seg(3), []byte("first"))
	require.NoError(t, err)
	again, err := a.AddSegment(ctx, "hi", seg(3), []byte("first"))
	require.NoError(t, err)
	require.Equal(t, first, again)
	_, err = a.AddSegment(ctx, "hi", seg(3), []byte("second"))
	require.ErrorIs(t, err, archive.ErrConflict)
	entries, err := a.Entries("hi")
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, first.Reference, entries[0].Reference)
}

func TestBadInputIsRefused(t *testing.T) {
	ctx := context.Background()
	a := newArchive(t, memstore.New(redundancy.NONE))
	for _, name := range []string{"../x", "a/b", "", "..", "a\x00b", "hi"} {
		err := a.AddRendition(name, archive.Listing{})
		require.Error(t, err, "%q", name)
	}
	require.ErrorIs(t, a.AddRendition("hi", archive.Listing{}), archive.ErrDuplicateRendition)

	tests := []struct {
		name string
		seg  archive.Segment
		want error
	}{
		{"bad extension", archive.Segment{Seq: 1, Duration: "2", Ext: ".exe"}, archive.ErrBadSegment},
		{"path in extension", archive.Segment{Seq: 1, Duration: "2", Ext: "/../x.ts"}, archive.ErrBadSegment},
		{"bad duration", archive.Segment{Seq: 1, Duration: "two", Ext: ".ts"}, archive.ErrBadSegment},
		{"empty duration", archive.Segment{Seq: 1, Ext: ".ts"}, archive.ErrBadSegment},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.AddSegment(ctx, "hi", tc.seg, []byte("x"))
			require.ErrorIs(t, err, tc.want)
		})
	}
	_, err := a.AddSegment(ctx, "nope", seg(1), []byte("x"))
	require.ErrorIs(t, err, archive.ErrUnknownRendition)
}

// TestInitSections: fMP4 init sections are archived once per content and
// referenced by EXT-X-MAP.
func TestInitSections(t *testing.T) {
	ctx := context.Background()
	st := memstore.New(redundancy.NONE)
	a := newArchive(t, st)
	n0, err := a.AddInit(ctx, "hi", []byte("init A"))
	require.NoError(t, err)
	again, err := a.AddInit(ctx, "hi", []byte("init A"))
	require.NoError(t, err)
	n1, err := a.AddInit(ctx, "hi", []byte("init B"))
	require.NoError(t, err)
	require.Equal(t, "init-0.mp4", n0)
	require.Equal(t, n0, again)
	require.Equal(t, "init-1.mp4", n1)
	for seq, init := range []string{n0, n0, n1} {
		s := archive.Segment{Seq: uint64(seq), Duration: "2.0", Ext: ".m4s", Init: init}
		_, err := a.AddSegment(ctx, "hi", s, payload("hi", uint64(seq)))
		require.NoError(t, err)
	}
	ref, err := a.Publish(ctx, true)
	require.NoError(t, err)
	m := readManifest(t, st, ref)
	data, meta := file(t, st, m, "hi/init-1.mp4")
	require.Equal(t, []byte("init B"), data)
	require.Equal(t, "video/mp4", meta[manifest.EntryMetadataContentTypeKey])
	pl, _ := file(t, st, m, "hi/index.m3u8")
	parsed, err := hls.ParseMedia(bytes.NewReader(pl))
	require.NoError(t, err)
	require.Equal(t, "init-0.mp4", parsed.Segments[1].Map.URI)
	require.Equal(t, "init-1.mp4", parsed.Segments[2].Map.URI)
}

// BenchmarkRepublish measures one republish of a live archive that already
// holds n segments per rendition (3 renditions), after 10 new ones: the
// manifest is rebuilt in full (CPU), only changed nodes are uploaded.
func BenchmarkRepublish(b *testing.B) {
	for _, n := range []uint64{100, 1000, 5000} {
		b.Run(fmt.Sprintf("segments=%d", n), func(b *testing.B) {
			st := memstore.New(redundancy.NONE)
			a := archive.New(st)
			for _, r := range renditions {
				if err := a.AddRendition(r, archive.Listing{Variants: []hls.Variant{{Bandwidth: 1}}}); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			add := func(from, to uint64) {
				for seq := from; seq < to; seq++ {
					for _, r := range renditions {
						if _, err := a.AddSegment(ctx, r, seg(seq), payload(r, seq)); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			add(0, n)
			if _, err := a.Publish(ctx, false); err != nil {
				b.Fatal(err)
			}
			next := n
			var uploaded int64
			for b.Loop() {
				b.StopTimer()
				add(next, next+10)
				next += 10
				before := st.Bytes()
				b.StartTimer()
				if _, err := a.Publish(ctx, false); err != nil {
					b.Fatal(err)
				}
				uploaded += st.Bytes() - before
			}
			b.ReportMetric(float64(uploaded)/float64(b.N), "uploaded-B/op")
		})
	}
}

// TestRecordsRebuildTheSameManifest: an archive rebuilt from the
// references of another (as a worker rebuilds a stream from the
// orchestrator's index) publishes the very same manifest.
func TestRecordsRebuildTheSameManifest(t *testing.T) {
	ctx := context.Background()
	st := memstore.New(redundancy.NONE)
	orig := newArchive(t, st)
	addRange(t, orig, 0, 12, 0)
	want, err := orig.Publish(ctx, true)
	require.NoError(t, err)

	rebuilt := newArchive(t, memstore.New(redundancy.NONE))
	for _, r := range renditions {
		entries, err := orig.Entries(r)
		require.NoError(t, err)
		for _, e := range entries {
			require.NoError(t, rebuilt.AddRecord(r, e.Segment, e.Reference, e.Bytes))
		}
	}
	got, err := rebuilt.Publish(ctx, true)
	require.NoError(t, err)
	require.Equal(t, want, got)

	e, err := orig.Entries("hi")
	require.NoError(t, err)
	require.ErrorIs(t, rebuilt.AddRecord("hi", e[0].Segment, e[1].Reference, e[0].Bytes), archive.ErrConflict)
}
