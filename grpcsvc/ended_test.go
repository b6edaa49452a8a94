package grpcsvc

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/proto/archiverpb"
)

// TestStreamEndedTellsEveryWorker: the end of a stream reaches every
// connected worker (its final publish may have gone to any of them), and a
// worker whose notice queue is full does not hold the caller up.
func TestStreamEndedTellsEveryWorker(t *testing.T) {
	s, err := New(&fakeQueue{}, Config{Secret: fuzzSecret})
	require.NoError(t, err)
	free, full := newWorker("free", 1), newWorker("full", 1)
	full.Link.notices <- &archiverpb.WorkerNotice{}
	s.d.Workers().Add(free)
	s.d.Workers().Add(full)
	w, err := s.d.Workers().Pick(context.Background(), "m", map[*worker]bool{full: true}) // the stream's affinity
	require.NoError(t, err)
	require.Equal(t, free, w)
	s.d.Workers().Release(w)

	s.StreamEnded("m")
	n := <-free.Link.notices
	require.Equal(t, []byte("m"), n.GetEnded().GetManifestId())
	require.Len(t, full.Link.notices, 1, "a full queue keeps what it had")
	require.Zero(t, s.Held().Affinities, "the stream's affinity is forgotten")
}
