package streams_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/streams"
)

// TestCrashBetweenIndexAndSpool: the orchestrator stops after the index
// recorded a segment and before the spool stored it. After the restart the
// record has no job that could ever complete it; Reconcile makes it a gap,
// so the stream still reaches its final manifest (it waited for good
// before). A segment the spool does hold stays pending and is waited for.
func TestCrashBetweenIndexAndSpool(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "index.db")
	id := catalog.StreamID{ManifestID: "m", Sender: common.Address{1}}

	// Before the crash: seq 0 archived, seq 1 spooled (held), seq 2
	// recorded only: its spool write never happened.
	ix, err := catalog.Open(path)
	require.NoError(t, err)
	s := streams.New(ix, &publisher{}, streams.Config{})
	require.NoError(t, (<-s.Intake(spoolNow{}).Submit(job(0))).Err)
	require.NoError(t, s.Archived(ctx, job(0), results(t, job(0))))
	require.NoError(t, (<-s.Intake(spoolNow{}).Submit(job(1))).Err)
	gate := spoolGate{release: make(chan struct{})}
	lost := s.Intake(gate).Submit(job(2))
	require.Eventually(t, func() bool {
		p, err := ix.Pending(id)
		return err == nil && len(p) == 4
	}, 5*time.Second, time.Millisecond, "seq 1 and 2 recorded, pending")
	require.NoError(t, ix.Close()) // the crash
	close(gate.release)
	<-lost

	ix, err = catalog.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ix.Close() })
	p := &publisher{}
	s = streams.New(ix, p, streams.Config{PublishInterval: time.Hour, IdleTimeout: time.Hour})
	require.NoError(t, s.Reconcile(ctx, func(got catalog.StreamID, seq int64) bool { return got == id && seq == 1 }))
	s.End(id)
	s.Sweep(ctx) // seq 1 is in the spool, still pending
	s.Sweep(ctx)
	_, final, _ := p.last()
	require.False(t, final, "finished over a segment the spool holds")
	go func() { _ = s.Run(ctx) }()

	require.NoError(t, s.Archived(ctx, job(1), results(t, job(1))))
	require.Eventually(t, func() bool { _, f, _ := p.last(); return f }, 5*time.Second, 10*time.Millisecond,
		"the stream reaches its final manifest")
	spec, _, _ := p.last()
	require.Len(t, spec.Renditions[0].Segments, 3)
	for _, r := range spec.Renditions {
		got := r.Segments[2]
		assert.Equal(t, uint64(2), got.Seq)
		assert.Equal(t, streams.ErrLostInCrash.Error(), got.Gap, "%s seq 2 is a gap with its reason", r.Name)
	}
}
