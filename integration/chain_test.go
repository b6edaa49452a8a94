package integration_test

import (
	"encoding/hex"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/internal/chaintest"
	"github.com/lpswarm/archiver/internal/hlstest"
)

// TestClientStampedImportOnALocalSwarm: on a real local Swarm (geth dev
// chain, storage-incentives contracts, two linked Bee full nodes), the
// operator's own key buys a batch on chain, archiver-node imports a stream
// stamping every chunk client-side with that key through node A, and every
// segment reads back byte-identical from node B.
func TestClientStampedImportOnALocalSwarm(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	net, err := chaintest.Start(ctx, chaintest.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = net.Close() })

	keyFile, passFile := writeKey(t)
	blob, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	key, err := keystore.DecryptKey(blob, "secret")
	require.NoError(t, err)
	id, err := net.BuyBatch(ctx, key.PrivateKey, 20, big.NewInt(1_000_000_000), true)
	require.NoError(t, err)
	owner, err := net.BatchOwner(ctx, id)
	require.NoError(t, err)
	require.Equal(t, key.Address, owner, "the batch belongs to the operator's key on chain")

	dir := generate(t, hlstest.Options{Seconds: 6})
	nodeA, nodeB := net.Nodes()[0], net.Nodes()[1]
	stdout, stderr, err := runCLI(t, ctx, "import", "--bee", nodeA, "--stamping", "client", "--batch", hex.EncodeToString(id[:]),
		"--key", keyFile, "--password-file", passFile, "--issuer-state", t.TempDir(), "--redundancy", "0",
		"--wait-synced", "2m", dir)
	require.NoError(t, err, stderr)
	ref := parseRef(t, stdout)

	b, err := bee.New(nodeB)
	require.NoError(t, err)
	for _, r := range []string{"audio", "hi", "lo"} {
		src := readSource(t, filepath.Join(dir, r, "index.m3u8"))
		for i := range src.segments {
			got, err := b.Get(ctx, "/bzz/"+ref.String()+"/"+r+"/"+itoa(i)+".ts", 16<<20)
			require.NoError(t, err, "%s/%d from node B", r, i)
			require.Equal(t, src.segments[i], got.Data, "%s/%d", r, i)
			require.Equal(t, archive.ContentType(".ts"), got.ContentType)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
