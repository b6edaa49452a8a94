package upload_test

import (
	"testing"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/upload"
)

// TestUploadKnown: a file whose reference and chunks were computed from the
// same bytes elsewhere (the orchestrator) is stored without a split here:
// the receipt is the known reference and chunk count, and the bytes read
// back are the bytes sent. A known reference that is not what Bee stored
// fails the upload, as an offline mismatch does; with SkipVerify nothing
// is compared.
func TestUploadKnown(t *testing.T) {
	ctx := testContext(t)
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	for _, level := range []redundancy.Level{redundancy.NONE, redundancy.MEDIUM} {
		up := upload.NodeStamped(dev.Client, batch, upload.Config{Redundancy: level})
		data := randomBytes(byte(60+level), 300_000)
		root, chunks, err := chunker.Addresses(ctx, data, level)
		require.NoError(t, err)

		rec, err := up.UploadKnown(ctx, data, upload.Known{Reference: root, Chunks: chunks})
		require.NoError(t, err)
		require.Equal(t, root, rec.Reference, "level %d", level)
		require.Equal(t, len(chunks), rec.Chunks)
		got, err := dev.Client.DownloadBytes(ctx, root, int64(len(data)))
		require.NoError(t, err)
		require.Equal(t, data, got, "level %d", level)

		wrong := upload.Known{Reference: swarm.NewAddress(make([]byte, swarm.HashSize)), Chunks: chunks}
		wrong.Reference.Bytes()[0] = 1
		_, err = up.UploadKnown(ctx, data, wrong)
		require.ErrorIs(t, err, upload.ErrReferenceMismatch, "level %d", level)

		trusting := upload.NodeStamped(dev.Client, batch, upload.Config{Redundancy: level, SkipVerify: true})
		rec, err = trusting.UploadKnown(ctx, data, wrong)
		require.NoError(t, err)
		require.Equal(t, root, rec.Reference, "Bee's answer, with nothing compared")
	}
}
