package rig_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/internal/spool"
	"github.com/lpswarm/archiver/internal/streams"
)

func jobs(stream string, from, to int64) []archiver.Job {
	var out []archiver.Job
	for seq := from; seq < to; seq++ {
		out = append(out, archiver.Job{Sender: [20]byte{0x7e}, ManifestID: archiver.ManifestID(stream), Seq: seq,
			Duration: 2 * time.Second, Source: []byte(fmt.Sprintf("source %s %d", stream, seq)),
			Renditions: []archiver.Rendition{{Name: "lo", Data: []byte(fmt.Sprintf("lo %s %d", stream, seq))}}})
	}
	return out
}

// TestRigInMemory: an in-process worker archives into the in-memory Bee;
// jobs spooled before a restart are archived after it, by the same worker,
// reconnected; the stream ends with its final manifest stored.
func TestRigInMemory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := rig.Start(ctx, rig.Config{
		Dir: t.TempDir(),
		Host: host.Config{
			Spool:   spool.Config{MaxBytes: 64 << 20},
			Service: grpcsvc.Config{Secret: "s3cret", BaseTimeout: 5 * time.Second},
			Streams: streams.Config{PublishEvery: 1, PublishInterval: time.Hour, IdleTimeout: time.Hour},
		},
		Bee:     rig.Bee{Memory: true},
		Workers: 1,
	})
	require.NoError(t, err)
	defer r.Close()

	require.NoError(t, r.Submit(ctx, jobs("s", 0, 3)...))
	require.NoError(t, r.WaitDrained(ctx, 30*time.Second))
	require.Equal(t, int64(3), r.Host().DispatchMetrics().Archived)

	require.NoError(t, r.Stop())
	addr := r.Addr()
	require.NoError(t, r.Restart(ctx))
	require.Equal(t, addr, r.Addr(), "the restarted orchestrator listens where the workers look")
	require.NoError(t, r.Submit(ctx, jobs("s", 3, 5)...))
	require.NoError(t, r.WaitWorkers(ctx, 1, 10*time.Second))
	require.NoError(t, r.WaitDrained(ctx, 30*time.Second))

	id := catalog.StreamID{ManifestID: "s", Sender: [20]byte{0x7e}}
	refs, err := r.Finish(ctx, 30*time.Second, id)
	require.NoError(t, err)
	require.False(t, refs[id].IsZero())
	info, err := r.Host().StreamInfo(id)
	require.NoError(t, err)
	require.Equal(t, 2*5, info.Published.Segments, "source and lo of five segments")
	_, err = r.Store().Chunks.Get(ctx, refs[id])
	require.NoError(t, err, "the final manifest is in the store")
	require.NoError(t, r.Close())
}

// TestGate: each fault meets uploads only; everything else passes.
func TestGate(t *testing.T) {
	bee := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path)
	}))
	defer bee.Close()
	post := func(g *rig.Gate, timeout time.Duration) (string, error) {
		c := &http.Client{Timeout: timeout}
		res, err := c.Post(g.URL()+"/bytes", "application/octet-stream", strings.NewReader("data"))
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return string(b), err
	}

	slow, err := rig.NewGate(bee.URL, rig.Fault{Delay: 100 * time.Millisecond})
	require.NoError(t, err)
	defer slow.Close()
	started := time.Now()
	got, err := post(slow, time.Minute)
	require.NoError(t, err)
	require.Equal(t, "POST /bytes", got)
	require.GreaterOrEqual(t, time.Since(started), 100*time.Millisecond)
	res, err := http.Get(slow.URL() + "/health")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 1, slow.Uploads(), "only uploads count")

	stall, err := rig.NewGate(bee.URL, rig.Fault{})
	require.NoError(t, err)
	defer stall.Close()
	done := make(chan string, 1)
	go func() { s, _ := post(stall, time.Minute); done <- s }()
	<-stall.First()
	require.Eventually(t, func() bool { return stall.Holding() == 1 }, 5*time.Second, time.Millisecond)
	stall.Release()
	require.Equal(t, "POST /bytes", <-done)

	hold, err := rig.NewGate(bee.URL, rig.Fault{Hold: true})
	require.NoError(t, err)
	defer hold.Close()
	_, err = post(hold, 200*time.Millisecond)
	require.Error(t, err, "a held upload is never answered")
	require.Eventually(t, func() bool { return hold.Holding() == 0 }, 5*time.Second, time.Millisecond,
		"the gate lets go once the uploader gave up")
}
