package bee_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
)

// TestStallTimeout: a Bee that accepts a request and then makes no
// progress ends the request with ErrNotAnswering after the stall timeout,
// without retries; a slow answer that keeps moving is not cut.
func TestStallTimeout(t *testing.T) {
	const stall = 300 * time.Millisecond
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request)
		wantErr bool
	}{
		{"accepts the upload and never answers", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		}, true},
		{"answers half and stops", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Length", "200")
			_, _ = w.Write([]byte(`{"reference":"`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, true},
		{"answers slowly but keeps moving", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			for _, part := range []string{`{"reference":"`, ref, `"}`} {
				time.Sleep(stall / 2)
				_, _ = w.Write([]byte(part))
				w.(http.Flusher).Flush()
			}
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tc.handler(w, r)
			}))
			t.Cleanup(srv.Close)
			c, err := bee.New(srv.URL, fastRetry, bee.WithStallTimeout(stall))
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			began := time.Now()
			_, err = c.UploadBytes(ctx, []byte("segment"), bee.UploadOptions{BatchID: "ab"})
			elapsed := time.Since(began)
			if !tc.wantErr {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, bee.ErrNotAnswering)
			require.ErrorContains(t, err, "Bee is not answering")
			require.EqualValues(t, 1, calls.Load(), "a hung Bee is not retried")
			require.Less(t, elapsed, 3*time.Second)
			t.Logf("ended after %s", elapsed.Round(time.Millisecond))
		})
	}
}
