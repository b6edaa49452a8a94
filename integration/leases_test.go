package integration_test

import (
	"bytes"
	"fmt"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethersphere/bee/v2/pkg/file"
	"github.com/ethersphere/bee/v2/pkg/file/joiner"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/beetest"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
)

// TestLeasedClientStampingNeverReusesAnIndex: two worker processes stamp
// client-side with the operator's one key on one shared batch, each within
// the counter range the orchestrator leased it. Every stamp passes Bee's
// validation, no batch index is ever used for two chunks, both ranges are
// used, and every segment reads back byte-identical.
func TestLeasedClientStampingNeverReusesAnIndex(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	jobs := streamJobs(t)
	keyFile, passFile := writeKey(t)
	blob, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	key, err := keystore.DecryptKey(blob, "secret")
	require.NoError(t, err)

	batchID := [32]byte{0xba, 0x7c}
	node, nodeURL := newStampNodeServer(t, &beepostage.Batch{ID: batchID[:], Value: big.NewInt(1), Owner: key.Address.Bytes(),
		Depth: 24, BucketDepth: 16, Immutable: true})

	o := startOrch(t, ctx, func(c *host.Config) {
		c.Service.Leases = &dispatch.LeaseConfig{Batch: batchID, BucketCapacity: 256, Slot: 128, Path: filepath.Join(t.TempDir(), "leases.json")}
	})
	require.NoError(t, o.Submit(ctx, jobs...))

	for range 2 {
		startNode(t, ctx, o, rig.NodeConfig{Bee: nodeURL, Capacity: 2,
			Args: []string{"-stamping", "client", "-ethKeystorePath", keyFile, "-ethPassword", passFile}})
	}
	manifests := finish(t, ctx, o, jobs)
	require.Len(t, manifests, 3)

	require.Positive(t, node.Stamps())
	require.Zero(t, node.Reused(), "a batch index was used for two chunks")
	low, high := 0, 0
	for counter := range node.Counters() {
		require.Less(t, counter, uint32(256))
		if counter < 128 {
			low++
		} else {
			high++
		}
	}
	require.Positive(t, low, "the first lease was never used")
	require.Positive(t, high, "the second lease was never used")

	for _, j := range jobs {
		recs, err := o.Host().StreamRecords(catalog.StreamID{ManifestID: string(j.ManifestID), Sender: j.Sender})
		require.NoError(t, err)
		for _, r := range recs {
			if r.Seq != uint64(j.Seq) || r.Rendition != "source" {
				continue
			}
			jr, size, err := joiner.New(ctx, node, nil, r.Reference, redundancy.NONE)
			require.NoError(t, err)
			require.Equal(t, int64(len(j.Source)), size)
			var got bytes.Buffer
			_, err = file.JoinReadAll(ctx, jr, &got)
			require.NoError(t, err)
			require.Equal(t, j.Source, got.Bytes(), fmt.Sprintf("%s/%d", j.ManifestID, j.Seq))
		}
	}
}

// newStampNodeServer serves a beetest.StampNode on loopback.
func newStampNodeServer(t *testing.T, b *beepostage.Batch) (*beetest.StampNode, string) {
	t.Helper()
	n := beetest.NewStampNode(b)
	srv := httptest.NewServer(n)
	t.Cleanup(srv.Close)
	return n, srv.URL
}
