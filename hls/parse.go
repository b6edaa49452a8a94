package hls

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxSize bounds how many bytes Parse reads. A day of 2-second segments
// with PROGRAM-DATE-TIME is about 5 MiB; the bound stops a misbehaving
// server from exhausting memory.
const MaxSize = 32 << 20

// maxLine bounds one line. No legitimate tag or URI comes close.
const maxLine = 64 << 10

const bom = "\ufeff"

type kind int

const (
	kindUnknown kind = iota
	kindMaster
	kindMedia
)

// tag is one "#EXT..." line split at the first colon.
type tag struct {
	name     string // without '#': "EXTINF"
	value    string
	hasValue bool
}

// parser holds the state of one Parse call. The kind of playlist is
// decided by the first master-only or media-only tag; a tag of the other
// kind afterwards is an error, as RFC 8216 §4.3 requires.
type parser struct {
	want, kind  kind
	n           int             // current line, 1-based
	seen        map[string]bool // tags allowed once
	version     int
	independent bool

	media   Media
	seg     Segment // tags collected for the segment whose URI comes next
	infLine int     // line of the EXTINF awaiting its URI, 0 if none
	curMap  *Map    // EXT-X-MAP in effect

	master      Master
	variant     Variant
	variantLine int // line of the EXT-X-STREAM-INF awaiting its URI
}

// Parse reads a master or media playlist and returns *Master or *Media.
// Errors wrap ErrMalformed, ErrEncrypted, ErrByteRange or ErrTooLarge.
func Parse(r io.Reader) (Playlist, error) {
	return parse(r, kindUnknown)
}

// ParseMaster reads a master playlist; a media playlist yields ErrNotMaster.
func ParseMaster(r io.Reader) (*Master, error) {
	pl, err := parse(r, kindMaster)
	if err != nil {
		return nil, err
	}
	return pl.(*Master), nil
}

// ParseMedia reads a media playlist; a master playlist yields ErrNotMedia.
func ParseMedia(r io.Reader) (*Media, error) {
	pl, err := parse(r, kindMedia)
	if err != nil {
		return nil, err
	}
	return pl.(*Media), nil
}

func parse(r io.Reader, want kind) (Playlist, error) {
	lr := &io.LimitedReader{R: r, N: MaxSize + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	p := &parser{want: want, seen: map[string]bool{}}
	for sc.Scan() {
		if err := p.line(sc.Text()); err != nil {
			if lr.N <= 0 {
				break // the size limit cut this line; report the size
			}
			return nil, err
		}
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxSize)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, p.errAt(p.n+1, "line longer than %d bytes", maxLine)
		}
		return nil, fmt.Errorf("hls: read playlist: %w", err)
	}
	return p.finish()
}

func (p *parser) errorf(format string, args ...any) error {
	return p.errAt(p.n, format, args...)
}

// errAt wraps ErrMalformed; line 0 means the error concerns the whole
// playlist.
func (p *parser) errAt(line int, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if line == 0 {
		return fmt.Errorf("%w: %s", ErrMalformed, msg)
	}
	return fmt.Errorf("%w: line %d: %s", ErrMalformed, line, msg)
}

// refuse reports a well-formed feature the archiver cannot handle.
func (p *parser) refuse(sentinel error, detail string) error {
	return fmt.Errorf("%w: line %d: %s", sentinel, p.n, detail)
}

func (p *parser) line(s string) error {
	p.n++
	if p.n == 1 {
		s = strings.TrimPrefix(s, bom)
	}
	// bufio.ScanLines already dropped the CR of a CRLF.
	s = strings.Trim(s, " ")
	if err := checkText(s); err != nil {
		return p.errorf("%v", err)
	}
	switch {
	case p.n == 1:
		if s != "#EXTM3U" {
			return p.errorf("first line must be #EXTM3U, not %q", clip(s))
		}
		return nil
	case s == "":
		return nil
	case strings.HasPrefix(s, "#EXT"):
		name, value, ok := strings.Cut(s[1:], ":")
		return p.tag(tag{name: name, value: value, hasValue: ok})
	case s[0] == '#':
		return nil // comment
	}
	return p.uri(s)
}

