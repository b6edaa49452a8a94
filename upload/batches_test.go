package upload_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/upload"
)

// overissuedProxy stands in front of the dev Bee and answers Bee's own 402
// "batch is overissued" for uploads stamped with a batch in full: a dev
// node's batches have bucket depth 0 and never fill, so the
// fault cannot be caused there; the local-Swarm test causes it for real
// (integration/batchfull_test.go).
func overissuedProxy(t *testing.T, full map[string]bool) string {
	t.Helper()
	target, err := url.Parse(dev.URL)
	require.NoError(t, err)
	next := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && full[strings.ToLower(r.Header.Get(bee.HeaderBatchID))] {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusPaymentRequired)
			_, _ = w.Write([]byte(`{"code":402,"message":"batch is overissued"}`))
			return
		}
		next.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestNodeStampedNextBatchWhenFull: with node-side stamping on several
// batches, a file Bee refuses as overissued on the first is stored with
// the next (and reads back), the full batch is remembered and not tried
// again, and with every batch full the upload fails with ErrNoPostage,
// which still matches bee.ErrOverissued.
func TestNodeStampedNextBatchWhenFull(t *testing.T) {
	ctx := testContext(t)
	first, err := dev.BuyBatch(ctx, 20)
	require.NoError(t, err)
	second, err := dev.BuyBatch(ctx, 20)
	require.NoError(t, err)
	full := map[string]bool{first: true}
	c, err := bee.New(overissuedProxy(t, full))
	require.NoError(t, err)
	up := upload.NodeStampedBatches(c, []string{first, second}, upload.Config{Redundancy: redundancy.NONE})

	for i := range 2 {
		data := randomBytes(byte(40+i), 10_000)
		rec, err := up.Upload(ctx, data)
		require.NoError(t, err)
		require.Equal(t, []string{second}, rec.Batches)
		got, err := dev.Client.DownloadBytes(ctx, rec.Reference, int64(len(data)))
		require.NoError(t, err)
		require.Equal(t, data, got)
	}
	require.Equal(t, []string{first}, up.Full())

	full[second] = true
	_, err = up.Upload(ctx, randomBytes(42, 10_000))
	require.ErrorIs(t, err, upload.ErrNoPostage)
	require.ErrorIs(t, err, bee.ErrOverissued)
	require.Equal(t, []string{first, second}, up.Full())

	// Bee (behind the proxy) says both have room: Recheck forgets them.
	usable, err := up.Recheck(ctx)
	require.NoError(t, err)
	require.True(t, usable)
	require.Empty(t, up.Full())
}
