package hls

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// MaxNameLen is the longest name ValidName accepts, in bytes.
const MaxNameLen = 64

// ValidName reports whether s is safe as one path element on any file
// system and in an archive manifest: 1 to MaxNameLen bytes of
// [A-Za-z0-9._-], not starting with '.' (which also rules out "." and ".."
// and hidden files) and without "..". The allowlist is what keeps out '/',
// '\', NUL, control characters and non-ASCII look-alikes. Errors wrap
// ErrBadName.
func ValidName(s string) error {
	switch {
	case s == "":
		return badName(s, "empty")
	case len(s) > MaxNameLen:
		return badName(s, fmt.Sprintf("longer than %d bytes", MaxNameLen))
	case s[0] == '.':
		return badName(s, "starts with '.'")
	case strings.Contains(s, ".."):
		return badName(s, `contains ".."`)
	}
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i]) {
			return badName(s, fmt.Sprintf("byte %d (0x%02x) is not one of A-Z a-z 0-9 . _ -", i, s[i]))
		}
	}
	return nil
}

func badName(s, why string) error {
	return fmt.Errorf("%w %q: %s", ErrBadName, clip(s), why)
}

func nameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// SafeName derives a valid name from arbitrary input such as a folder name
// taken from a URI: it percent-decodes if the input decodes, replaces each
// run of disallowed bytes with one '_', collapses ".." to ".", drops
// leading dots and underscores and truncates to MaxNameLen. It returns ""
// when nothing usable remains ("../..", "✓"); the caller picks a default.
// The result always passes ValidName or is "".
//
// Decoding first matters for inputs like "%2e%2e%2f", which must be judged
// by what a server would make of them.
func SafeName(s string) string {
	if dec, err := url.PathUnescape(s); err == nil {
		s = dec
	}
	b := make([]byte, 0, MaxNameLen+1)
	bad := false // a run of disallowed bytes precedes the next kept byte
	for i := 0; i < len(s) && len(b) < MaxNameLen; i++ {
		c := s[i]
		switch {
		case !nameByte(c):
			bad = true
			continue
		case len(b) == 0 && (c == '.' || c == '_'):
			continue // no hidden names, no leading separators
		case bad && len(b) > 0:
			b = append(b, '_')
		}
		bad = false
		if c == '.' && b[len(b)-1] == '.' {
			continue
		}
		b = append(b, c)
	}
	name := string(b[:min(len(b), MaxNameLen)])
	if ValidName(name) != nil {
		return "" // unreachable by construction; kept as the guarantee
	}
	return name
}

// SegmentExt returns the extension of a segment or init section URI: the
// last path element's extension, ignoring query and fragment, lowercased.
// Only extensions in an allowlist of HLS media formats are returned
// (.ts .m4s .mp4 .aac .m4a .mp3 .ac3 .ec3 .vtt .webvtt .cmfv .cmfa);
// anything else, including no extension ("/seg?n=3", "chunk.php"), yields
// ".ts", because MPEG-TS is the HLS default and servers that hide the
// extension nearly always serve TS. Segment.Ext and Map.Ext refine the
// fallback when the playlist says more.
func SegmentExt(uri string) string {
	if ext, ok := knownExt(uri); ok {
		return ext
	}
	return ".ts"
}

// Ext is SegmentExt(s.URI) with a better fallback: a segment under an
// EXT-X-MAP is fragmented MP4, so an unknown extension becomes ".m4s".
func (s Segment) Ext() string {
	if ext, ok := knownExt(s.URI); ok {
		return ext
	}
	if s.Map != nil {
		return ".m4s"
	}
	return ".ts"
}

// Ext is the extension for an init section: SegmentExt(m.URI), but ".mp4"
// when the URI has no known extension, since init sections are MP4.
func (m Map) Ext() string {
	if ext, ok := knownExt(m.URI); ok {
		return ext
	}
	return ".mp4"
}

func knownExt(uri string) (string, bool) {
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	ext := strings.ToLower(path.Ext(uri))
	switch ext {
	case ".ts", ".m4s", ".mp4", ".aac", ".m4a", ".mp3", ".ac3", ".ec3",
		".vtt", ".webvtt", ".cmfv", ".cmfa":
		return ext, true
	}
	return "", false
}
