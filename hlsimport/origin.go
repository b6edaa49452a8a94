package hlsimport

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// ErrBadOrigin: an allowed origin is not of the form scheme://host[:port].
var ErrBadOrigin = errors.New("bad origin")

// maxRedirects is net/http's own default, kept when the policy is replaced.
const maxRedirects = 10

// origin is the canonical scheme://host:port of an http(s) URL, with the
// default port spelled out so that https://cdn.example and
// https://cdn.example:443 are one origin.
func origin(u *url.URL) (string, error) {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	switch {
	case scheme != "http" && scheme != "https":
		return "", fmt.Errorf("%w: scheme %q", ErrBadOrigin, u.Scheme)
	case u.Hostname() == "":
		return "", fmt.Errorf("%w: no host", ErrBadOrigin)
	case port == "" && scheme == "http":
		port = "80"
	case port == "":
		port = "443"
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port), nil
}

// ParseOrigins parses a comma-separated list of origins such as
// "https://cdn.example:443,http://10.0.0.5:8080" into their canonical form.
// Paths, queries and credentials are refused: an origin is scheme, host
// and port only.
func ParseOrigins(list string) ([]string, error) {
	var out []string
	for s := range strings.SplitSeq(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrBadOrigin, s, err)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" {
			return nil, fmt.Errorf("%w: %q: only scheme://host[:port]", ErrBadOrigin, s)
		}
		o, err := origin(u)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// origins is the set of http(s) origins an import may read. An attacker's
// playlist or redirect could otherwise make the importer fetch, and
// publish, anything it can reach: other hosts, loopback, private ranges.
type origins map[string]bool

// newOrigins allows the input's own origin (nil for a local import, which
// then reads only the listed ones) and every listed origin.
func newOrigins(input *url.URL, allow []string) (origins, error) {
	set := make(origins)
	if input != nil {
		o, err := origin(input)
		if err != nil {
			return nil, fmt.Errorf("hlsimport: %s: %w", redact(input), err)
		}
		set[o] = true
	}
	parsed, err := ParseOrigins(strings.Join(allow, ","))
	if err != nil {
		return nil, fmt.Errorf("hlsimport: allowed origins: %w", err)
	}
	for _, o := range parsed {
		set[o] = true
	}
	return set, nil
}

// check refuses an http(s) URL whose origin is not allowed; the error names
// the origin so that the operator can allow it, callers name the URL.
func (s origins) check(u *url.URL) error {
	o, err := origin(u)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrForbiddenURI, err)
	}
	if !s[o] {
		return fmt.Errorf("%w: origin %s is neither the input's nor listed in -allowOrigins", ErrForbiddenURI, o)
	}
	return nil
}

// confine returns a copy of c that follows redirects only to allowed
// origins; c itself (possibly the caller's) is left as it was.
func (s origins) confine(c *http.Client) *http.Client {
	cc := *c
	next := c.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := s.check(req.URL); err != nil {
			return fmt.Errorf("redirect to %s: %w", redact(req.URL), err)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &cc
}
