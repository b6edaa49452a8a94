package upload_test

import (
	"context"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/internal/beetest"
	"github.com/lpswarm/archiver/upload"
)

var dev *beetest.Dev

func TestMain(m *testing.M) { os.Exit(beetest.Main(m, &dev)) }

func randomBytes(seed byte, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestNodeStampedReferenceEqualsOffline checks, against a real Bee, that the
// reference Bee returns equals the one computed offline and that the bytes
// read back are the bytes sent, for several sizes and redundancy levels.
func TestNodeStampedReferenceEqualsOffline(t *testing.T) {
	ctx := testContext(t)
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	sizes := []int{1, 4096, 4097, 10_000, 300_000, 1_500_000}
	for _, level := range []redundancy.Level{redundancy.NONE, redundancy.MEDIUM, redundancy.PARANOID} {
		up := upload.NodeStamped(dev.Client, batch, upload.Config{Redundancy: level})
		for i, n := range sizes {
			data := randomBytes(byte(i), n)
			offline, err := chunker.Reference(ctx, data, level)
			require.NoError(t, err)

			rec, err := up.Upload(ctx, data)
			require.NoError(t, err, "level %d size %d", level, n)
			require.Equal(t, offline, rec.Reference, "level %d size %d", level, n)
			require.Equal(t, int64(n), rec.Bytes)

			got, err := dev.Client.DownloadBytes(ctx, rec.Reference, int64(n))
			require.NoError(t, err)
			require.Equal(t, data, got, "level %d size %d", level, n)
		}
	}
}

// TestNodeStampedRedundancyChangesReference: the level is part of the
// reference, so sending it explicitly matters.
func TestNodeStampedRedundancyChangesReference(t *testing.T) {
	ctx := testContext(t)
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	data := randomBytes(9, 50_000)
	none, err := upload.NodeStamped(dev.Client, batch, upload.Config{Redundancy: redundancy.NONE}).Upload(ctx, data)
	require.NoError(t, err)
	medium, err := upload.NodeStamped(dev.Client, batch, upload.Config{Redundancy: redundancy.MEDIUM}).Upload(ctx, data)
	require.NoError(t, err)
	require.NotEqual(t, none.Reference, medium.Reference)
	require.Greater(t, medium.Chunks, none.Chunks)
}

func TestNodeStampedUnknownBatch(t *testing.T) {
	ctx := testContext(t)
	up := upload.NodeStamped(dev.Client, strings.Repeat("ab", 32), upload.Config{})
	_, err := up.Upload(ctx, []byte("data"))
	require.ErrorIs(t, err, bee.ErrBatchUnusable)
}

// BenchmarkNodeStampedUpload measures archiving throughput of 1 MiB
// segments into a real dev node, offline reference check included.
func BenchmarkNodeStampedUpload(b *testing.B) {
	ctx := context.Background()
	batch, err := dev.BuyBatch(ctx, 24)
	if err != nil {
		b.Fatal(err)
	}
	for _, level := range []redundancy.Level{redundancy.NONE, redundancy.MEDIUM} {
		b.Run(map[redundancy.Level]string{0: "none", 1: "medium"}[level], func(b *testing.B) {
			up := upload.NodeStamped(dev.Client, batch, upload.Config{Redundancy: level})
			b.SetBytes(1 << 20)
			i := 0
			for b.Loop() {
				i++
				data := randomBytes(byte(i), 1<<20) // distinct segments: no deduplication
				if _, err := up.Upload(ctx, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
