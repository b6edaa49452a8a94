package upload_test

import (
	"testing"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/upload"
)

// TestSkipVerifyStoresTheSameFile: without the offline check the receipt
// still carries the content's reference (Bee's answer), the bytes read
// back are the bytes sent, and identical files uploaded at once (which
// wait for each other on the content hash) both succeed.
func TestSkipVerifyStoresTheSameFile(t *testing.T) {
	ctx := testContext(t)
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	for _, level := range []redundancy.Level{redundancy.NONE, redundancy.MEDIUM} {
		up := upload.NodeStamped(dev.Client, batch, upload.Config{Redundancy: level, SkipVerify: true})
		data := randomBytes(byte(40+level), 300_000)
		want, err := chunker.Reference(ctx, data, level)
		require.NoError(t, err)

		var g errgroup.Group
		for range 2 {
			g.Go(func() error {
				rec, err := up.Upload(ctx, data)
				if err == nil {
					require.Equal(t, want, rec.Reference, "level %d", level)
					require.Equal(t, int64(len(data)), rec.Bytes)
					require.Zero(t, rec.Chunks, "no split, no chunk count")
				}
				return err
			})
		}
		require.NoError(t, g.Wait())
		got, err := dev.Client.DownloadBytes(ctx, want, int64(len(data)))
		require.NoError(t, err)
		require.Equal(t, data, got, "level %d", level)
	}
}
