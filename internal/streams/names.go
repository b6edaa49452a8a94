package streams

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/catalog"
)

var _ archiver.Checker = intake{}

// Check is archiver.Checker: the decorator asks it before reserving a
// segment's fee, so a job whose manifest id or rendition names the archive
// cannot take is REFUSED (INVALID_NAME, not charged) before anything is
// recorded, instead of FAILED on the way through the index. Submit checks
// again, for callers that do not ask first.
func (in intake) Check(job archiver.Job) error {
	if err := checkManifestID(string(job.ManifestID)); err != nil {
		return fmt.Errorf("streams: %w", err)
	}
	if err := checkNames(job); err != nil {
		return fmt.Errorf("streams: %w", err)
	}
	return nil
}

// checkManifestID refuses a manifest id the archive would not show as it
// came. The id is a key (index, feed topic), never a path, so it is not
// held to hls.ValidName: go-livepeer takes any bytes, and ids with '+', ':'
// or '@' archive fine. Refused is what the index cannot key (empty, over
// catalog.MaxManifestIDLen) and what would read as a path or forge a line in
// a status reply or a log: '/', '\', "." and "..", invalid UTF-8, control
// characters (NUL, \n, DEL, C1). Refusing rather than mapping to a safe
// name keeps two distinct ids from sharing one archive.
func checkManifestID(id string) error {
	bad := func(why string) error {
		shown := id
		if len(shown) > 64 {
			shown = shown[:64] + "..."
		}
		return fmt.Errorf("%w: manifest id %q: %s", catalog.ErrInvalid, shown, why)
	}
	switch {
	case id == "":
		return bad("empty")
	case len(id) > catalog.MaxManifestIDLen:
		return bad(fmt.Sprintf("%d bytes, longer than %d", len(id), catalog.MaxManifestIDLen))
	case !utf8.ValidString(id):
		return bad("not UTF-8")
	case id == "." || id == "..":
		return bad("a path element")
	}
	for i, r := range id {
		switch {
		case r == '/' || r == '\\':
			return bad(fmt.Sprintf("path separator %q at byte %d", r, i))
		case unicode.IsControl(r):
			return bad(fmt.Sprintf("control character %U at byte %d", r, i))
		}
	}
	return nil
}
