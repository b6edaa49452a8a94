package bee_test

import (
	"context"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/internal/beetest"
)

var dev *beetest.Dev

func TestMain(m *testing.M) { os.Exit(beetest.Main(m, &dev)) }

const ref = "0e43974bb75f84751b1efd8ce309b831e3cddd210c0374b39ef62a3c65c1600a"

var fastRetry = bee.WithRetry(bee.Retry{Attempts: 4, Initial: time.Millisecond, Max: 2 * time.Millisecond})

// flaky answers with the given statuses in turn, then with success. A
// failing Bee is a fault the real node cannot be made to produce on cue.
func flaky(t *testing.T, statuses ...int) (*bee.Client, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		if n <= len(statuses) {
			w.WriteHeader(statuses[n-1])
			_, _ = w.Write([]byte(`{"code":503,"message":"busy"}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"reference":"` + ref + `"}`))
	}))
	t.Cleanup(srv.Close)
	c, err := bee.New(srv.URL, fastRetry)
	require.NoError(t, err)
	return c, &calls
}

func upload(c *bee.Client) error {
	_, err := c.UploadBytes(context.Background(), []byte("x"), bee.UploadOptions{BatchID: "ab"})
	return err
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int
		wantCalls int32
		wantErr   int // HTTP status of the final error, 0 for success
	}{
		{"transient failures are retried", []int{503, 502, 429}, 4, 0},
		{"gives up after the attempts", []int{503, 503, 503, 503, 503}, 4, 503},
		{"client errors are not retried", []int{400}, 1, 400},
		{"overissued batch is not retried", []int{402}, 1, 402},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, calls := flaky(t, tc.statuses...)
			err := upload(c)
			require.Equal(t, tc.wantCalls, calls.Load())
			if tc.wantErr == 0 {
				require.NoError(t, err)
				return
			}
			var apiErr *bee.APIError
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, tc.wantErr, apiErr.Status)
		})
	}
}

func TestErrorsMapToSentinels(t *testing.T) {
	c, _ := flaky(t, http.StatusPaymentRequired)
	require.ErrorIs(t, upload(c), bee.ErrOverissued)
	c, _ = flaky(t, http.StatusUnprocessableEntity)
	require.ErrorIs(t, upload(c), bee.ErrBatchUnusable)
}

func TestUnreachable(t *testing.T) {
	c, err := bee.New("http://127.0.0.1:1", fastRetry)
	require.NoError(t, err)
	_, err = c.Health(context.Background())
	require.ErrorIs(t, err, bee.ErrUnreachable)
}

func TestCancelStopsRetrying(t *testing.T) {
	c, err := bee.New("http://127.0.0.1:1", bee.WithRetry(bee.Retry{Attempts: 100, Initial: time.Second, Max: time.Second}))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Health(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 900*time.Millisecond, "backoff must not outlive the context")
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:1633", "ftp://x", "http://"} {
		_, err := bee.New(u)
		require.Error(t, err, u)
	}
}

// Against the real dev node.

func TestHealthAndBatches(t *testing.T) {
	ctx := context.Background()
	h, err := dev.Client.Health(ctx)
	require.NoError(t, err)
	require.Equal(t, "ok", h.Status)
	require.True(t, strings.HasPrefix(h.Version, "2.7.0"), h.Version)

	id, err := dev.Client.BuyBatch(ctx, big.NewInt(1_000_000_000), 20, "label", true)
	require.NoError(t, err)
	b, err := dev.Client.Batch(ctx, id)
	require.NoError(t, err)
	require.True(t, b.Usable)
	require.Equal(t, uint8(20), b.Depth)
	require.Equal(t, "1000000000", b.Amount.String())

	cb, err := dev.Client.ChainBatch(ctx, id)
	require.NoError(t, err)
	require.Equal(t, uint8(20), cb.Depth)
	require.Len(t, cb.Owner, 40)

	_, err = dev.Client.Batch(ctx, strings.Repeat("cd", 32))
	require.True(t, errors.Is(err, bee.ErrNotFound) || errors.Is(err, bee.ErrBatchUnusable), "%v", err)
	_, err = dev.Client.ChainBatch(ctx, strings.Repeat("cd", 32))
	require.ErrorIs(t, err, bee.ErrNotFound)
}

func TestTagCountsUpload(t *testing.T) {
	ctx := context.Background()
	id, err := dev.Client.BuyBatch(ctx, big.NewInt(1_000_000_000), 20, "", true)
	require.NoError(t, err)
	tag, err := dev.Client.CreateTag(ctx)
	require.NoError(t, err)
	res, err := dev.Client.UploadBytes(ctx, make([]byte, 3*4096), bee.UploadOptions{BatchID: id, Tag: tag.UID})
	require.NoError(t, err)
	require.Equal(t, tag.UID, res.Tag)
	got, err := dev.Client.Tag(ctx, tag.UID)
	require.NoError(t, err)
	require.Positive(t, got.Split)
}
