package grpcsvc_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/grpcsvc"
)

// TestStreamAffinityForgottenAtEnd: every archived stream leaves an
// affinity (the worker that had it last), which used to stay for as long
// as that worker stayed connected: one entry per stream ever archived.
// StreamEnded, called after the final publish, drops it; with nothing in
// flight every per-job map is empty too.
func TestStreamAffinityForgottenAtEnd(t *testing.T) {
	js := jobs(6) // streams 0, 1 and 2
	h := newHarness(t, newMemQueue(js...), grpcsvc.Config{})
	startWorker(t, h, "a", nodeUploader(t), 2)
	requireArchived(t, h, js)
	require.Eventually(t, func() bool { return h.srv.Held().Assigned == 0 }, 5*time.Second, time.Millisecond)
	require.Equal(t, grpcsvc.Held{Affinities: 3, Workers: 1}, h.srv.Held())
	for _, id := range []string{"stream-0", "stream-1", "stream-2"} {
		h.srv.StreamEnded(id)
	}
	h.srv.StreamEnded("never seen")
	require.Equal(t, grpcsvc.Held{Workers: 1}, h.srv.Held())
}
