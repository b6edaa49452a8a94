package bee_test

import (
	"bytes"
	"context"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
)

// feedServer answers GET /feeds with status, message and index header.
func feedServer(t *testing.T, status int, message, index string) *bee.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "true", r.Header.Get(bee.HeaderOnlyRootChunk))
		if index != "" {
			w.Header().Set(bee.HeaderFeedIndex, index)
		}
		w.WriteHeader(status)
		if status != http.StatusOK {
			_, _ = w.Write([]byte(`{"code":404,"message":"` + message + `"}`))
			return
		}
		_, _ = w.Write([]byte("root chunk"))
	}))
	t.Cleanup(srv.Close)
	c, err := bee.New(srv.URL, fastRetry)
	require.NoError(t, err)
	return c
}

// TestFeedLatestTellsEmptyFromUnreadable: Bee's answers for a lookup that
// found no update are ErrNoFeedUpdate ("lookup at failed" is what a real
// two-node network answers, see integration/feed_test.go); a feed whose
// update exists but cannot be resolved is another error, so an updater
// does not restart a feed at 0 over it.
func TestFeedLatestTellsEmptyFromUnreadable(t *testing.T) {
	ctx := context.Background()
	owner, topic := bytes.Repeat([]byte{1}, 20), bytes.Repeat([]byte{2}, 32)

	for _, msg := range []string{"no update found", "lookup at failed"} {
		_, err := feedServer(t, http.StatusNotFound, msg, "").FeedLatest(ctx, owner, topic)
		require.ErrorIs(t, err, bee.ErrNoFeedUpdate, msg)
		require.ErrorIs(t, err, bee.ErrNotFound, msg)
	}

	_, err := feedServer(t, http.StatusNotFound, "wrapped chunk cannot be retrieved", "").FeedLatest(ctx, owner, topic)
	require.ErrorIs(t, err, bee.ErrNotFound)
	require.NotErrorIs(t, err, bee.ErrNoFeedUpdate)

	got, err := feedServer(t, http.StatusOK, "", "0000000000000005").FeedLatest(ctx, owner, topic)
	require.NoError(t, err)
	require.Equal(t, uint64(5), got.Index)
	require.Equal(t, []byte("root chunk"), got.Root)

	_, err = feedServer(t, http.StatusOK, "", "05").FeedLatest(ctx, owner, topic)
	require.ErrorContains(t, err, "bad Swarm-Feed-Index")
}

// Against the real dev node: a feed nobody wrote has no update, and dev
// mode refuses single-owner chunks (feeds need a real network; see
// integration/feed_test.go).
func TestFeedsOnTheDevNode(t *testing.T) {
	ctx := context.Background()
	_, err := dev.Client.FeedLatest(ctx, bytes.Repeat([]byte{3}, 20), bytes.Repeat([]byte{4}, 32))
	require.ErrorIs(t, err, bee.ErrNoFeedUpdate)

	id, err := dev.Client.BuyBatch(ctx, big.NewInt(1_000_000_000), 20, "", true)
	require.NoError(t, err)
	_, err = dev.Client.UploadSOC(ctx, bytes.Repeat([]byte{3}, 20), bytes.Repeat([]byte{5}, 32), make([]byte, 65),
		append(make([]byte, 8), "payload"...), bee.SOCOptions{BatchID: id})
	var apiErr *bee.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotImplemented, apiErr.Status, apiErr.Message)

	_, err = dev.Client.UploadSOC(ctx, nil, nil, nil, nil, bee.SOCOptions{})
	require.ErrorIs(t, err, bee.ErrBatchUnusable)
}
