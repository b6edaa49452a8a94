package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/realnode"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/plugin"
)

// TestOrchestratorKilledMidStream: the orchestrator is SIGKILLed once it
// has accepted at least 5 segments and restarted on the same data
// directory while ffmpeg keeps pushing. Every segment it accepted, before
// and after, is in one final manifest, and every segment the broadcaster
// listed after the restart too.
func TestOrchestratorKilledMidStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := realnode.StartCluster(ctx, realnode.ClusterConfig{Dir: t.TempDir(), Livepeer: bins.archiver,
		Worker: bins.worker, Archiver: true, Workers: 2})
	require.NoError(t, err)
	defer c.Close()
	b, err := c.Broadcaster(ctx, "broadcaster", bins.archiver, "-archive")
	require.NoError(t, err)
	dumpOnFailure(t, b, c.Orch)

	const id = "crashStream"
	rec, stop := realnode.Record(ctx, b.HTTP, id, 500*time.Millisecond)
	pushed := make(chan error, 1)
	go func() { pushed <- realnode.Push(ctx, bins.video, "rtmp://"+b.RTMP+"/stream/"+id) }()

	// What the orchestrator has accepted is what its index holds, but for
	// the newest pending records: the index records a segment before the
	// spool writes it, and a segment the kill catches between the two was
	// never accepted (nor charged), so it becomes a gap saying so.
	var before, pending map[string]bool
	for len(sources(before)) < 5 {
		select {
		case <-ctx.Done():
			t.Fatalf("fewer than 5 segments accepted: %v", before)
		case <-time.After(200 * time.Millisecond):
		}
		if st, _, err := realnode.Status(ctx, c.Orch.CLI, id); err == nil {
			before, pending = files(st.Segments), map[string]bool{}
			for _, s := range st.Segments {
				if s.State == "pending" {
					pending[key(s.Rendition, s.Seq)] = true
				}
			}
		}
	}
	c.Orch.Kill()
	// The segments the index held at the kill may have grown after the
	// last status read; read them again from the restarted node below.
	require.NoError(t, c.Orch.Restart())
	require.NoError(t, c.Orch.WaitHTTP(ctx, "http://"+c.Orch.CLI+"/status"))
	st, _, err := realnode.Status(ctx, c.Orch.CLI, id)
	require.NoError(t, err)
	atRestart := files(st.Segments)
	// Only the newest segment can be caught between the index and the
	// spool: the spool writes a segment within milliseconds, and the next
	// comes two seconds later.
	newest := maxSeq(pending)
	lost := map[string]bool{}
	caught := func(gaps []plugin.Gap) {
		for _, g := range gaps {
			if k := key(g.Rendition, g.Seq); pending[k] && g.Seq == newest && g.Reason == streams.ErrLostInCrash.Error() {
				lost[k] = true
			}
		}
	}
	caught(st.Gaps)
	for k := range before {
		assert.True(t, atRestart[k] || lost[k], "%s was accepted before the kill and is gone after it", k)
	}
	t.Logf("accepted before the kill: %d source segments (%d files)", len(sources(atRestart)), len(atRestart))

	require.NoError(t, <-pushed)
	final, err := realnode.WaitFinal(ctx, c.Orch.CLI, id)
	stop()
	require.NoError(t, err, "orchestrator log:\n%s", c.Orch.Log())
	caught(final.Gaps) // a restart may answer before it has reconciled the two
	all := files(final.Segments)
	after := len(sources(all)) - len(sources(atRestart))
	assert.GreaterOrEqual(t, after, 5, "at least 5 segments accepted after the restart")
	for k := range atRestart {
		assert.True(t, all[k] || lost[k], "%s accepted before the kill is not in the final manifest", k)
	}
	for _, g := range final.Gaps {
		assert.True(t, lost[key(g.Rendition, g.Seq)], "gap %+v: only a segment the kill caught before the spool may be one", g)
	}
	if len(lost) > 0 {
		t.Logf("the kill caught %d files between the index and the spool: gaps %v", len(lost), lost)
	}

	// Segments the broadcaster got back transcoded after the restart went
	// to the restarted orchestrator, which archived them. (It lists a
	// source segment before sending it, so one the kill interrupted is
	// listed without renditions.)
	transcoded := map[int64]bool{}
	for _, s := range rec.Segments() {
		if s.Rendition != "source" {
			transcoded[s.Seq] = true
		}
	}
	var since []realnode.Segment
	firstAfter := maxSeq(atRestart) + 1
	for _, s := range rec.Segments() {
		if s.Seq >= firstAfter && transcoded[s.Seq] {
			since = append(since, s)
		}
	}
	require.NotEmpty(t, since)
	manifest, err := realnode.CheckArchive(ctx, c.Bee.URL, final.Reference, since)
	require.NoError(t, err)
	for k := range all {
		assert.True(t, manifest[k], "%s archived but not in the final manifest", k)
	}
}

