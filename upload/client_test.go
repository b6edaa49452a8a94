package upload_test

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/file"
	"github.com/ethersphere/bee/v2/pkg/file/joiner"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/internal/beetest"
	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/upload"
)

// TestClientStampedUploadPassesBeeValidation uploads files with the
// operator's own stamps: every chunk (data, intermediate, parity, root
// replicas) carries a stamp Bee's validation accepts, no batch index is used
// twice, and Bee's joiner rebuilds the exact bytes from the stored chunks.
func TestClientStampedUploadPassesBeeValidation(t *testing.T) {
	ctx := testContext(t)
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	batch := postage.Batch{
		ID: [32]byte{1, 2, 3}, Owner: crypto.PubkeyToAddress(key.PublicKey),
		Depth: 20, BucketDepth: 16, Immutable: true, Amount: big.NewInt(1),
	}
	issuer, err := postage.OpenIssuer(t.TempDir(), key, []postage.Batch{batch})
	require.NoError(t, err)
	t.Cleanup(func() { _ = issuer.Close() })

	endpoint := beetest.NewStampNode(&beepostage.Batch{
		ID: batch.ID[:], Value: big.NewInt(1), Owner: batch.Owner.Bytes(),
		Depth: batch.Depth, BucketDepth: batch.BucketDepth, Immutable: batch.Immutable,
	})
	srv := httptest.NewServer(endpoint)
	t.Cleanup(srv.Close)
	client, err := bee.New(srv.URL)
	require.NoError(t, err)

	for _, level := range []redundancy.Level{redundancy.NONE, redundancy.MEDIUM} {
		up := upload.ClientStamped(client, issuer, upload.Config{Redundancy: level})
		for i, n := range []int{10, 4096, 300_000} {
			data := randomBytes(byte(40+i), n)
			rec, err := up.Upload(ctx, data)
			require.NoError(t, err, "level %d size %d", level, n)
			require.Equal(t, []string{hex.EncodeToString(batch.ID[:])}, rec.Batches)

			j, size, err := joiner.New(ctx, endpoint, nil, rec.Reference, level)
			require.NoError(t, err)
			require.Equal(t, int64(n), size)
			var got bytes.Buffer
			_, err = file.JoinReadAll(ctx, j, &got)
			require.NoError(t, err)
			require.Equal(t, data, got.Bytes(), "level %d size %d", level, n)
		}
	}
	require.Zero(t, endpoint.Reused(), "a batch index was used for two different chunks")
}

// TestClientStampedRefusedByDevNode: a dev node accepts only stamps signed
// by its own key, so an outside key's upload fails with Bee's refusal.
func TestClientStampedRefusedByDevNode(t *testing.T) {
	ctx := testContext(t)
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	batch := postage.Batch{ID: [32]byte{9}, Owner: crypto.PubkeyToAddress(key.PublicKey), Depth: 20, BucketDepth: 16, Immutable: true}
	issuer, err := postage.OpenIssuer(t.TempDir(), key, []postage.Batch{batch})
	require.NoError(t, err)
	t.Cleanup(func() { _ = issuer.Close() })

	_, err = upload.ClientStamped(dev.Client, issuer, upload.Config{}).Upload(ctx, []byte("refused"))
	var apiErr *bee.APIError
	require.ErrorAs(t, err, &apiErr)
	require.True(t, strings.Contains(apiErr.Message, "batch") || strings.Contains(apiErr.Message, "stamp"), apiErr.Message)
}