func (p *parser) tag(t tag) error {
	h, k := handler(t.name)
	if h == nil {
		return nil // unknown: newer HLS features must not stop archiving
	}
	if p.variantLine != 0 {
		return p.errAt(p.variantLine, "EXT-X-STREAM-INF is not followed by a URI line")
	}
	if err := p.setKind(k, t.name); err != nil {
		return err
	}
	return h(p, t)
}

// handler returns the handler of a known tag and the playlist kind the
// tag implies, or nil for an unknown tag.
func handler(name string) (func(*parser, tag) error, kind) {
	if h := commonHandler(name); h != nil {
		return h, kindUnknown
	}
	if h := mediaHandler(name); h != nil {
		return h, kindMedia
	}
	return masterHandler(name), kindMaster
}

func commonHandler(name string) func(*parser, tag) error {
	switch name {
	case "EXTM3U":
		return (*parser).extm3u
	case "EXT-X-VERSION":
		return (*parser).xversion
	case "EXT-X-INDEPENDENT-SEGMENTS":
		return (*parser).independentSegments
	}
	return nil
}

func (p *parser) setKind(k kind, name string) error {
	switch {
	case k == kindUnknown || k == p.kind:
		return nil
	case p.kind != kindUnknown:
		return p.errorf("%s mixes master and media playlist tags", name)
	case p.want == kindMaster && k == kindMedia:
		return fmt.Errorf("%w: line %d: %s belongs to a media playlist", ErrNotMaster, p.n, name)
	case p.want == kindMedia && k == kindMaster:
		return fmt.Errorf("%w: line %d: %s belongs to a master playlist", ErrNotMedia, p.n, name)
	}
	p.kind = k
	return nil
}

func (p *parser) uri(s string) error {
	switch {
	case p.infLine != 0:
		return p.segmentURI(s)
	case p.variantLine != 0:
		return p.variantURI(s)
	}
	return p.errorf("URI line %q has no EXTINF or EXT-X-STREAM-INF before it", clip(s))
}

func (p *parser) finish() (Playlist, error) {
	switch {
	case p.n == 0:
		return nil, p.errAt(0, "empty input, expected #EXTM3U")
	case p.kind == kindMaster:
		return p.finishMaster()
	case p.kind == kindMedia:
		return p.finishMedia()
	}
	return nil, p.errAt(0, "no EXT-X-STREAM-INF, EXTINF or EXT-X-TARGETDURATION: neither a master nor a media playlist")
}

// once rejects a repeated tag that RFC 8216 allows once per playlist.
func (p *parser) once(t tag) error {
	if p.seen[t.name] {
		return p.errorf("%s appears more than once", t.name)
	}
	p.seen[t.name] = true
	return nil
}

func (p *parser) flag(t tag) error {
	if t.hasValue {
		return p.errorf("%s takes no value", t.name)
	}
	return nil
}

// integerTag parses a once-only tag whose value is a decimal-integer.
func (p *parser) integerTag(t tag, bits int) (uint64, error) {
	if err := p.once(t); err != nil {
		return 0, err
	}
	n, err := parseDecimalInt(t.value, bits)
	if err != nil {
		return 0, p.errorf("%s: %v", t.name, err)
	}
	return n, nil
}

func (p *parser) attrs(t tag) (*attrReader, error) {
	a, err := parseAttrList(t.value)
	if err != nil {
		return nil, p.errorf("%s: %v", t.name, err)
	}
	return &attrReader{attrs: a}, nil
}

func (p *parser) extm3u(tag) error {
	return p.errorf("#EXTM3U may only be the first line")
}

func (p *parser) xversion(t tag) error {
	v, err := p.integerTag(t, 31)
	if err != nil {
		return err
	}
	if v < 1 {
		return p.errorf("EXT-X-VERSION must be at least 1")
	}
	p.version = int(v)
	return nil
}

func (p *parser) independentSegments(t tag) error {
	p.independent = true
	return p.flag(t)
}
