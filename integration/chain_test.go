package integration_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/internal/chaintest"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/internal/hlstest"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/postage"
)

// TestClientStampedImportOnALocalSwarm: on a real local Swarm (geth dev
// chain, storage-incentives contracts, two linked Bee full nodes), the
// operator's own key buys a batch on chain, archiver-node imports a stream
// stamping every chunk client-side with that key through node A, and every
// segment reads back byte-identical from node B.
func TestClientStampedImportOnALocalSwarm(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	net, key, keyFile, passFile, id := localSwarm(t, ctx, 20)
	owner, err := net.BatchOwner(ctx, id)
	require.NoError(t, err)
	require.Equal(t, key.Address, owner, "the batch belongs to the operator's key on chain")

	dir := generate(t, hlstest.Options{Seconds: 6})
	nodeA, nodeB := net.Nodes()[0], net.Nodes()[1]
	stdout, stderr, err := runCLI(t, ctx, "import", "-bee", nodeA, "-stamping", "client", "-postageBatch", hex.EncodeToString(id[:]),
		"-ethKeystorePath", keyFile, "-ethPassword", passFile, "-issuerState", t.TempDir(), "-redundancy", "0",
		"-waitSynced", "2m", dir)
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

// TestLeasedWorkersOnALocalSwarm: two worker processes stamp client-side
// with the operator's one key on one batch bought on chain, each inside the
// counter range the orchestrator leased it, through real Bee full nodes.
// Every segment of every stream is in its final manifest and reads back
// byte-identical from the other node: had two stamps shared an index, Bee
// would have replaced one chunk with the other.
func TestLeasedWorkersOnALocalSwarm(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	net, _, keyFile, passFile, id := localSwarm(t, ctx, 20)

	jobs := streamJobs(t)
	o := startOrch(t, ctx, func(c *host.Config) {
		c.Service.Leases = &dispatch.LeaseConfig{Batch: id, BucketCapacity: 16, Slot: 8, Path: filepath.Join(t.TempDir(), "leases.json")}
	})
	require.NoError(t, o.Submit(ctx, jobs...))
	nodeA, nodeB := net.Nodes()[0], net.Nodes()[1]
	var datadirs []string
	for _, node := range []string{nodeA, nodeB} {
		n := startNode(t, ctx, o, rig.NodeConfig{Bee: node, Capacity: 2,
			Args: []string{"-stamping", "client", "-ethKeystorePath", keyFile, "-ethPassword", passFile}})
		datadirs = append(datadirs, n.DataDir())
	}
	manifests := finish(t, ctx, o, jobs)
	// Both workers stamped on the one batch, each in its own leased range.
	for i, d := range datadirs {
		u, err := postage.ReadUsage(filepath.Join(d, "issuer"), id)
		require.NoError(t, err, "worker %d", i)
		require.Positive(t, u.Issued, "worker %d stamped nothing: the test would prove nothing", i)
	}

	// Read everything back through node B, whichever node stored it.
	b, err := bee.New(nodeB)
	require.NoError(t, err)
	for _, j := range jobs {
		ref := manifests[string(j.ManifestID)]
		for fi, name := range []string{"source", "lo", "audio"} {
			want := [][]byte{j.Source, j.Renditions[0].Data, j.Renditions[1].Data}[fi]
			require.Eventually(t, func() bool {
				got, err := b.Get(ctx, "/bzz/"+ref.String()+"/"+name+"/"+itoa(int(j.Seq))+".ts", 16<<20)
				return err == nil && bytes.Equal(want, got.Data)
			}, time.Minute, 500*time.Millisecond, "%s/%s/%d from node B", j.ManifestID, name, j.Seq)
		}
	}
}

// TestFullImmutableBatchRefusesAndKeepsData: a depth-17 immutable batch
// holds two chunks per bucket. Importing more than it can hold fails with a
// clear "bucket full" error, and what was archived before still reads back
// unchanged from the other node: nothing was overwritten.
func TestFullImmutableBatchRefusesAndKeepsData(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	net, _, keyFile, passFile, id := localSwarm(t, ctx, 17)

	// A small segment, then one of 30 MB: ~7,300 chunks over 65,536
	// buckets of 2 cannot avoid a third chunk in some bucket.
	dir := t.TempDir()
	small, big := randomBytes(t, 100_000), randomBytes(t, 30<<20)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "small.ts"), small, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.ts"), big, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.m3u8"),
		[]byte("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nsmall.ts\n#EXTINF:2.0,\nbig.ts\n#EXT-X-ENDLIST\n"), 0o644))
	nodeA, nodeB := net.Nodes()[0], net.Nodes()[1]
	_, stderr, err := runCLI(t, ctx, "import", "-bee", nodeA, "-stamping", "client", "-postageBatch", hex.EncodeToString(id[:]),
		"-ethKeystorePath", keyFile, "-ethPassword", passFile, "-issuerState", t.TempDir(), "-redundancy", "0", dir)
	require.Error(t, err)
	require.Contains(t, stderr, "bucket full")

	// The segment archived before the batch filled is intact on the
	// network: nothing was overwritten.
	b, err := bee.New(nodeB)
	require.NoError(t, err)
	ref, err := chunker.Reference(ctx, small, redundancy.NONE)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := b.DownloadBytes(ctx, ref, 1<<20)
		return err == nil && bytes.Equal(small, got)
	}, time.Minute, 500*time.Millisecond, "the first segment does not read back from node B")
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// localSwarm starts a local Swarm and has a fresh operator key (also
// written as a keystore file) buy an immutable batch of the given depth.
func localSwarm(t *testing.T, ctx context.Context, depth uint8) (*chaintest.Net, *keystore.Key, string, string, [32]byte) {
	t.Helper()
	net, err := chaintest.Start(ctx, chaintest.Options{Logger: warnings()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = net.Close() })
	keyFile, passFile := writeKey(t)
	blob, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	key, err := keystore.DecryptKey(blob, "secret")
	require.NoError(t, err)
	id, err := net.BuyBatch(ctx, key.PrivateKey, depth, big.NewInt(1_000_000_000), true)
	require.NoError(t, err)
	return net, key, keyFile, passFile, id
}
