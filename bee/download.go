package bee

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"

	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// ErrTooLarge: a download exceeded the caller's limit.
var ErrTooLarge = fmt.Errorf("content too large")

// Content is a downloaded body with its content type.
type Content struct {
	Data        []byte
	ContentType string
}

// Get downloads an API path such as "/bytes/<ref>" or "/bzz/<ref>/a/b.ts",
// reading at most limit bytes. A body cut off mid-way (Bee or the
// connection closed it) counts as a failed attempt and is fetched again,
// as a refused connection is: a download changes nothing, and a node under
// load does cut some.
func (c *Client) Get(ctx context.Context, path string, limit int64) (Content, error) {
	var content Content
	_, err := c.attempts(ctx, func() error {
		resp, err := c.once(ctx, request{method: http.MethodGet, path: path})
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
				err = fmt.Errorf("%w: %w", errBodyCut, err)
			}
			return fmt.Errorf("bee: GET %s: read body: %w", path, err)
		}
		if int64(len(data)) > limit {
			return fmt.Errorf("bee: GET %s: %w (limit %d bytes)", path, ErrTooLarge, limit)
		}
		content = Content{Data: data, ContentType: resp.Header.Get("Content-Type")}
		return nil
	})
	return content, err
}

// errBodyCut marks a body that ended before its announced end.
var errBodyCut = errors.New("body cut off")

// DownloadBytes downloads the Swarm file at ref (/bytes).
func (c *Client) DownloadBytes(ctx context.Context, ref swarm.Address, limit int64) ([]byte, error) {
	content, err := c.Get(ctx, "/bytes/"+ref.String(), limit)
	return content.Data, err
}
