package grpcsvc

import (
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
	free := &worker{id: "free", capacity: 1, notices: make(chan *archiverpb.WorkerNotice, 1), gone: make(chan struct{})}
	full := &worker{id: "full", capacity: 1, notices: make(chan *archiverpb.WorkerNotice, 1), gone: make(chan struct{})}
	full.notices <- &archiverpb.WorkerNotice{}
	s.workers.add(free)
	s.workers.add(full)
	s.workers.affinity["m"] = free

	s.StreamEnded("m")
	n := <-free.notices
	require.Equal(t, []byte("m"), n.GetEnded().GetManifestId())
	require.Len(t, full.notices, 1, "a full queue keeps what it had")
	require.Zero(t, s.Held().Affinities, "the stream's affinity is forgotten")
}
