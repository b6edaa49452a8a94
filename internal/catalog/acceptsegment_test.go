package catalog

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/swarm"
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

// TestCompleteSegment: one transaction records a segment's report as
// Accept plus Complete per file would: a repeat changes nothing, a job
// the index never saw (spooled before a crash) is accepted and archived,
// a conflicting content accepts and completes nothing, and a refused
// completion keeps the completions before it.
func TestCompleteSegment(t *testing.T) {
	ctx := context.Background()
	ref := func(seq uint64, i int) swarm.Address {
		var b [32]byte
		binary.BigEndian.PutUint64(b[:], seq+100)
		b[8] = byte(i + 1)
		return swarm.NewAddress(b[:])
	}
	refs := func(seq uint64) []swarm.Address { return []swarm.Address{ref(seq, 0), ref(seq, 1), ref(seq, 2)} }
	states := func(t *testing.T, ix *Index, id StreamID, seq uint64) []State {
		recs, err := ix.Records(id)
		if errors.Is(err, ErrUnknownStream) {
			return nil // nothing recorded at all
		}
		require.NoError(t, err)
		var out []State
		for _, r := range recs {
			if r.Seq == seq {
				out = append(out, r.State)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		before  func(ix *Index, id StreamID) error
		refs    []swarm.Address
		wantErr error
		want    []State
	}{
		{"accepted, then reported", func(ix *Index, id StreamID) error {
			return ix.AcceptSegment(ctx, id, 0, "2", ".ts", segFiles(0, 0))
		}, refs(0), nil, []State{Archived, Archived, Archived}},
		{"never accepted (spooled before a crash)", nil, refs(0), nil, []State{Archived, Archived, Archived}},
		{"a repeat", func(ix *Index, id StreamID) error {
			return ix.CompleteSegment(ctx, id, 0, "2", ".ts", segFiles(0, 0), refs(0))
		}, refs(0), nil, []State{Archived, Archived, Archived}},
		{"other content accepted: nothing recorded", func(ix *Index, id StreamID) error {
			return ix.AcceptSegment(ctx, id, 0, "2", ".ts", segFiles(0, 7))
		}, refs(0), ErrConflict, []State{Pending, Pending, Pending}},
		{"second file archived under another reference", func(ix *Index, id StreamID) error {
			if err := ix.AcceptSegment(ctx, id, 0, "2", ".ts", segFiles(0, 0)); err != nil {
				return err
			}
			_, err := ix.Complete(ctx, id, "P360p", 0, segFiles(0, 0)[1].ContentHash, ref(9, 9), segBytes)
			return err
		}, refs(0), ErrReferenceMismatch, []State{Archived, Archived, Pending}},
		{"ended stream, never accepted", func(ix *Index, id StreamID) error {
			if err := ix.AcceptSegment(ctx, id, 1, "2", ".ts", segFiles(1, 0)); err != nil {
				return err
			}
			return ix.End(ctx, id)
		}, refs(0), ErrEnded, nil},
		{"a zero reference", nil, []swarm.Address{ref(0, 0), swarm.ZeroAddress, ref(0, 2)}, ErrInvalid, nil},
		{"too few references", nil, refs(0)[:2], ErrInvalid, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix, _ := openTest(t)
			id := testStream(1)
			if tc.before != nil {
				require.NoError(t, tc.before(ix, id))
			}
			err := ix.CompleteSegment(ctx, id, 0, "2", ".ts", segFiles(0, 0), tc.refs)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.want, states(t, ix, id, 0))
			if tc.wantErr == nil {
				recs, err := ix.Records(id)
				require.NoError(t, err)
				for i, r := range recs {
					require.Equal(t, tc.refs[i], r.Reference)
				}
			}
		})
	}
}
