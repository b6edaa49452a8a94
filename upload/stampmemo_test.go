package upload_test

import (
	"bytes"
	"context"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/file"
	"github.com/ethersphere/bee/v2/pkg/file/joiner"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/internal/beetest"
	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/upload"
)

// countingStamper counts the distinct addresses it was asked to stamp.
type countingStamper struct {
	inner upload.Stamper
	mu    sync.Mutex
	seen  map[string]int
}

func (c *countingStamper) Stamp(ctx context.Context, addrs []swarm.Address) ([]*beepostage.Stamp, error) {
	c.mu.Lock()
	for _, a := range addrs {
		c.seen[a.ByteString()]++
	}
	c.mu.Unlock()
	return c.inner.Stamp(ctx, addrs)
}

// stamped is how many times any one address was stamped at most, and
// how many addresses were stamped.
func (c *countingStamper) stamped() (most, addresses int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.seen {
		most = max(most, n)
	}
	return most, len(c.seen)
}

// TestChunkKeepsItsStamp: an upload that failed because Bee was
// unreachable, retried, then repeated (as a republish repeats unchanged
// playlists), and a file sharing chunks with it: every chunk is stamped
// once, so no index is spent twice on one chunk and no bucket fills up with
// copies; Bee accepts the reused stamps and the files read back intact.
func TestChunkKeepsItsStamp(t *testing.T) {
	ctx := testContext(t)
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	batch := postage.Batch{ID: [32]byte{4, 5, 6}, Owner: crypto.PubkeyToAddress(key.PublicKey),
		Depth: 20, BucketDepth: 16, Immutable: true, Amount: big.NewInt(1)}
	issuer, err := postage.OpenIssuer(t.TempDir(), key, []postage.Batch{batch})
	require.NoError(t, err)
	t.Cleanup(func() { _ = issuer.Close() })
	node := beetest.NewStampNode(&beepostage.Batch{ID: batch.ID[:], Value: big.NewInt(1), Owner: batch.Owner.Bytes(),
		Depth: batch.Depth, BucketDepth: batch.BucketDepth, Immutable: batch.Immutable})
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() && r.URL.Path == "/chunks" {
			// As a Bee that is going away: the connection drops unanswered.
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.Close()
			return
		}
		node.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	client, err := bee.New(srv.URL, bee.WithRetry(bee.Retry{Attempts: 1}))
	require.NoError(t, err)
	stamper := &countingStamper{inner: issuer, seen: map[string]int{}}
	up := upload.ClientStamped(client, stamper, upload.Config{Redundancy: redundancy.MEDIUM})

	data := randomBytes(60, 300_000)
	down.Store(true)
	_, err = up.Upload(ctx, data)
	require.ErrorIs(t, err, bee.ErrUnreachable)
	down.Store(false)
	for range 2 {
		_, err = up.Upload(ctx, data)
		require.NoError(t, err)
	}
	more := append(bytes.Clone(data), randomBytes(61, 50_000)...)
	_, err = up.Upload(ctx, more)
	require.NoError(t, err)

	f1, err := chunker.Split(ctx, data, redundancy.MEDIUM)
	require.NoError(t, err)
	f2, err := chunker.Split(ctx, more, redundancy.MEDIUM)
	require.NoError(t, err)
	distinct := map[string]bool{}
	for _, a := range append(f1.Addresses(), f2.Addresses()...) {
		distinct[a.ByteString()] = true
	}
	require.Less(t, len(distinct), len(f1.Chunks)+len(f2.Chunks), "the two files share no chunk: the test proves nothing")
	most, addresses := stamper.stamped()
	require.Equal(t, 1, most, "a chunk was stamped more than once")
	require.Equal(t, len(distinct), addresses)
	require.Zero(t, node.Reused(), "a batch index was used for two different chunks")

	for _, want := range [][]byte{data, more} {
		f, err := chunker.Split(ctx, want, redundancy.MEDIUM)
		require.NoError(t, err)
		j, _, err := joiner.New(ctx, node, nil, f.Root, redundancy.MEDIUM)
		require.NoError(t, err)
		var got bytes.Buffer
		_, err = file.JoinReadAll(ctx, j, &got)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got.Bytes()))
	}
}