// files are a status's segments as "rendition/seq".
func files(segs []plugin.SegmentStatus) map[string]bool {
	out := map[string]bool{}
	for _, s := range segs {
		out[key(s.Rendition, s.Seq)] = true
	}
	return out
}

// sources are the source segments among files.
func sources(files map[string]bool) []string {
	var out []string
	for k := range files {
		if len(k) > 7 && k[:7] == "source/" {
			out = append(out, k)
		}
	}
	return out
}

func maxSeq(files map[string]bool) int64 {
	var m int64 = -1
	for k := range files {
		var r string
		var seq int64
		if _, err := fmt.Sscanf(strings.Replace(k, "/", " ", 1), "%s %d", &r, &seq); err == nil && seq > m {
			m = seq
		}
	}
	return m
}

// TestOrchestratorAndWorkerKilledTogether: while a stream runs, the
// orchestrator and a worker are SIGKILLed together at random moments (the
// seed is logged; E2E_SEED replays it) and restarted after a random pause,
// twice. The stream still reaches its final manifest, with every segment
// the orchestrator recorded either archived in it or a gap with a reason:
// nothing stays pending, nothing is silently dropped.
func TestOrchestratorAndWorkerKilledTogether(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("E2E_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		seed = v
	}
	t.Logf("seed %d (E2E_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := realnode.StartCluster(ctx, realnode.ClusterConfig{Dir: t.TempDir(), Livepeer: bins.archiver,
		Worker: bins.worker, Archiver: true, Workers: 2})
	require.NoError(t, err)
	defer c.Close()
	b, err := c.Broadcaster(ctx, "broadcaster", bins.archiver, "-archive")
	require.NoError(t, err)
	dumpOnFailure(t, b, c.Orch, c.Workers[0])

	const id = "killedTogether"
	pushed := make(chan error, 1)
	go func() { pushed <- realnode.Push(ctx, bins.video, "rtmp://"+b.RTMP+"/stream/"+id) }()
	start := time.Now()
	for round, at := range []time.Duration{4 * time.Second, 14 * time.Second} {
		at += time.Duration(rng.Int64N(int64(4 * time.Second)))
		pause := 200*time.Millisecond + time.Duration(rng.Int64N(int64(2*time.Second)))
		time.Sleep(time.Until(start.Add(at)))
		c.Orch.Kill()
		c.Workers[0].Kill()
		t.Logf("round %d: killed the orchestrator and worker1 at %.1f s, restarting after %s", round+1, at.Seconds(), pause)
		time.Sleep(pause)
		require.NoError(t, c.Orch.Restart())
		require.NoError(t, c.Workers[0].Restart())
		require.NoError(t, c.Orch.WaitHTTP(ctx, "http://"+c.Orch.CLI+"/status"))
	}
	require.NoError(t, <-pushed)

	final, err := realnode.WaitFinal(ctx, c.Orch.CLI, id)
	require.NoError(t, err, "the stream reaches its final manifest")
	manifest, err := realnode.CheckArchive(ctx, c.Bee.URL, final.Reference, nil)
	require.NoError(t, err)
	for _, s := range final.Segments {
		assert.Equal(t, "archived", s.State, "%s/%d", s.Rendition, s.Seq)
		assert.True(t, manifest[key(s.Rendition, s.Seq)], "%s/%d archived but not in the final manifest", s.Rendition, s.Seq)
	}
	for _, g := range final.Gaps {
		assert.NotEmpty(t, g.Reason, "gap %s/%d without a reason", g.Rendition, g.Seq)
	}
	t.Logf("final manifest: %d files archived, %d gaps", len(final.Segments), len(final.Gaps))
	require.GreaterOrEqual(t, len(sources(files(final.Segments))), 5)
}
