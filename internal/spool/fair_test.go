package spool_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/spool"
)

// TestFairness: a broadcaster with a deep backlog does not delay one with a
// few segments, and each manifest is served in seq order.
func TestFairness(t *testing.T) {
	s := open(t, t.TempDir(), spool.Config{MaxBytes: 1 << 24, QueueLen: 128})

	// The big sender's backlog is durable before the small one arrives,
	// and it spans two streams submitted out of seq order.
	var outs []<-chan archiver.Outcome
	for _, seq := range rand.Perm(100) {
		outs = append(outs, s.Submit(makeJob(alice, []string{"a1", "a2"}[seq%2], int64(seq), 64)))
	}
	for _, ch := range outs {
		require.NoError(t, (<-ch).Err)
	}
	for seq := range 3 {
		accept(t, s, makeJob(bob, "b", int64(seq), 64))
	}

	var small []int
	seqs := map[archiver.ManifestID][]int64{}
	for i := range 103 {
		e, err := s.Next(context.Background())
		require.NoError(t, err)
		require.NoError(t, s.Done(e.ID))
		if e.Job.Sender == bob {
			small = append(small, i)
		}
		seqs[e.Job.ManifestID] = append(seqs[e.Job.ManifestID], e.Job.Seq)
	}
	require.Len(t, small, 3)
	require.LessOrEqual(t, small[2], 5, "the small sender is served within the first 6 Next calls, got calls %v", small)
	for m, got := range seqs {
		require.True(t, slices.IsSorted(got), "manifest %s served out of seq order: %v", m, got)
	}
	require.Len(t, seqs["a1"], 50)
}
