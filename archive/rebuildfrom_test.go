package archive_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/memstore"
)

// specOf is the spec of a's records, as the orchestrator's index gives it.
func specOf(t *testing.T, a *archive.Archive) archive.Spec {
	t.Helper()
	var spec archive.Spec
	for _, r := range renditions {
		entries, err := a.Entries(r)
		require.NoError(t, err)
		rs := archive.RenditionSpec{Name: r, Listing: archive.Listing{Variants: []hls.Variant{{Bandwidth: 100_000, Resolution: "320x180"}}}}
		for _, e := range entries {
			rs.Segments = append(rs.Segments, archive.Record{Segment: e.Segment, Reference: e.Reference, Bytes: e.Bytes})
		}
		spec.Renditions = append(spec.Renditions, rs)
	}
	return spec
}

// TestRebuildFromUploadsOnlyWhatChanged: a publish rebuilt from records (a
// worker's) and given what the stream's last publish stored uploads only
// the changed nodes and playlists, not the whole manifest again, and yields
// the same manifest as a full rebuild, complete in the store that holds both
// publishes' uploads.
func TestRebuildFromUploadsOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	st := memstore.New(redundancy.NONE) // the segments are stored where the manifests go
	src := newArchive(t, st)
	addRange(t, src, 0, 60, 0)
	first := specOf(t, src)
	addRange(t, src, 60, 70, 0)
	second := specOf(t, src)

	a1, err := archive.RebuildFrom(st, first, archive.Stored{})
	require.NoError(t, err)
	_, err = a1.Publish(ctx, false)
	require.NoError(t, err)
	full := st.Bytes()
	require.Positive(t, a1.Stored().Len())

	a2, err := archive.RebuildFrom(st, second, a1.Stored())
	require.NoError(t, err)
	got, err := a2.Publish(ctx, false)
	require.NoError(t, err)
	incremental := st.Bytes() - full

	fresh := memstore.New(redundancy.NONE)
	b, err := archive.Rebuild(fresh, second)
	require.NoError(t, err)
	want, err := b.Publish(ctx, false)
	require.NoError(t, err)
	require.Equal(t, want, got, "the same records give the same manifest")
	// Playlists are rewritten in full; of the manifest's nodes ten new
	// segments change a few.
	require.Less(t, incremental, fresh.Bytes()/3, "incremental publish uploaded %d bytes, a full one %d", incremental, fresh.Bytes())

	m := readManifest(t, st, got)
	for _, r := range renditions {
		for _, seq := range []uint64{0, 59, 69} {
			data, _ := file(t, st, m, fmt.Sprintf("%s/%d.ts", r, seq))
			require.Equal(t, payload(r, seq), data)
		}
		data, _ := file(t, st, m, r+"/index.m3u8")
		require.Contains(t, string(data), "69.ts")
	}
}
