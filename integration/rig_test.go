package integration_test

import (
	"cmp"
	"context"
	"log/slog"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/internal/spool"
	"github.com/lpswarm/archiver/internal/streams"
)

// testSecret is the workers' secret of every rig here.
const testSecret = "s3cret"

// warnings logs warnings and errors to stderr.
func warnings() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startRig starts the orchestrator side every test and benchmark here runs
// against (internal/rig) with what they share: a fresh directory, the
// workers' secret, warnings on stderr, the dev Bee and, for a rig that
// serves worker processes (TLS or the testbed), the archiver-node built
// for this run. It is closed when the test ends.
func startRig(tb testing.TB, ctx context.Context, cfg rig.Config) *rig.Rig {
	tb.Helper()
	cfg.Dir = cmp.Or(cfg.Dir, tb.TempDir())
	cfg.Host.Service.Secret = cmp.Or(cfg.Host.Service.Secret, testSecret)
	if cfg.Host.Logger == nil {
		cfg.Host.Logger = warnings()
	}
	if cfg.Bee.URL == "" && !cfg.Bee.Memory {
		cfg.Bee.URL = dev.URL
	}
	if cfg.NodeBin == "" && (cfg.TLS || cfg.Testbed != nil) {
		cfg.NodeBin = archiverNode(tb)
	}
	if cfg.Node.Stderr == nil {
		cfg.Node.Stderr = os.Stderr
	}
	r, err := rig.Start(ctx, cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = r.Close() })
	return r
}

// orchConfig is the orchestrator side of the worker-process tests: TLS
// for archiver-node, a 3 s job deadline that a slow upload misses,
// publishes every third segment and every second. edits change it.
func orchConfig(edits ...func(*host.Config)) rig.Config {
	cfg := rig.Config{TLS: true, Host: host.Config{
		Spool:   spool.Config{MaxBytes: 256 << 20},
		Service: grpcsvc.Config{BaseTimeout: 3 * time.Second, MinThroughput: 1 << 30},
		Streams: streams.Config{PublishEvery: 3, PublishInterval: time.Second, IdleTimeout: time.Hour},
	}}
	for _, e := range edits {
		e(&cfg.Host)
	}
	return cfg
}

// startOrch starts the rig of orchConfig(edits).
func startOrch(t *testing.T, ctx context.Context, edits ...func(*host.Config)) *rig.Rig {
	t.Helper()
	return startRig(t, ctx, orchConfig(edits...))
}

// startNode starts an archiver-node worker process on the rig; its log
// goes to stderr unless nc says otherwise.
func startNode(tb testing.TB, ctx context.Context, r *rig.Rig, nc rig.NodeConfig) *rig.Node {
	tb.Helper()
	if nc.Stderr == nil {
		nc.Stderr = os.Stderr
	}
	n, err := r.StartNode(ctx, nc)
	require.NoError(tb, err)
	return n
}

// finish waits for the spool to drain, ends every stream of jobs and
// returns their final manifests by manifest id.
func finish(t *testing.T, ctx context.Context, r *rig.Rig, jobs []archiver.Job) map[string]swarm.Address {
	t.Helper()
	require.NoError(t, r.WaitDrained(ctx, 2*time.Minute), "jobs left in the spool")
	seen := map[catalog.StreamID]bool{}
	var ids []catalog.StreamID
	for _, j := range jobs {
		id := catalog.StreamID{ManifestID: string(j.ManifestID), Sender: j.Sender}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	refs, err := r.Finish(ctx, time.Minute, ids...)
	require.NoError(t, err, "final manifests not published")
	out := map[string]swarm.Address{}
	for id, ref := range refs {
		out[id.ManifestID] = ref
	}
	return out
}

// heapAfterGC is the live heap once garbage, sync.Pools included (which
// two cycles empty), is collected, without the in-process workers' idle
// connections to Bee (their buffers are the transport's pool).
func heapAfterGC(r *rig.Rig) uint64 {
	r.CloseIdleConnections()
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// gate starts a fault gate in front of the rig's Bee.
func gate(tb testing.TB, r *rig.Rig, f rig.Fault) *rig.Gate {
	tb.Helper()
	g, err := r.Gate(f)
	require.NoError(tb, err)
	return g
}
