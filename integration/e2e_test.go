package integration_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/testbed"
)

// TestEndToEnd: a broadcaster streams 60 s of real video over go-livepeer's
// wire protocol to the testbed orchestrator, paying transcoding and
// archiving with real PM tickets, next to a stock broadcaster's stream; two
// real archiver-node processes archive into a real Bee. testbed.Run checks
// every claim (byte-identical read-back under the broadcaster's own offline
// references, playback length, balances to the wei, the stock stream
// untouched); the test adds what the summary must show.
func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	batch, err := dev.BuyBatch(ctx, 24)
	require.NoError(t, err)
	sum, err := testbed.Run(ctx, testbed.RunConfig{Bee: dev.Client, Batch: batch, ArchiverNode: archiverNode(t),
		Workers: 2, Seconds: 60, WorkDir: t.TempDir()})
	require.NoError(t, err)
	require.Equal(t, 30, sum.Archive.Segments)
	require.Equal(t, 30, sum.Stock.Segments)
	require.Len(t, sum.Archive.Files, 90, "source and two renditions of 30 segments")
	require.Positive(t, sum.ArchivedBytes)
	require.InDelta(t, 60, sum.PlayedSeconds, 2)
	require.Len(t, sum.Archive.Mirror.Status().Archived, 30)
	t.Logf("archived %d bytes in %s: %s", sum.ArchivedBytes, sum.Elapsed, sum.URL)
}
