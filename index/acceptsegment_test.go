package index

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

func segFiles(seq uint64, salt byte) []SegmentFile {
	out := make([]SegmentFile, 3)
	for i, name := range []string{"source", "P360p", "P240p"} {
		var h [32]byte
		binary.BigEndian.PutUint64(h[:], seq+1)
		h[8], h[9] = byte(i), salt
		out[i] = SegmentFile{Rendition: name, ContentHash: h, Size: segBytes}
	}
	return out
}

// TestAcceptSegment: one call records every file as Pending (registering
// the renditions), a repeat is a no-op, and a refused file records none of
// the segment's files.
func TestAcceptSegment(t *testing.T) {
	ix, _ := openTest(t)
	ctx := context.Background()
	id := testStream(1)
	require.NoError(t, ix.AcceptSegment(ctx, id, 0, "2", ".ts", segFiles(0, 0)))
	require.NoError(t, ix.AcceptSegment(ctx, id, 0, "2", ".ts", segFiles(0, 0)), "a repeat")
	recs, err := ix.Records(id)
	require.NoError(t, err)
	require.Len(t, recs, 3)
	for i, r := range recs {
		require.Equal(t, Pending, r.State)
		require.Equal(t, segFiles(0, 0)[i].ContentHash, r.ContentHash)
	}

	// seq 1's source is new, its P240p conflicts with an earlier Accept.
	conflict := segFiles(1, 1)
	require.NoError(t, ix.Accept(ctx, id, "P240p", 1, segFiles(1, 0)[2].ContentHash, segBytes, "2", ".ts"))
	require.ErrorIs(t, ix.AcceptSegment(ctx, id, 1, "2", ".ts", conflict), ErrConflict)
	recs, err = ix.Records(id)
	require.NoError(t, err)
	require.Len(t, recs, 4, "the refused segment's other files were recorded")

	bad := segFiles(2, 0)
	bad[1].Rendition = "../x"
	require.ErrorIs(t, ix.AcceptSegment(ctx, id, 2, "2", ".ts", bad), ErrInvalid)
	require.NoError(t, ix.End(ctx, id))
	require.ErrorIs(t, ix.AcceptSegment(ctx, id, 3, "2", ".ts", segFiles(3, 0)), ErrEnded)
}

// BenchmarkAcceptSegment compares recording a segment of three files as
// the intake did (Rendition and Accept per file: six transactions, six
// fsyncs) and with AcceptSegment (one), interleaved in one run.
func BenchmarkAcceptSegment(b *testing.B) {
	ctx := context.Background()
	perFile := func(ix *Index, seq uint64) error {
		for _, f := range segFiles(seq, 0) {
			if err := ix.Rendition(ctx, testStream(1), f.Rendition, nil); err != nil {
				return err
			}
			if err := ix.Accept(ctx, testStream(1), f.Rendition, seq, f.ContentHash, f.Size, "2", ".ts"); err != nil {
				return err
			}
		}
		return nil
	}
	oneTx := func(ix *Index, seq uint64) error {
		return ix.AcceptSegment(ctx, testStream(1), seq, "2", ".ts", segFiles(seq, 0))
	}
	for _, bc := range []struct {
		name string
		rec  func(*Index, uint64) error
	}{{"per-file", perFile}, {"one-tx", oneTx}} {
		b.Run(bc.name, func(b *testing.B) {
			ix, _ := openTest(b)
			var seq uint64
			for b.Loop() {
				if err := bc.rec(ix, seq); err != nil {
					b.Fatal(err)
				}
				seq++
			}
		})
	}
}
