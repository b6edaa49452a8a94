package hlsimport

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lpswarm/archiver/internal/watchdog"
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrTooLarge: a playlist or segment exceeds the configured limit.
	ErrTooLarge = errors.New("too large")
	// ErrForbiddenURI: a playlist points outside what the import may read
	// (a local file outside the imported folder, directly or through a
	// symbolic link, a local file from a remote playlist, or an http(s)
	// origin neither the input's nor allowed by Config.AllowOrigins).
	ErrForbiddenURI = errors.New("URI not allowed")
	// ErrFetch: the source did not deliver a file.
	ErrFetch = errors.New("fetch failed")
	// ErrEmpty: the source delivered a 0-byte segment or init section:
	// nothing a player could play, so it becomes a gap.
	ErrEmpty = errors.New("empty file")
	// ErrSourceStalled: the source sent no byte for
	// Config.SourceStallTimeout in the middle of a file; wraps into ErrFetch.
	ErrSourceStalled = errors.New("source stalled")
	// ErrStopped: a graceful stop (Config.Stop) cut a read or upload in
	// flight; the segment is recorded as a gap.
	ErrStopped = errors.New("stop requested")
)

// fetcher reads playlists and segments from local files or HTTP(S), with
// retries for transient failures.
type fetcher struct {
	http *http.Client // redirects confined to origins
	// root is the imported folder, symlinks resolved; file URLs name paths
	// below it. dir, opened on it, is what files are read through: it
	// refuses any path, symlinks included, that leads outside.
	root     string
	dir      *os.Root
	origins  origins // http(s) origins that may be read
	attempts int
	backoff  time.Duration
	stall    time.Duration // Config.SourceStallTimeout
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
	r, err := f.read(ctx, u, limit, "")
	return r.data, err
}

// version identifies what a read returned, so that a later read can tell
// whether the file changed without keeping its bytes.
type version struct {
	digest [sha256.Size]byte
	etag   string    // http(s): the strong ETag, "" if the server sent none
	size   int64     // local file
	mtime  time.Time // local file
}

// local reports whether v is a local file's, with its size and time.
func (v version) local() bool { return !v.mtime.IsZero() }

// readResult is one read: the bytes and their version, or, for a
// conditional request (ifNoneMatch), that the server has them unchanged.
type readResult struct {
	data      []byte
	v         version
	unchanged bool
}

// read is fetch with the file's version, and with If-None-Match when
// ifNoneMatch is set.
func (f *fetcher) read(ctx context.Context, u *url.URL, limit int64, ifNoneMatch string) (readResult, error) {
	backoff := f.backoff
	var last error
	for attempt := 1; attempt <= max(f.attempts, 1); attempt++ {
		r, err := f.once(ctx, u, limit, ifNoneMatch)
		// A refusal or an oversized file is the same on every attempt.
		// A stalled source is not retried: a live rendition would wait
		// attempts × the stall timeout for one segment.
		if err == nil || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrForbiddenURI) || errors.Is(err, ErrSourceStalled) ||
			ctx.Err() != nil {
			return r, err
		}
		last = err
		if attempt < f.attempts {
			select {
			case <-ctx.Done():
				return readResult{}, ctx.Err()
			case <-time.After(backoff):
			}
			backoff *= 2
		}
	}
	return readResult{}, last
}

