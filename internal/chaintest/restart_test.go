package chaintest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/internal/chaintest"
)

// TestRestartNode stops Bee node A gracefully, then kills it, and starts it
// again each time. It comes back on the same URL with the same overlay and
// store: its batch is still usable without being bought again, what it
// stored before reads back from it, and a direct upload through it after
// the restart reaches node B, so the two are linked and out of warm-up.
func TestRestartNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	net, err := chaintest.Start(ctx, chaintest.Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	require.NoError(t, err)
	defer func() { require.NoError(t, net.Close()) }()
	urls := net.Nodes()
	a, err := bee.New(urls[0])
	require.NoError(t, err)
	b, err := bee.New(urls[1])
	require.NoError(t, err)

	batch, err := a.BuyBatch(ctx, big.NewInt(1_000_000_000), 17, "restart", true)
	require.NoError(t, err)
	waitUsable(ctx, t, a, batch)
	upload := func() (swarm.Address, []byte) {
		t.Helper()
		data := make([]byte, 50_000)
		_, _ = rand.Read(data)
		up, err := a.UploadBytes(ctx, data, bee.UploadOptions{BatchID: batch, Direct: true})
		require.NoError(t, err)
		return up.Reference, data
	}
	type file struct {
		ref  swarm.Address
		data []byte
	}
	var stored []file
	ref, data := upload()
	stored = append(stored, file{ref, data})

	for _, mode := range []chaintest.StopMode{chaintest.Graceful, chaintest.Crash} {
		began := time.Now()
		require.NoError(t, net.StopNode(0, mode))
		stopped := time.Since(began)
		if resp, err := http.Get(urls[0] + "/health"); err == nil {
			resp.Body.Close()
			t.Fatalf("node A still answers after a %s stop", mode)
		}

		require.NoError(t, net.StartNode(ctx, 0), mode)
		t.Logf("%s restart: stopped in %s, back (ready, linked, out of warm-up) %s later",
			mode, stopped.Round(time.Millisecond), (time.Since(began) - stopped).Round(time.Millisecond))
		require.Equal(t, urls, net.Nodes(), "the nodes' URLs changed")

		got, err := a.Batch(ctx, batch)
		require.NoError(t, err, "node A forgot its batch after a %s restart", mode)
		require.True(t, got.Usable, "node A's batch is not usable after a %s restart", mode)
		for _, f := range stored {
			back, err := a.DownloadBytes(ctx, f.ref, int64(len(f.data)))
			require.NoError(t, err, "%s from restarted node A", f.ref)
			require.True(t, bytes.Equal(f.data, back), "%s differs on restarted node A", f.ref)
		}
		ref, data := upload()
		stored = append(stored, file{ref, data})
		back, err := b.DownloadBytes(ctx, ref, int64(len(data)))
		require.NoError(t, err, "upload through node A after a %s restart, from node B", mode)
		require.True(t, bytes.Equal(data, back), "node B returned other bytes for %s", ref)
	}
}
