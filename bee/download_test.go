package bee_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
)

// TestGetFetchesACutBodyAgain: a download whose body ends before its
// Content-Length (the node closed the connection mid-way) is fetched
// again; one cut on every attempt fails with the cause.
func TestGetFetchesACutBodyAgain(t *testing.T) {
	const body = "0123456789abcdef"
	tests := []struct {
		name     string
		cuts     int64 // first requests answered with half the body
		wantErr  bool
		requests int64
	}{
		{"one cut, then whole", 1, false, 2},
		{"cut every time", 100, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "video/mp2t")
				w.Header().Set("Content-Length", "16")
				if n.Add(1) <= tt.cuts {
					_, _ = w.Write([]byte(body[:8]))
					w.(http.Flusher).Flush()
					conn, _, err := http.NewResponseController(w).Hijack()
					if err == nil {
						_ = conn.Close()
					}
					return
				}
				_, _ = w.Write([]byte(body))
			}))
			defer srv.Close()
			c, err := bee.New(srv.URL, bee.WithRetry(bee.Retry{Attempts: 3, Initial: 10 * time.Millisecond, Max: 10 * time.Millisecond}))
			require.NoError(t, err)
			got, err := c.Get(context.Background(), "/bzz/x/0.ts", 1<<10)
			require.Equal(t, tt.requests, n.Load())
			if tt.wantErr {
				require.ErrorContains(t, err, "unexpected EOF")
				return
			}
			require.NoError(t, err)
			require.Equal(t, body, string(got.Data))
			require.Equal(t, "video/mp2t", got.ContentType)
		})
	}
}
