package hls

import (
	"errors"
	"fmt"
)

// Sentinel errors. Returned errors wrap one of these (test with errors.Is)
// and add the line number and the offending text.
var (
	// ErrMalformed means the input is not a well-formed RFC 8216 playlist.
	ErrMalformed = errors.New("hls: malformed playlist")
	// ErrEncrypted means the playlist uses encryption (EXT-X-KEY or
	// EXT-X-SESSION-KEY with a METHOD other than NONE).
	ErrEncrypted = errors.New("hls: encrypted playlist cannot be archived")
	// ErrByteRange means segments or init sections are byte ranges of a
	// larger resource (EXT-X-BYTERANGE, EXT-X-MAP BYTERANGE).
	ErrByteRange = errors.New("hls: byte-range playlist cannot be archived")
	// ErrNotMaster is returned by ParseMaster for a media playlist.
	ErrNotMaster = errors.New("hls: not a master playlist")
	// ErrNotMedia is returned by ParseMedia for a master playlist.
	ErrNotMedia = errors.New("hls: not a media playlist")
	// ErrTooLarge means the input is longer than MaxSize.
	ErrTooLarge = errors.New("hls: playlist too large")
	// ErrInvalid is returned by Encode for a struct that cannot be written
	// as a valid playlist.
	ErrInvalid = errors.New("hls: playlist cannot be encoded")
	// ErrBadName is returned by ValidName.
	ErrBadName = errors.New("hls: invalid name")
)

// clipLen bounds how much untrusted text an error message quotes, so a
// hostile playlist cannot flood the logs.
const clipLen = 48

func clip(s string) string {
	if len(s) <= clipLen {
		return s
	}
	return s[:clipLen] + "..."
}

// invalidf wraps ErrInvalid for Encode.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
