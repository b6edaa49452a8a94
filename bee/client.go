package bee

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lpswarm/archiver/internal/watchdog"
)

// Header names of Bee's API used by this package.
const (
	HeaderBatchID    = "Swarm-Postage-Batch-Id"
	HeaderStamp      = "Swarm-Postage-Stamp"
	HeaderTag        = "Swarm-Tag"
	HeaderDeferred   = "Swarm-Deferred-Upload"
	HeaderRedundancy = "Swarm-Redundancy-Level"
	HeaderPin        = "Swarm-Pin"
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrNotFound: Bee answered 404 (unknown reference, tag or batch).
	ErrNotFound = errors.New("not found")
	// ErrBatchUnusable: the batch does not exist or is not usable yet.
	ErrBatchUnusable = errors.New("postage batch not usable")
	// ErrOverissued: the batch has no room left for the chunk (HTTP 402).
	ErrOverissued = errors.New("postage batch is overissued")
	// ErrUnreachable: no HTTP answer from Bee after all retries.
	ErrUnreachable = errors.New("bee unreachable")
)

// APIError is a non-2xx answer from Bee.
type APIError struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("bee: %s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
}

// Is maps HTTP statuses onto the package's sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrOverissued:
		return e.Status == http.StatusPaymentRequired
	case ErrBatchUnusable:
		return e.Status == http.StatusUnprocessableEntity ||
			(e.Status == http.StatusNotFound && strings.Contains(e.Message, "batch"))
	}
	return false
}

// Temporary reports whether retrying the same request may succeed.
func (e *APIError) Temporary() bool {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Retry is the backoff policy for transient failures.
type Retry struct {
	Attempts int           // total attempts, ≥ 1
	Initial  time.Duration // first backoff
	Max      time.Duration // backoff cap
}

// DefaultRetry rides out a Bee restart of a few seconds: 6 attempts,
// backoff from 250 ms doubling to 4 s.
func DefaultRetry() Retry {
	return Retry{Attempts: 6, Initial: 250 * time.Millisecond, Max: 4 * time.Second}
}

// Client talks to one Bee node. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	http  *http.Client
	retry Retry
	stall time.Duration // WithStallTimeout
}

// DefaultStallTimeout is how long a request may make no progress (no body
// byte sent or received, no answer) before it ends with ErrNotAnswering.
const DefaultStallTimeout = 60 * time.Second

// ErrNotAnswering: Bee accepted a request and then made no progress for
// the stall timeout. Not retried: a hung node would hold every attempt.
var ErrNotAnswering = errors.New("Bee is not answering")

// WithStallTimeout sets how long a request may make no progress before it
// fails with ErrNotAnswering; it is no total deadline, so a large upload
// takes as long as it keeps moving. 0 disables it.
func WithStallTimeout(d time.Duration) Option { return func(c *Client) { c.stall = d } }

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the default HTTP client.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithRetry replaces DefaultRetry.
func WithRetry(r Retry) Option { return func(c *Client) { c.retry = r } }

// New returns a client for the Bee API at baseURL (e.g. http://127.0.0.1:1633).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bee: invalid API URL %q: want http(s)://host:port", baseURL)
	}
	c := &Client{base: u, http: &http.Client{Timeout: 5 * time.Minute}, retry: DefaultRetry(), stall: DefaultStallTimeout}
	for _, o := range opts {
		o(c)
	}
	if c.retry.Attempts < 1 {
		c.retry.Attempts = 1
	}
	return c, nil
}

// URL returns the absolute URL of an API path, e.g. "/bzz/<ref>/index.m3u8".
func (c *Client) URL(path string) string {
	return c.base.String() + path
}

// request describes one API call; body is re-sent on every attempt.
type request struct {
	method, path string
	header       http.Header
	body         []byte
}

// do performs req with retries and returns the successful response, whose
// body the caller must close.
func (c *Client) do(ctx context.Context, req request) (*http.Response, error) {
	resp, _, err := c.doCounting(ctx, req)
	return resp, err
}

// doCounting is do that also tells how many failed attempts may have
// reached Bee: every one but those whose connection was never made.
func (c *Client) doCounting(ctx context.Context, req request) (*http.Response, int, error) {
	var resp *http.Response
	failed, err := c.attempts(ctx, func() (err error) {
		resp, err = c.once(ctx, req)
		return err
	})
	if err != nil {
		return nil, failed, err
	}
	return resp, failed, nil
}

