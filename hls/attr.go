package hls

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// attrValue is one attribute value. RFC 8216 §4.2 types values by their
// syntax, so whether the text was quoted is part of the value:
// CODECS=avc1 is as malformed as BANDWIDTH="1".
type attrValue struct {
	text   string
	quoted bool
}

type attrList map[string]attrValue

// parseAttrList parses an RFC 8216 §4.2 attribute list: NAME=VALUE pairs
// separated by commas, without whitespace, where a quoted string may
// contain commas and '='.
func parseAttrList(s string) (attrList, error) {
	attrs := attrList{}
	for {
		if s == "" {
			return nil, errors.New("empty attribute")
		}
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("attribute %q has no '='", clip(s))
		}
		if !validAttrName(name) {
			return nil, fmt.Errorf("attribute name %q is not [A-Z0-9-]+", clip(name))
		}
		if _, dup := attrs[name]; dup {
			return nil, fmt.Errorf("attribute %s appears twice", name)
		}
		v, rest, err := cutAttrValue(rest)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		attrs[name] = v
		if rest == "" {
			return attrs, nil
		}
		if rest[0] != ',' {
			return nil, fmt.Errorf("attribute %s: expected ',' after the value", name)
		}
		s = rest[1:]
	}
}

// cutAttrValue splits one value off the front of s.
func cutAttrValue(s string) (attrValue, string, error) {
	if strings.HasPrefix(s, `"`) {
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return attrValue{}, "", errors.New("unterminated quoted string")
		}
		return attrValue{text: s[1 : 1+end], quoted: true}, s[2+end:], nil
	}
	end := strings.IndexByte(s, ',')
	if end < 0 {
		end = len(s)
	}
	v := s[:end]
	if err := checkEnum(v); err != nil {
		return attrValue{}, "", err
	}
	return attrValue{text: v}, s[end:], nil
}

func validAttrName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// attrReader extracts typed attributes. The first failure sticks (like
// bufio.Scanner) so that decoding a tag reads as a list of fields rather
// than a ladder of error checks.
type attrReader struct {
	attrs attrList
	err   error
}

func (r *attrReader) failf(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *attrReader) has(name string) bool {
	_, ok := r.attrs[name]
	return ok
}

func (r *attrReader) require(names ...string) {
	for _, n := range names {
		if !r.has(n) {
			r.failf("missing required attribute %s", n)
		}
	}
}

// str returns a quoted-string attribute, "" when absent.
func (r *attrReader) str(name string) string {
	v := r.attrs[name]
	if r.has(name) && !v.quoted {
		r.failf("%s must be a quoted string", name)
		return ""
	}
	return v.text
}

// enum returns an unquoted attribute (enumerated string, number,
// resolution), "" when absent.
func (r *attrReader) enum(name string) string {
	v := r.attrs[name]
	if v.quoted {
		r.failf("%s must not be quoted", name)
		return ""
	}
	return v.text
}

func (r *attrReader) integer(name string, bits int) uint64 {
	s := r.enum(name)
	if s == "" {
		return 0
	}
	n, err := parseDecimalInt(s, bits)
	if err != nil {
		r.failf("%s: %v", name, err)
	}
	return n
}

func (r *attrReader) yesNo(name string) bool {
	switch s := r.enum(name); s {
	case "", "NO":
		return false
	case "YES":
		return true
	default:
		r.failf("%s must be YES or NO, not %q", name, clip(s))
		return false
	}
}

// uri returns a quoted URI attribute; unlike str, present means non-empty,
// because "" stands for absent in the structs.
func (r *attrReader) uri(name string) string {
	s := r.str(name)
	if r.has(name) {
		if err := checkURI(s); err != nil {
			r.failf("%s: %v", name, err)
		}
	}
	return s
}

// parseDecimalInt parses an RFC 8216 decimal-integer. strconv.ParseUint
// with base 10 already rejects signs, spaces and underscores; bits bounds
// the value to what the destination field holds on every platform.
func parseDecimalInt(s string, bits int) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is out of range", clip(s))
		}
		return 0, fmt.Errorf("%q is not a decimal integer", clip(s))
	}
	return n, nil
}

// maxDuration bounds segment durations. No real segment lasts 30 years;
// the bound keeps rounding to an int exact on 32-bit platforms too.
const maxDuration = 1e9

func parseDuration(s string) (float64, error) {
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("duration %q is negative", clip(s))
	}
	if !isDecimal(s) {
		return 0, fmt.Errorf("duration %q is not a decimal number", clip(s))
	}
	d, err := strconv.ParseFloat(s, 64)
	if err != nil || d >= maxDuration {
		return 0, fmt.Errorf("duration %q is out of range", clip(s))
	}
	return d, nil
}

// isDecimal reports whether s is an RFC 8216 decimal-floating-point:
// digits with at most one '.'. strconv.ParseFloat alone would accept
// "1e3", "Inf" and "0x1p-2".
func isDecimal(s string) bool {
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// isResolution reports whether s is a decimal-resolution, "1280x720".
func isResolution(s string) bool {
	w, h, ok := strings.Cut(s, "x")
	return ok && isDigits(w) && isDigits(h)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// checkText enforces RFC 8216 §4.1 on any text: UTF-8 without control
// characters (C0, DEL, C1). On the writing side this is what stops a
// hostile name from injecting a line break and with it a tag.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("text is not valid UTF-8")
	}
	for _, c := range s {
		if c < 0x20 || (c >= 0x7f && c <= 0x9f) {
			return fmt.Errorf("control character %U", c)
		}
	}
	return nil
}

// checkQuoted validates the content of a quoted-string.
func checkQuoted(s string) error {
	if strings.ContainsRune(s, '"') {
		return fmt.Errorf("%q contains a double quote", clip(s))
	}
	return checkText(s)
}

// checkEnum validates an unquoted attribute value.
func checkEnum(s string) error {
	if s == "" {
		return errors.New("empty value")
	}
	if strings.ContainsAny(s, `", `) {
		return fmt.Errorf("unquoted value %q contains a quote, comma or space", clip(s))
	}
	return checkText(s)
}

// checkURI validates a URI as the parser would produce it, so that
// whatever Encode writes parses back to the same string.
func checkURI(s string) error {
	switch {
	case s == "":
		return errors.New("empty URI")
	case s[0] == '#':
		return fmt.Errorf("URI %q starts with '#'", clip(s))
	case strings.Trim(s, " ") != s:
		return fmt.Errorf("URI %q has surrounding spaces", clip(s))
	}
	return checkText(s)
}

// attrBuilder writes an attribute list of already validated values.
type attrBuilder struct {
	b *strings.Builder
	n int
}

func (a *attrBuilder) add(name, value string, quoted bool) {
	if a.n > 0 {
		a.b.WriteByte(',')
	}
	a.n++
	a.b.WriteString(name)
	a.b.WriteByte('=')
	if quoted {
		a.b.WriteByte('"')
		a.b.WriteString(value)
		a.b.WriteByte('"')
		return
	}
	a.b.WriteString(value)
}

// quoted writes NAME="value" unless value is "" (absent).
func (a *attrBuilder) quoted(name, value string) {
	if value != "" {
		a.add(name, value, true)
	}
}

// enum writes NAME=value unless value is "" (absent).
func (a *attrBuilder) enum(name, value string) {
	if value != "" {
		a.add(name, value, false)
	}
}

// yes writes NAME=YES when set; NO is the default of every YES/NO
// attribute, so it is never written.
func (a *attrBuilder) yes(name string, set bool) {
	if set {
		a.add(name, "YES", false)
	}
}
