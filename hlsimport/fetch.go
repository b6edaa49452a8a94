package hlsimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrTooLarge: a playlist or segment exceeds the configured limit.
	ErrTooLarge = errors.New("too large")
	// ErrForbiddenURI: a playlist points outside what the import may read
	// (a local file outside the imported folder, or a local file from a
	// remote playlist).
	ErrForbiddenURI = errors.New("URI not allowed")
	// ErrFetch: the source did not deliver a file.
	ErrFetch = errors.New("fetch failed")
)

// fetcher reads playlists and segments from local files or HTTP(S), with
// retries for transient failures.
type fetcher struct {
	http     *http.Client
	root     string // local imports: files must stay below this folder
	attempts int
	backoff  time.Duration
}

// resolve turns a playlist URI into an absolute URL and checks it may be read.
func (f *fetcher) resolve(base *url.URL, ref string) (*url.URL, error) {
	r, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return nil, fmt.Errorf("hlsimport: bad URI %q: %w", ref, err)
	}
	u := base.ResolveReference(r)
	switch u.Scheme {
	case "http", "https":
		return u, nil
	case "file":
		if base.Scheme != "file" {
			return nil, fmt.Errorf("hlsimport: %q: %w: local file named by a remote playlist", ref, ErrForbiddenURI)
		}
		p := filepath.Clean(u.Path)
		if p != f.root && !strings.HasPrefix(p, f.root+string(filepath.Separator)) {
			return nil, fmt.Errorf("hlsimport: %q: %w: outside %s", ref, ErrForbiddenURI, f.root)
		}
		return u, nil
	}
	return nil, fmt.Errorf("hlsimport: %q: %w: scheme %q", ref, ErrForbiddenURI, u.Scheme)
}

// fetch reads u completely, at most limit bytes, retrying transient errors.
func (f *fetcher) fetch(ctx context.Context, u *url.URL, limit int64) ([]byte, error) {
	backoff := f.backoff
	var last error
	for attempt := 1; attempt <= max(f.attempts, 1); attempt++ {
		data, err := f.once(ctx, u, limit)
		if err == nil || errors.Is(err, ErrTooLarge) || ctx.Err() != nil {
			return data, err
		}
		last = err
		if attempt < f.attempts {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(backoff):
			}
			backoff *= 2
		}
	}
	return nil, last
}

func (f *fetcher) once(ctx context.Context, u *url.URL, limit int64) ([]byte, error) {
	var body io.ReadCloser
	if u.Scheme == "file" {
		file, err := os.Open(filepath.Clean(u.Path))
		if err != nil {
			return nil, fmt.Errorf("hlsimport: %w: %w", ErrFetch, err)
		}
		body = file
	} else {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("hlsimport: %w: %w", ErrFetch, err)
		}
		resp, err := f.http.Do(req)
		if err != nil {
			return nil, fmt.Errorf("hlsimport: %w: %w", ErrFetch, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("hlsimport: %w: GET %s: %s", ErrFetch, redact(u), resp.Status)
		}
		body = resp.Body
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("hlsimport: %w: read %s: %w", ErrFetch, redact(u), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("hlsimport: %s: %w (limit %d bytes)", redact(u), ErrTooLarge, limit)
	}
	return data, nil
}

// redact drops query strings (often access tokens) from logged URLs.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery, c.User = "", nil
	return c.String()
}