// attempts runs try until it succeeds, fails for good (not transient) or
// the retry policy runs out, backing off between attempts, and counts the
// failed attempts that may have reached Bee.
func (c *Client) attempts(ctx context.Context, try func() error) (failed int, err error) {
	backoff := c.retry.Initial
	for attempt := 1; ; attempt++ {
		err = try()
		if err == nil {
			return failed, nil
		}
		if !neverSent(err) {
			failed++
		}
		if attempt >= c.retry.Attempts || !transient(err) || ctx.Err() != nil {
			return failed, err
		}
		select {
		case <-ctx.Done():
			return failed, fmt.Errorf("%w (after %d attempts: %w)", ctx.Err(), attempt, err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, c.retry.Max)
	}
}

// neverSent reports whether a failed attempt certainly never reached Bee:
// the connection could not be made.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func (c *Client) once(ctx context.Context, req request) (_ *http.Response, err error) {
	// The request is cancelled when nothing moves for c.stall: no body byte
	// taken by the connection, no answer, no answer byte read.
	actx, cancel := context.WithCancelCause(ctx)
	watch := watchdog.New(c.stall, func() { cancel(ErrNotAnswering) })
	defer func() {
		if err != nil {
			watch.Stop()
			if errors.Is(context.Cause(actx), ErrNotAnswering) && ctx.Err() == nil {
				err = fmt.Errorf("bee: %s %s: %w: no progress for %s", req.method, req.path, ErrNotAnswering, c.stall)
			}
			cancel(nil)
		}
	}()
	var body io.Reader
	if req.body != nil {
		body = progressReader{bytes.NewReader(req.body), watch}
	}
	hr, err := http.NewRequestWithContext(actx, req.method, c.URL(req.path), body)
	if err != nil {
		return nil, fmt.Errorf("bee: %s %s: %w", req.method, req.path, err)
	}
	for k, v := range req.header {
		hr.Header[k] = v
	}
	if req.body != nil {
		hr.ContentLength = int64(len(req.body))
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("bee: %s %s: %w", req.method, req.path, ctx.Err())
		}
		return nil, fmt.Errorf("bee: %s %s: %w: %w", req.method, req.path, ErrUnreachable, err)
	}
	if resp.StatusCode/100 == 2 {
		resp.Body = &watchedBody{ReadCloser: resp.Body, watch: watch, done: func() { cancel(nil) }, cause: actx,
			stall: c.stall, what: req.method + " " + req.path}
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, &APIError{Method: req.method, Path: req.path, Status: resp.StatusCode, Message: readMessage(resp.Body)}
}

// progressReader feeds its watchdog with every byte read.
type progressReader struct {
	r io.Reader
	w watchdog.Watchdog
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.w.Feed()
	}
	return n, err
}

// watchedBody is an answer whose reads feed the request's watchdog; Close
// releases the request.
type watchedBody struct {
	io.ReadCloser
	watch watchdog.Watchdog
	done  func()
	cause context.Context
	stall time.Duration
	what  string
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.watch.Feed()
	}
	if err != nil && err != io.EOF && errors.Is(context.Cause(b.cause), ErrNotAnswering) {
		err = fmt.Errorf("bee: %s: %w: no progress for %s", b.what, ErrNotAnswering, b.stall)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	b.watch.Stop()
	err := b.ReadCloser.Close()
	b.done()
	return err
}

// transient reports whether err is worth retrying.
func transient(err error) bool {
	if errors.Is(err, ErrNotAnswering) {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Temporary()
	}
	var netErr net.Error
	return errors.Is(err, ErrUnreachable) || errors.Is(err, errBodyCut) || errors.As(err, &netErr)
}

// readMessage extracts Bee's {"message": "..."} body, or the raw text.
func readMessage(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 4096))
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &m) == nil && m.Message != "" {
		return m.Message
	}
	return strings.TrimSpace(string(b))
}

// getJSON GETs path and decodes the JSON answer into v.
func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	return c.sendJSON(ctx, request{method: http.MethodGet, path: path}, v)
}

// sendJSON performs req and decodes the JSON answer into v.
func (c *Client) sendJSON(ctx context.Context, req request, v any) error {
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := decode(resp, v); err != nil {
		return fmt.Errorf("bee: %s %s: %w", req.method, req.path, err)
	}
	return nil
}

// decode reads a bounded JSON answer into v.
func decode(resp *http.Response, v any) error {
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// Health is Bee's /health answer.
type Health struct {
	Status     string `json:"status"`
	Version    string `json:"version"`
	APIVersion string `json:"apiVersion"`
}

// Health asks the node whether it is up.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	err := c.getJSON(ctx, "/health", &h)
	return h, err
}
