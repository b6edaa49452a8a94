package spool_test

import (
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/spool"
)

// TestWriterForgetsWrittenJobs: once a job is durable the spool keeps
// only its record; the submitted bytes (segments of many MB in
// go-livepeer) must not stay reachable from the writer's reused batch.
func TestWriterForgetsWrittenJobs(t *testing.T) {
	s := open(t, t.TempDir(), spool.Config{MaxBytes: 1 << 20})
	job := makeJob(alice, "m", 0, 4096)
	source := weak.Make(&job.Source[0])
	require.NoError(t, (<-s.Submit(job)).Err)
	job = makeJob(alice, "other", 0, 1) // drop our own references
	_ = job
	require.Eventually(t, func() bool {
		runtime.GC()
		return source.Value() == nil
	}, 5*time.Second, 10*time.Millisecond, "the written job's bytes are still reachable")
	require.Equal(t, 1, s.Stats().Jobs)
}