func (f *fetcher) once(ctx context.Context, u *url.URL, limit int64, ifNoneMatch string) (readResult, error) {
	if u.Scheme == "file" {
		file, err := f.open(u)
		if err != nil {
			return readResult{}, err
		}
		defer file.Close()
		var r readResult
		if st, err := file.Stat(); err == nil {
			r.v.size, r.v.mtime = st.Size(), st.ModTime()
		}
		data, err := io.ReadAll(io.LimitReader(file, limit+1))
		if err != nil {
			return readResult{}, fmt.Errorf("hlsimport: %w: read %s: %w", ErrFetch, redact(u), err)
		}
		r.data, err = checkLimit(u, data, limit)
		r.v.digest = sha256.Sum256(r.data)
		return r, err
	}
	// Cancelled when no byte arrives for f.stall: an idle timeout, not
	// a deadline, so a large segment may take as long as it keeps coming.
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watch := watchdog.New(f.stall, func() { cancel(ErrSourceStalled) })
	defer watch.Stop()
	resp, err := f.get(rctx, u, ifNoneMatch)
	if err != nil {
		return readResult{}, f.stalled(rctx, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		return readResult{unchanged: true, v: version{etag: ifNoneMatch}}, nil
	}
	data, err := io.ReadAll(io.LimitReader(progressReader{resp.Body, watch}, limit+1))
	if err != nil {
		return readResult{}, f.stalled(rctx, u, fmt.Errorf("hlsimport: %w: read %s: %w", ErrFetch, redact(u), err))
	}
	r := readResult{}
	if etag := resp.Header.Get("ETag"); etag != "" && !strings.HasPrefix(etag, "W/") {
		r.v.etag = etag // a weak ETag promises equivalence, not the same bytes
	}
	r.data, err = checkLimit(u, data, limit)
	r.v.digest = sha256.Sum256(r.data)
	return r, err
}

// changed re-reads u and reports whether its bytes differ from old. A local
// file whose size and modification time are unchanged is not re-read; an
// http(s) file with a strong ETag is asked for with If-None-Match.
func (f *fetcher) changed(ctx context.Context, u *url.URL, old version, limit int64) (bool, version, error) {
	if u.Scheme == "file" && old.local() {
		rel, err := filepath.Rel(f.root, filepath.Clean(u.Path))
		if err == nil && f.dir != nil {
			if st, err := f.dir.Stat(rel); err == nil && st.Size() == old.size && st.ModTime().Equal(old.mtime) {
				return false, old, nil
			}
		}
	}
	r, err := f.read(ctx, u, limit, old.etag)
	if err != nil || r.unchanged {
		return false, old, err
	}
	return r.v.digest != old.digest, r.v, nil
}

// stalled replaces err by a clear ErrSourceStalled when the watchdog cut
// the request.
func (f *fetcher) stalled(rctx context.Context, u *url.URL, err error) error {
	if errors.Is(context.Cause(rctx), ErrSourceStalled) {
		return fmt.Errorf("hlsimport: %w: %w: GET %s: no data for %s", ErrFetch, ErrSourceStalled, redact(u), f.stall)
	}
	return err
}

func checkLimit(u *url.URL, data []byte, limit int64) ([]byte, error) {
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("hlsimport: %s: %w (limit %d bytes)", redact(u), ErrTooLarge, limit)
	}
	return data, nil
}

// progressReader feeds its watchdog with every byte read.
type progressReader struct {
	io.ReadCloser
	w watchdog.Watchdog
}

func (r progressReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if n > 0 {
		r.w.Feed()
	}
	return n, err
}

// open opens a local file through the imported folder's os.Root, so that
// no symbolic link, of a file or of a folder on the way, leads outside it.
func (f *fetcher) open(u *url.URL) (*os.File, error) {
	if f.dir == nil {
		return nil, fmt.Errorf("hlsimport: %s: %w: local file in a remote import", redact(u), ErrForbiddenURI)
	}
	rel, err := filepath.Rel(f.root, filepath.Clean(u.Path))
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("hlsimport: %s: %w: outside %s", redact(u), ErrForbiddenURI, f.root)
	}
	return openIn(f.dir, f.root, rel)
}

// openIn opens rel below the folder r is opened on (named root in errors).
func openIn(r *os.Root, root, rel string) (*os.File, error) {
	file, err := r.Open(rel)
	if err != nil {
		if escapes(err) {
			return nil, fmt.Errorf("hlsimport: %s: %w: a symbolic link leads outside %s", rel, ErrForbiddenURI, root)
		}
		return nil, fmt.Errorf("hlsimport: %w: %w", ErrFetch, err)
	}
	return file, nil
}

// escapes reports os.Root's refusal of a path leading outside the root.
// Its error value is unexported; the text has been stable since Go 1.24.
// Misreading it would only turn the refusal into a retried ErrFetch: the
// file is not read either way.
func escapes(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Err != nil && pe.Err.Error() == "path escapes from parent"
}

// get requests an http(s) URL of an allowed origin; redirects are followed
// only to allowed origins (see origins.confine).
func (f *fetcher) get(ctx context.Context, u *url.URL, ifNoneMatch string) (*http.Response, error) {
	if err := f.origins.check(u); err != nil {
		return nil, fmt.Errorf("hlsimport: GET %s: %w", redact(u), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("hlsimport: %w: %w", ErrFetch, err)
	}
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	resp, err := f.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.Is(err, ErrForbiddenURI) && errors.As(err, &ue) {
			// The refusal without url.Error's redirect URL, which may carry a token.
			return nil, fmt.Errorf("hlsimport: GET %s: %w", redact(u), ue.Err)
		}
		return nil, fmt.Errorf("hlsimport: %w: %w", ErrFetch, err)
	}
	if resp.StatusCode != http.StatusOK && (ifNoneMatch == "" || resp.StatusCode != http.StatusNotModified) {
		resp.Body.Close()
		return nil, fmt.Errorf("hlsimport: %w: GET %s: %s", ErrFetch, redact(u), resp.Status)
	}
	return resp, nil
}

// redact drops query strings (often access tokens) from logged URLs.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery, c.User = "", nil
	return c.String()
}
